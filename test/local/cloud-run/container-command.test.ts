import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {containerArgv, secretEnv, secretId, secretProblem} from '../../../local/cloud-run/container-command';

describe('containerArgv', () => {
  const buildpacks = {entrypoint: ['node', 'server.js']};
  const docker = {entrypoint: ['docker-entrypoint.sh'], cmd: ['node', 'index.js']};
  const cmdOnly = {entrypoint: [], cmd: ['node', 'index.js']};
  const table = [
    {name: 'neither set: ENTRYPOINT + CMD', image: docker, container: {}, want: ['docker-entrypoint.sh', 'node', 'index.js']},
    {name: 'neither set, an image with CMD only', image: cmdOnly, container: {}, want: ['node', 'index.js']},
    {name: 'neither set, a buildpacks image', image: buildpacks, container: {}, want: ['node', 'server.js']},
    {
      name: 'empty lists count as unset (proto3)',
      image: docker,
      container: {command: [], args: []},
      want: ['docker-entrypoint.sh', 'node', 'index.js'],
    },
    {
      name: 'args replace CMD',
      image: docker,
      container: {args: ['node', 'worker.js']},
      want: ['docker-entrypoint.sh', 'node', 'worker.js'],
    },
    {
      name: 'args follow a buildpacks command',
      image: buildpacks,
      container: {args: ['--verbose']},
      want: ['node', 'server.js', '--verbose'],
    },
    {
      name: 'command replaces ENTRYPOINT and drops CMD',
      image: docker,
      container: {command: ['node', 'other.js']},
      want: ['node', 'other.js'],
    },
    {name: 'command and args', image: docker, container: {command: ['node'], args: ['a.js', 'x y']}, want: ['node', 'a.js', 'x y']},
    {name: 'nothing at all', image: {entrypoint: []}, container: {}, want: []},
  ];
  for (const t of table) it(t.name, () => assert.deepEqual(containerArgv(t.image, t.container), t.want));
});

describe('secretEnv', () => {
  it('lists the variables from secrets, version latest when unnamed, and leaves literal values out', () => {
    const env = [
      {name: 'PLAIN', value: 'x'},
      {name: 'TOKEN', valueSource: {secretKeyRef: {secret: 'projects/p/secrets/token', version: '3'}}},
      {name: 'KEY', valueSource: {secretKeyRef: {secret: 'key'}}},
      {name: 'BROKEN', valueSource: {}},
    ];
    assert.deepEqual(secretEnv({env}), [
      {name: 'TOKEN', secret: 'projects/p/secrets/token', version: '3'},
      {name: 'KEY', secret: 'key', version: 'latest'},
      {name: 'BROKEN', secret: '', version: 'latest'},
    ]);
    assert.deepEqual(secretEnv({}), []);
  });
});

describe('secretId', () => {
  const table = [
    {secret: 'db-pass', want: 'db-pass'},
    {secret: 'projects/p/secrets/db_pass', want: 'db_pass'},
    {secret: '', want: undefined},
    {secret: '../etc/passwd', want: undefined},
    {secret: 'projects/p/secrets/a/versions/1', want: undefined},
    {secret: 'a.b', want: undefined},
  ];
  for (const t of table) it(`${JSON.stringify(t.secret)} → ${String(t.want)}`, () => assert.equal(secretId(t.secret), t.want));
});

describe('secretProblem', () => {
  const ref = {name: 'TOKEN', secret: 'token', version: 'latest'};
  it('names the variable, the secret and the file to write', () => {
    const msg = secretProblem('svc-00002-abc', ref, '/state/secrets/token');
    assert.match(msg, /^Revision 'svc-00002-abc' is not ready and cannot serve traffic\. Environment variable TOKEN/);
    assert.match(msg, /secret 'token' \(version latest\).*Put its value in \/state\/secrets\/token/);
  });
  it('says when there is no secrets folder, or the name is not a secret', () => {
    assert.match(secretProblem('r', ref, undefined), /has no secrets folder/);
    assert.match(secretProblem('r', {...ref, secret: '../x'}, undefined), /not a valid secret name/);
  });
});
