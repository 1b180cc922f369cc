import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {link, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {gunzipSync} from 'node:zlib';
import * as tar from 'tar';
import {extractEntries, type ArchiveEntry} from '../../../local/build/archive-entry';
import {Budget, DEFAULT_LIMITS, ExtractError, type ExtractLimits} from '../../../local/build/extract-limits';
import {SafeTree} from '../../../local/build/safe-tree';
import {tarEntries} from '../../../local/build/tar-entries';
import {zipEntries} from '../../../local/build/zip-entries';
import {zip} from './fixtures-archives';

type Source = (
  base: string,
  meter: (n: number, entry: string) => void,
) => AsyncIterable<ArchiveEntry> | Promise<AsyncIterable<ArchiveEntry>>;

/** Runs the policy over what `source` yields into base/dest; returns the refusal (or undefined) and the dest's listing. */
async function run(source: Source, limits: Partial<ExtractLimits> = {}, compressed = 1_000_000) {
  const base = await mkdtemp(join(tmpdir(), 'dd-entries-'));
  const dest = join(base, 'dest');
  await mkdir(dest);
  const budget = new Budget({...DEFAULT_LIMITS, ...limits}, compressed);
  let error: unknown;
  try {
    await extractEntries(await source(base, (n, e) => budget.expanded(n, e)), new SafeTree(dest), budget);
  } catch (err) {
    error = err;
  }
  return {base, dest, error, listing: (await readdir(dest)).sort(), cleanup: () => rm(base, {recursive: true, force: true})};
}

/** `items` one by one, as an async source. */
function flowing<T>(items: T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      const it = items[Symbol.iterator]();
      return {next: () => Promise.resolve(it.next())};
    },
  };
}

function chunks(...parts: string[]): AsyncIterable<Buffer> {
  return flowing(parts.map((p) => Buffer.from(p)));
}

/** A plain entry; a file's content is `data`, split in two chunks to cross a write. */
function entry(e: Partial<ArchiveEntry> & {name: string; data?: string}): ArchiveEntry {
  const data = e.data ?? '';
  return {type: 'file', mode: 0o644, size: Buffer.byteLength(data), content: () => chunks(data.slice(0, 1), data.slice(1)), ...e};
}

function entries(...list: ArchiveEntry[]): Source {
  return () => flowing(list);
}

