import {after, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs';
import {readlink} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {DependencyCache} from '../../../../local/build/buildpacks/dependency-cache';

const base = mkdtempSync(join(tmpdir(), 'dd-cache-'));
let n = 0;

/** A node_modules folder with one package of `bytes` bytes and a .bin symlink. */
function modules(bytes: number): string {
  const dir = join(base, `src-${++n}`, 'node_modules');
  mkdirSync(join(dir, 'pkg', 'bin'), {recursive: true});
  mkdirSync(join(dir, '.bin'));
  writeFileSync(join(dir, 'pkg', 'bin', 'tool'), 'x'.repeat(bytes), {mode: 0o755});
  symlinkSync('../pkg/bin/tool', join(dir, '.bin', 'tool'));
  return dir;
}

describe('DependencyCache', () => {
  after(() => rmSync(base, {recursive: true, force: true}));

  it('stores a copy and restores it with its symlinks and modes; a miss restores nothing', async () => {
    const cache = new DependencyCache(join(base, 'c1'));
    assert.equal(await cache.restore('k', join(base, 'miss')), false);
    assert.ok(!existsSync(join(base, 'miss')));
    assert.equal(await cache.store('k', modules(10), 'npm'), 'stored');
    const out = join(base, 'restored');
    assert.equal(await cache.restore('k', out), true);
    assert.equal(readFileSync(join(out, 'pkg', 'bin', 'tool'), 'utf8'), 'x'.repeat(10));
    assert.equal(await readlink(join(out, '.bin', 'tool')), '../pkg/bin/tool');
    assert.deepEqual(readdirSync(join(base, 'c1', 'tmp')), []);
  });

  it('keeps the first of two stores of one key', async () => {
    const cache = new DependencyCache(join(base, 'c2'));
    const results = await Promise.all([cache.store('same', modules(10), 'a'), cache.store('same', modules(10), 'b')]);
    assert.deepEqual(results.sort(), ['already-stored', 'stored']);
    assert.deepEqual(readdirSync(join(base, 'c2', 'entries')), ['same']);
    assert.deepEqual(readdirSync(join(base, 'c2', 'tmp')), []);
  });

  it('evicts the least recently used entries beyond its budget, never the one just stored', async () => {
    const cache = new DependencyCache(join(base, 'c3'), 250);
    await cache.store('old', modules(100), 'a');
    await cache.store('used', modules(100), 'b');
    // "old" was stored first but "used" was not reused: make "old" the more recently used.
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(base, 'c3', 'entries', 'used', 'entry.json'), past, past);
    assert.equal(await cache.restore('old', join(base, 'r3')), true);
    await cache.store('new', modules(100), 'c');
    assert.deepEqual(readdirSync(join(base, 'c3', 'entries')).sort(), ['new', 'old']);
    assert.equal(await cache.store('huge', modules(1000), 'd'), 'too-big');
  });
});
