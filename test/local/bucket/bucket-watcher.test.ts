import assert from 'node:assert/strict';
import {appendFileSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {generationPath, type StoredObject} from '../../../local/bucket/object-store';
import {BucketWatcher, dropFile, settled, type BucketWatcherOptions, type Observed} from '../../../local/bucket/watcher';

/** Generous: how long a test waits for something that should happen within milliseconds. */
const PATIENCE_MS = 10_000;
const HOUR_MS = 3_600_000;

function setup(extra: Partial<BucketWatcherOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'dd-bucket-'));
  const delivered: StoredObject[] = [];
  const errors: string[] = [];
  const waiters: Array<() => void> = [];
  const make = () =>
    new BucketWatcher({
      bucket: 'local-sources',
      dir: join(root, 'bucket'),
      storeRoot: join(root, 'store'),
      deliver: (o) => {
        delivered.push(o);
        waiters.splice(0).forEach((w) => w());
        return Promise.resolve();
      },
      onError: (e, o) => errors.push(`${o}: ${String(e)}`),
      settleMs: 0,
      ...extra,
    });
  /** Resolves once `n` objects have been delivered; fails the test after {@link PATIENCE_MS}. */
  const deliveries = async (n: number): Promise<void> => {
    const deadline = Date.now() + PATIENCE_MS;
    while (delivered.length < n) {
      const left = deadline - Date.now();
      if (left <= 0)
        assert.fail(
          `waited for ${n} deliveries, got ${delivered.length}: ${JSON.stringify(delivered.map((o) => o.name))}; errors ${JSON.stringify(errors)}`,
        );
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 100));
      });
    }
  };
  return {root, delivered, errors, make, deliveries, dir: join(root, 'bucket')};
}

describe('settled', () => {
  const seen = (o: Partial<Observed> = {}): Observed => ({size: 10, mtimeMs: 1000.5, ino: 7, at: 0, taken: false, ...o});
  const stat = (o: Partial<{size: number; mtimeMs: number; ino: number}> = {}) => ({size: 10, mtimeMs: 1000.5, ino: 7, ...o});
  const cases: Array<{name: string; prev?: Observed; now?: ReturnType<typeof stat>; at: number; want: ReturnType<typeof settled>}> = [
    {name: 'no file', prev: seen(), now: undefined, at: 100, want: 'gone'},
    {name: 'never seen', now: stat(), at: 100, want: 'changed'},
    {name: 'grown since', prev: seen(), now: stat({size: 11}), at: 100, want: 'changed'},
    {name: 'written since, same size', prev: seen(), now: stat({mtimeMs: 1000.6}), at: 100, want: 'changed'},
    {name: 'replaced by another file', prev: seen(), now: stat({ino: 8}), at: 100, want: 'changed'},
    {name: 'replaced after it was taken', prev: seen({taken: true}), now: stat({ino: 8}), at: 100, want: 'changed'},
    {name: 'unchanged, but not for the settle time yet', prev: seen({at: 90}), now: stat(), at: 100, want: 'settling'},
    {name: 'unchanged for exactly the settle time', prev: seen({at: 50}), now: stat(), at: 100, want: 'settled'},
    {name: 'unchanged for longer', prev: seen(), now: stat(), at: 100, want: 'settled'},
    {name: 'unchanged and already taken', prev: seen({taken: true}), now: stat(), at: 100, want: 'taken'},
  ];
  for (const c of cases) it(c.name, () => assert.equal(settled(c.prev, c.now, c.at, 50), c.want));
});

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

  it('delivers an atomically renamed file from its event, once, without a rescan', async () => {
    const {root, delivered, deliveries, make, dir} = setup({rescanMs: HOUR_MS, settleMs: 20});
    const w = make();
    await w.start();
    try {
      const src = join(root, 'app.tgz');
      writeFileSync(src, 'archive bytes');
      dropFile(dir, 'fresh/v1.tgz', src, {'function-target': 'helloHttp'});
      await deliveries(1);
      dropFile(dir, 'fresh/v2.tgz', src);
      await deliveries(2);
    } finally {
      await w.stop();
    }
    assert.deepEqual(
      delivered.map((o) => o.name),
      ['fresh/v1.tgz', 'fresh/v2.tgz'],
    );
    assert.deepEqual(delivered[0].metadata, {'function-target': 'helloHttp'});
  });

  it('does not take a file still being written; takes it whole once it stops', async () => {
    const {delivered, deliveries, make, dir} = setup({rescanMs: HOUR_MS, settleMs: 400});
    const w = make();
    await w.start();
    const f = join(dir, 'slow.zip');
    const chunk = 'x'.repeat(1000);
    try {
      writeFileSync(f, chunk);
      for (let i = 1; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 10));
        appendFileSync(f, chunk);
      }
      await deliveries(1);
    } finally {
      await w.stop();
    }
    assert.deepEqual(
      delivered.map((o) => o.size),
      ['20000'],
      'one delivery, of the whole file',
    );
  });

  it('delivers files already in the folder when it starts', async () => {
    const {delivered, deliveries, make, dir, root} = setup({rescanMs: HOUR_MS, settleMs: 20});
    const src = join(root, 'old.zip');
    writeFileSync(src, 'was here first');
    dropFile(dir, 'early/old.zip', src);
    const w = make();
    await w.start();
    try {
      await deliveries(1);
    } finally {
      await w.stop();
    }
    assert.equal(delivered[0].name, 'early/old.zip');
  });

  it('a missed event is healed by the safety rescan', async () => {
    // A watch that never reports anything: every event is lost.
    const deaf = () => ({close: () => undefined});
    const {delivered, deliveries, make, dir, root} = setup({rescanMs: 20, settleMs: 20, watch: deaf});
    const w = make();
    await w.start();
    const src = join(root, 'lost.zip');
    try {
      writeFileSync(src, 'nobody told');
      dropFile(dir, 'lost.zip', src);
      await deliveries(1);
    } finally {
      await w.stop();
    }
    assert.equal(delivered[0].name, 'lost.zip');
    assert.equal(delivered[0].size, String(statSync(src).size));
  });

  it('a file replaced while watched, again and again, is a new generation each time', async () => {
    const {root, delivered, deliveries, make, dir} = setup({rescanMs: HOUR_MS, settleMs: 20});
    const w = make();
    await w.start();
    try {
      const src = join(root, 'r.zip');
      writeFileSync(src, 'first');
      dropFile(dir, 'svc/r.zip', src);
      await deliveries(1);
      writeFileSync(src, 'second, longer');
      dropFile(dir, 'svc/r.zip', src);
      await deliveries(2);
      writeFileSync(src, 'third');
      dropFile(dir, 'svc/r.zip', src);
      await deliveries(3);
    } finally {
      await w.stop();
    }
    assert.deepEqual(
      delivered.map((o) => o.size),
      ['5', '14', '5'],
    );
    assert.ok(BigInt(delivered[1].generation) > BigInt(delivered[0].generation));
  });
});
