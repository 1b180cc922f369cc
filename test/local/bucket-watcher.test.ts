import assert from 'node:assert/strict';
import {appendFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {generationPath, type StoredObject} from '../../local/bucket/object-store';
import {BucketWatcher, dropFile} from '../../local/bucket/watcher';

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'dd-bucket-'));
  const delivered: StoredObject[] = [];
  const errors: string[] = [];
  const make = () => new BucketWatcher({bucket: 'local-sources', dir: join(root, 'bucket'), storeRoot: join(root, 'store'),
    deliver: (o) => { delivered.push(o); return Promise.resolve(); }, onError: (e, o) => errors.push(`${o}: ${String(e)}`)});
  return {root, delivered, errors, make, dir: join(root, 'bucket')};
}

describe('BucketWatcher', () => {
  it('delivers a dropped file once, with generation, size, checksums, content type and metadata', async () => {
    const {root, delivered, make, dir} = setup();
    const w = make();
    const src = join(root, 'app.tgz');
    writeFileSync(src, 'archive bytes');
    dropFile(dir, 'hello/v1.tgz', src, {'function-target': 'helloHttp'});
    await w.scan();
    await w.scan();
    await w.scan();
    assert.equal(delivered.length, 1);
    const o = delivered[0];
    assert.equal(o.bucket, 'local-sources');
    assert.equal(o.name, 'hello/v1.tgz');
    assert.match(o.generation, /^\d{16,}$/);
    assert.equal(o.size, '13');
    assert.equal(o.contentType, 'application/gzip');
    assert.deepEqual(o.metadata, {'function-target': 'helloHttp'});
    assert.equal(readFileSync(generationPath(join(root, 'store'), 'hello/v1.tgz', o.generation), 'utf8'), 'archive bytes');
  });

  it('waits for a file being written; ignores dot-files; a replacement is a new, larger generation', async () => {
    const {delivered, make, dir} = setup();
    const w = make();
    await w.scan();
    const f = join(dir, 'app.zip');
    writeFileSync(f, 'part one');
    await w.scan();
    appendFileSync(f, ' and two');
    await w.scan();
    assert.equal(delivered.length, 0, 'still changing: not complete yet');
    writeFileSync(join(dir, '.hidden.zip'), 'x');
    await w.scan();
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0].size, String('part one and two'.length));
    // Atomic replacement: write elsewhere, rename over.
    writeFileSync(join(dir, '.tmp'), 'v2 bytes');
    renameSync(join(dir, '.tmp'), f);
    await w.scan();
    await w.scan();
    assert.equal(delivered.length, 2);
    assert.ok(BigInt(delivered[1].generation) > BigInt(delivered[0].generation));
    assert.notEqual(delivered[1].md5Hash, delivered[0].md5Hash);
  });

  it('after a restart, files already stored are not delivered again', async () => {
    const {delivered, make, dir} = setup();
    const w1 = make();
    writeFileSync(join(dir, 'a.zip'), 'same');
    await w1.scan();
    await w1.scan();
    assert.equal(delivered.length, 1);
    const w2 = make();
    await w2.scan();
    await w2.scan();
    assert.equal(delivered.length, 1);
  });

  it('a malformed metadata sidecar is an error naming the file, not a delivery', async () => {
    const {delivered, errors, make, dir, root} = setup();
    const w = make();
    const src = join(root, 's.zip');
    writeFileSync(src, 'z');
    dropFile(dir, 'x/s.zip', src);
    writeFileSync(join(dir, 'x', '.s.zip.metadata.json'), '{"function-target": 3}');
    await w.scan();
    await w.scan();
    assert.equal(delivered.length, 0);
    assert.match(errors[0], /\.s\.zip\.metadata\.json must be a JSON object of string values/);
  });
});
