import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {drop, parseDropArgs} from '../../local/drop';

describe('parseDropArgs', () => {
  const cases: Array<{name: string; argv: string[]; want?: object; error?: RegExp}> = [
    {name: 'a folder', argv: ['examples/hello-app'], want: {path: 'examples/hello-app'}},
    {
      name: 'all options',
      argv: ['fn', '--service', 'greeter', '--function', 'helloHttp', '--signature-type', 'http'],
      want: {path: 'fn', service: 'greeter', functionTarget: 'helloHttp', signatureType: 'http'},
    },
    {name: 'a rollout override', argv: ['x', '--rollout', 'canary'], want: {path: 'x', rollout: 'canary'}},
    {name: 'nothing to drop', argv: [], error: /usage: npm run drop/},
    {name: 'option without value', argv: ['x', '--service'], error: /--service needs a value/},
    {name: 'unknown option', argv: ['x', '--force'], error: /unknown option --force/},
    {name: 'two paths', argv: ['a', 'b'], error: /only one folder or archive/},
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) assert.throws(() => parseDropArgs(c.argv), c.error);
      else assert.deepEqual(parseDropArgs(c.argv), c.want);
    });
  }
});

describe('drop', () => {
  const bucket = () => mkdtempSync(join(tmpdir(), 'dd-dropb-'));
  const folder = () => {
    const d = mkdtempSync(join(tmpdir(), 'dd-dropf-'));
    writeFileSync(join(d, 'package.json'), '{"name":"x"}');
    return d;
  };
  it('packs a folder as <service>/<timestamp>.tar.gz with metadata in the sidecar', () => {
    const b = bucket();
    const object = drop(b, {path: folder(), service: 'greeter', functionTarget: 'helloHttp'}, new Date('2026-11-28T09:10:11Z'));
    assert.equal(object, 'greeter/20261128T091011.tar.gz');
    assert.deepEqual(readdirSync(join(b, 'greeter')).sort(), ['.20261128T091011.tar.gz.metadata.json', '20261128T091011.tar.gz']);
    assert.deepEqual(JSON.parse(readFileSync(join(b, 'greeter', '.20261128T091011.tar.gz.metadata.json'), 'utf8')), {
      'function-target': 'helloHttp',
    });
    assert.equal(
      readFileSync(join(b, 'greeter', '20261128T091011.tar.gz'))
        .subarray(0, 2)
        .toString('hex'),
      '1f8b',
      'gzip',
    );
  });
  it('names the service after the folder unless told, and never fixes a bad name up', () => {
    const parent = folder();
    for (const name of ['good-app', 'My_App']) {
      mkdirSync(join(parent, name));
      writeFileSync(join(parent, name, 'package.json'), '{}');
    }
    assert.match(drop(bucket(), {path: join(parent, 'good-app')}), /^good-app\/\d{8}T\d{6}\.tar\.gz$/);
    assert.throws(() => drop(bucket(), {path: join(parent, 'My_App')}), /"My_App" has uppercase letters.*pass --service NAME/);
  });
  it('refuses what is not an archive or a folder', () => {
    const file = join(folder(), 'notes.txt');
    writeFileSync(file, 'x');
    assert.throws(() => drop(bucket(), {path: file, service: 'a'}), /neither a folder nor a \.tar\.gz, \.tgz or \.zip archive/);
    assert.throws(() => drop(bucket(), {path: '/does/not/exist', service: 'a'}), /does not exist/);
    assert.throws(() => drop(bucket(), {path: folder(), service: 'a', signatureType: 'http'}), /--signature-type needs --function/);
  });
});