/** A tar (not gzipped) from node-tar's own Header: the shapes its packer would not write. */
function tarOf(
  ...list: Array<{
    path: string;
    type: 'File' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO' | 'Directory';
    linkpath?: string;
    data?: string;
  }>
): Buffer {
  const parts: Buffer[] = [];
  for (const e of list) {
    const body = Buffer.from(e.data ?? '');
    const h = new tar.Header({
      path: e.path,
      type: e.type,
      linkpath: e.linkpath ?? '',
      size: body.length,
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    h.encode();
    parts.push(h.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** `buf` in small chunks, so that headers and bodies cross chunk boundaries. */
function bytes(buf: Buffer, size = 700): AsyncIterable<Buffer> {
  return flowing(Array.from({length: Math.ceil(buf.length / size)}, (_, i) => buf.subarray(i * size, (i + 1) * size)));
}

function fromTar(buf: Buffer): Source {
  return (_base, meter) => tarEntries(bytes(buf), meter);
}

/** Passes `source` through, noting each entry as `name:type`. */
async function* noting(source: AsyncIterable<ArchiveEntry>, seen: string[]): AsyncGenerator<ArchiveEntry> {
  for await (const e of source) {
    seen.push(`${e.name}:${e.type}`);
    yield e;
  }
}

describe('the policy over entries', () => {
  const cases: Array<{name: string; source: Source; want: RegExp; limits?: Partial<ExtractLimits>}> = [
    {
      name: '../ in a name',
      source: entries(entry({name: '../evil', data: 'x'})),
      want: /^entry "\.\.\/evil" points outside the archive root/,
    },
    {name: 'an absolute name', source: entries(entry({name: '/etc/x', data: 'x'})), want: /^entry "\/etc\/x" is an absolute path/},
    {
      name: 'a symlink out',
      source: entries(entry({name: 'l', type: 'symlink', linkTarget: '../x'})),
      want: /^entry "l" is a symlink to "\.\.\/x", which points outside/,
    },
    {
      name: 'a hard link out',
      source: entries(entry({name: 'h', type: 'hardlink', linkTarget: '../x'})),
      want: /^entry "h" is a hard link to "\.\.\/x", which points outside/,
    },
    {
      name: 'a hard link to nothing',
      source: entries(entry({name: 'h', type: 'hardlink', linkTarget: 'missing'})),
      want: /^entry "h" is a hard link to "missing", which is not in the archive before it/,
    },
    {
      name: 'a device',
      source: entries(entry({name: 'null', type: 'other', kind: 'character device'})),
      want: /^entry "null" is a character device; only files, directories and links are allowed/,
    },
    {
      name: 'a declared size over the limit',
      source: entries(entry({name: 'big', size: 2 ** 40, data: 'x'})),
      want: /^the archive expands to more than 536870912 bytes \(at "big"\)/,
    },
    {name: 'an invalid size', source: entries(entry({name: 'neg', size: -1})), want: /^entry "neg" has an invalid size/},
    {
      name: 'more bytes than declared',
      source: entries(entry({name: 'f', size: 1, data: 'abc'})),
      want: /^entry "f" holds more than the 1 bytes its header says/,
    },
    {
      name: 'fewer bytes than declared',
      source: entries(entry({name: 'f', size: 5, data: 'abc'})),
      want: /^entry "f" holds 3 bytes, not the 5 its header says/,
    },
    {
      name: 'too many entries',
      source: entries(...Array.from({length: 4}, (_, i) => entry({name: `f${i}`}))),
      want: /more than 3 entries \(at "f3"\)/,
      limits: {maxEntries: 3},
    },
    // Real tars, from node-tar itself.
    {
      name: 'a node-tar symlink escape',
      source: fromTar(tarOf({path: 'pw', type: 'SymbolicLink', linkpath: '../../etc/passwd'})),
      want: /^entry "pw" is a symlink to "\.\.\/\.\.\/etc\/passwd", which points outside/,
    },
    {
      name: 'a node-tar hard link escape',
      source: fromTar(tarOf({path: 'h', type: 'Link', linkpath: '../outside'})),
      want: /^entry "h" is a hard link to "\.\.\/outside", which points outside/,
    },
    {
      name: 'a node-tar device',
      source: fromTar(tarOf({path: 'null', type: 'CharacterDevice'})),
      want: /^entry "null" is a character device/,
    },
    {name: 'a node-tar FIFO', source: fromTar(tarOf({path: 'p', type: 'FIFO'})), want: /^entry "p" is a FIFO/},
    // node-tar's extractor would strip these and write evil / etc/x; the parser keeps them, so they are refused.
    {
      name: 'a node-tar ../ name (refused, not stripped)',
      source: fromTar(tarOf({path: '../evil', type: 'File', data: 'x'})),
      want: /^entry "\.\.\/evil" points outside the archive root/,
    },
    {
      name: 'a node-tar absolute name (refused, not stripped)',
      source: fromTar(tarOf({path: '/etc/x', type: 'File', data: 'x'})),
      want: /^entry "\/etc\/x" is an absolute path/,
    },
    {
      name: 'a node-tar tar cut short',
      source: fromTar(tarOf({path: 'f', type: 'File', data: 'x'.repeat(2000)}).subarray(0, 1024)),
      want: /^the archive is truncated \(in "f"\)/,
    },
    // Zips, through yauzl.
    {
      name: 'a zip ../ name',
      source: zipFile(zip([{name: '../evil', data: 'x'}])),
      want: /^entry "\.\.\/evil" points outside the archive root/,
    },
    {
      name: 'a zip ..\\ name (not rewritten to ../)',
      source: zipFile(zip([{name: '..\\evil', data: 'x'}])),
      want: /^entry "\.\.\\evil" points outside the archive root/,
    },
    {
      name: 'a zip with a bomb-sized declared size',
      source: zipFile(declaring(zip([{name: 'bomb', data: 'x'.repeat(100)}]), 0xfffffff0)),
      want: /^the archive expands to more than 536870912 bytes \(at "bomb"\)/,
    },
    {
      name: 'a zip whose entry holds more than declared',
      source: zipFile(declaring(zip([{name: 'liar', data: 'x'.repeat(100)}]), 10)),
      want: /^entry "liar" is corrupt: too many bytes in the stream/,
    },
    {
      name: 'a zip symlink out',
      source: zipFile(zip([{name: 'l', data: '../x', mode: 0o120777}])),
      want: /^entry "l" is a symlink to "\.\.\/x", which points outside/,
    },
    {name: 'a zip FIFO', source: zipFile(zip([{name: 'fifo', mode: 0o010644}])), want: /^entry "fifo" is a FIFO/},
    {name: 'not a zip', source: zipFile(Buffer.from('not a zip')), want: /^the archive is not a valid zip file/},
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const r = await run(c.source, c.limits);
      try {
        assert.ok(r.error instanceof ExtractError, `expected a refusal, got ${r.error instanceof Error ? r.error.message : 'success'}`);
        assert.match(r.error.message, c.want);
        // Nothing beside the destination but the archive itself.
        assert.deepEqual(
          (await readdir(r.base)).filter((n) => n !== 'a.zip'),
          ['dest'],
        );
      } finally {
        await r.cleanup();
      }
    });
  }

  it('writes files, folders and links that stay inside', async () => {
    const r = await run(
      entries(
        entry({name: 'lib/', type: 'dir', mode: 0o755}),
        entry({name: 'lib/a.js', data: 'module.exports = 1;\n'}),
        entry({name: 'lib/alias.js', type: 'symlink', linkTarget: 'a.js'}),
        entry({name: 'copy.js', type: 'hardlink', linkTarget: 'lib/a.js'}),
      ),
    );
    try {
      assert.equal(r.error, undefined);
      assert.deepEqual(r.listing, ['copy.js', 'lib']);
      assert.equal(await readlink(join(r.dest, 'lib/alias.js')), 'a.js');
      assert.equal(await readFile(join(r.dest, 'copy.js'), 'utf8'), 'module.exports = 1;\n');
    } finally {
      await r.cleanup();
    }
  });

  it('reads a tar made by node-tar from a real tree: symlink and hard link inside are kept', async () => {
    const src = await mkdtemp(join(tmpdir(), 'dd-entries-src-'));
    try {
      await mkdir(join(src, 'app/lib'), {recursive: true});
      await writeFile(join(src, 'app/package.json'), '{"name":"t"}');
      await writeFile(join(src, 'app/lib/a.js'), 'a');
      await link(join(src, 'app/lib/a.js'), join(src, 'app/lib/b.js'));
      await symlink('a.js', join(src, 'app/lib/alias.js'));
      await tar.create({cwd: src, file: join(src, 'app.tgz'), gzip: true, portable: true}, ['app']);
      const tgz = await readFile(join(src, 'app.tgz'));
      const types: string[] = [];
      const r = await run((_base, meter) => noting(tarEntries(bytes(gunzipSync(tgz)), meter), types));
      try {
        assert.equal(r.error, undefined);
        assert.ok(types.includes('app/lib/alias.js:symlink'), types.join());
        assert.ok(types.includes('app/lib/b.js:hardlink') || types.includes('app/lib/a.js:hardlink'), types.join());
        assert.equal(await readFile(join(r.dest, 'app/lib/b.js'), 'utf8'), 'a');
        assert.equal(await readlink(join(r.dest, 'app/lib/alias.js')), 'a.js');
      } finally {
        await r.cleanup();
      }
    } finally {
      await rm(src, {recursive: true, force: true});
    }
  });
});

/** A source reading `buf` as a zip file through zipEntries. */
function zipFile(buf: Buffer): Source {
  return async (base, meter) => {
    const path = join(base, 'a.zip');
    await writeFile(path, buf);
    return zipEntries(path, meter);
  };
}

/** `buf` (a one-entry zip from fixtures-archives) with its declared uncompressed size changed, in both headers. */
function declaring(buf: Buffer, size: number): Buffer {
  const out = Buffer.from(buf);
  out.writeUInt32LE(size, 22);
  out.writeUInt32LE(size, out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
  return out;
}
