import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {StoredObject} from '../../local/bucket/object-store';
import {startStorageApi, type StorageApi} from '../../local/bucket/storage-api';
import {BucketWatcher} from '../../local/bucket/watcher';
import {drop, parseDropArgs, upload} from '../../local/drop';

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

describe("upload (npm run drop): through the stack's Cloud Storage JSON API", () => {
  const root = mkdtempSync(join(tmpdir(), 'dd-dropu-'));
  const delivered: StoredObject[] = [];
  let api: StorageApi;
  let watcher: BucketWatcher;
  before(async () => {
    api = await startStorageApi(join(root, 'store'), 'local-sources');
    // A settle time far beyond the test's: an upload must not wait for it, as a file copied in does.
    watcher = new BucketWatcher({
      bucket: 'local-sources',
      dir: join(root, 'bucket'),
      storeRoot: join(root, 'store'),
      deliver: (o) => {
        delivered.push(o);
        return Promise.resolve();
      },
      settleMs: 60_000,
    });
    await watcher.start();
    api.acceptUploads((object, file, info) => watcher.upload(object, file, info));
  });
  after(async () => {
    await watcher.stop();
    await api.close();
  });

  it('packs a folder and uploads it with its metadata: one generation, delivered at once', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dd-dropf-'));
    writeFileSync(join(d, 'package.json'), '{"name":"x"}');
    const out = await upload(
      {storageEndpoint: api.url, bucket: 'local-sources'},
      {path: d, service: 'greeter', functionTarget: 'helloHttp', signatureType: 'http'},
      new Date('2026-11-28T09:10:11Z'),
    );
    assert.equal(out.object, 'greeter/20261128T091011.tar.gz');
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0].name, out.object);
    assert.equal(delivered[0].generation, out.generation);
    assert.deepEqual(delivered[0].metadata, {'function-target': 'helloHttp', 'function-signature-type': 'http'});
    assert.equal(
      readFileSync(join(root, 'bucket', 'greeter', '20261128T091011.tar.gz'))
        .subarray(0, 2)
        .toString('hex'),
      '1f8b',
    );
  });

  it('says what to do when the stack is gone', async () => {
    const d = mkdtempSync(join(tmpdir(), 'dd-dropf-'));
    writeFileSync(join(d, 'package.json'), '{}');
    await assert.rejects(
      upload({storageEndpoint: 'http://127.0.0.1:9', bucket: 'local-sources'}, {path: d, service: 'a'}),
      /the upload to the local stack at http:\/\/127\.0\.0\.1:9 failed .*is `npm start` still running\?/,
    );
  });
});
