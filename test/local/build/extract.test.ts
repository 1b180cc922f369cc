import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ExtractError, extractArchive, type ExtractLimits} from '../../../local/build/extract';
import {tarGz, zip, type TarEntry, type ZipEntry} from './fixtures-archives';

/** Extracts `archive` into base/outer/work/src; returns the result or the error, and what is left around it. */
async function run(name: string, archive: Buffer, limits: Partial<ExtractLimits> = {}) {
  const base = await mkdtemp(join(tmpdir(), 'dd-extract-'));
  await mkdir(join(base, 'outer', 'work'), {recursive: true});
  await writeFile(join(base, name), archive);
  const dest = join(base, 'outer', 'work', 'src');
  let error: unknown;
  let root: string | undefined;
  try {
    root = (await extractArchive(join(base, name), name, dest, limits)).root;
  } catch (err) {
    error = err;
  }
  const around = {
    base: (await readdir(base)).sort(),
    outer: await readdir(join(base, 'outer')),
    work: await readdir(join(base, 'outer', 'work')),
  };
  return {base, dest, root, error, around, cleanup: () => rm(base, {recursive: true, force: true})};
}

async function refused(name: string, archive: Buffer, want: RegExp, limits: Partial<ExtractLimits> = {}) {
  const r = await run(name, archive, limits);
  try {
    assert.ok(
      r.error instanceof ExtractError,
      `expected a refusal, got ${r.error instanceof Error ? r.error.message : r.error === undefined ? 'success' : 'a non-error'}`,
    );
    assert.match(r.error.message, want);
    // Nothing outside the destination, and the partial destination itself is gone.
    assert.deepEqual(r.around, {base: [name, 'outer'], outer: ['work'], work: []});
  } finally {
    await r.cleanup();
  }
}

const pkg: TarEntry = {name: 'package.json', data: '{"name":"x"}'};
const zeros = (n: number) => Buffer.alloc(n);
// Incompressible bytes, so a size limit trips before the ratio one.
const noise = (n: number) => Buffer.from(Array.from({length: n}, (_, i) => (i * 7919 + (i >> 3) * 104729) & 0xff));

describe('extractArchive refuses unsafe tar.gz', () => {
  const cases: Array<{name: string; entries: TarEntry[]; want: RegExp; limits?: Partial<ExtractLimits>}> = [
    {name: '../ in a name', entries: [pkg, {name: '../evil', data: 'x'}], want: /entry "\.\.\/evil" points outside the archive root/},
    {name: '../ after a folder', entries: [{name: 'a/../../evil', data: 'x'}], want: /entry "a\/\.\.\/\.\.\/evil" points outside/},
    {name: '..\\ (backslash)', entries: [{name: '..\\evil', data: 'x'}], want: /points outside the archive root/},
    {name: '../ in a pax path', entries: [{name: '../pax-evil', data: 'x', pax: true}], want: /entry "\.\.\/pax-evil" points outside/},
    {name: 'an absolute path', entries: [{name: '/etc/x', data: 'x'}], want: /entry "\/etc\/x" is an absolute path/},
    {name: 'a drive path', entries: [{name: 'C:\\x', data: 'x'}], want: /entry "C:\\x" is an absolute path/},
    {
      name: 'a symlink to /etc/passwd',
      entries: [{name: 'pw', type: '2', linkname: '/etc/passwd'}],
      want: /entry "pw" is a symlink to the absolute path "\/etc\/passwd"/,
    },
    {
      name: 'a symlink to ../../x',
      entries: [{name: 'sub/l', type: '2', linkname: '../../x'}],
      want: /entry "sub\/l" is a symlink to "\.\.\/\.\.\/x", which points outside/,
    },
    {
      name: 'a symlink chain out',
      entries: [
        {name: 'a', type: '2', linkname: '.'},
        {name: 'b', type: '2', linkname: 'a/..'},
      ],
      want: /entry "b" is a symlink to "a\/\.\.", which resolves outside/,
    },
    {
      name: 'a write through a symlink',
      entries: [
        {name: 'x', type: '2', linkname: '.'},
        {name: 'x/y', type: '2', linkname: '..'},
      ],
      want: /entry "x\/y" would be written through the symlink "x"/,
    },
    // Dangling: nothing is at the final target, so only following the links in the archive sees it is outside.
    {
      name: 'a dangling symlink chain out',
      entries: [
        {name: 'sub/', type: '5'},
        {name: 'sub/up', type: '2', linkname: '..'},
        {name: 'out', type: '2', linkname: 'sub/up/../missing'},
      ],
      want: /entry "out" is a symlink to "sub\/up\/\.\.\/missing", which resolves outside the archive \(through the symlink "sub\/up"\)/,
    },
    {
      name: 'a symlink to a link that points outside',
      entries: [
        {name: 'a', type: '2', linkname: 'b'},
        {name: 'here', type: '2', linkname: '.'},
        {name: 'b', type: '2', linkname: 'here/../outside'},
      ],
      want: /entry "a" is a symlink to "b", which resolves outside the archive \(through the symlink "here"\)/,
    },
    {
      name: 'a symlink loop',
      entries: [
        {name: 'a', type: '2', linkname: 'b'},
        {name: 'b', type: '2', linkname: 'a'},
      ],
      want: /entry "a" is a symlink to "b", which never resolves: more than 40 links in a row/,
    },
    {
      name: 'a hard link out',
      entries: [{name: 'h', type: '1', linkname: '../x'}],
      want: /entry "h" is a hard link to "\.\.\/x", which points outside/,
    },
    {
      name: 'a hard link to an absolute path',
      entries: [{name: 'h', type: '1', linkname: '/etc/passwd'}],
      want: /entry "h" is a hard link to the absolute path "\/etc\/passwd"/,
    },
    {
      name: 'a name over 255 bytes',
      entries: [pkg, {name: `lib/${'n'.repeat(256)}.js`, data: 'x', pax: true}],
      want: /entry "lib\/n{256}\.js" has a file or folder name of 259 bytes; names may be at most 255 bytes: shorten it/,
    },
    {
      name: 'a folder name over 255 bytes',
      entries: [{name: `${'é'.repeat(128)}/f`, data: 'x', gnuLong: true}],
      want: /entry "é{128}\/f" has a file or folder name of 256 bytes/,
    },
    {
      name: 'a path longer than the system allows',
      entries: [{name: `${'d'.repeat(250)}/`.repeat(17) + 'f', data: 'x', pax: true}],
      want: /entry "d{60}…[d/]+\/f" would have a path of \d+ bytes in the build folder; paths may be at most \d+ bytes: use shorter names or fewer nested folders/,
    },
    {name: 'a FIFO', entries: [{name: 'fifo', type: '6'}], want: /entry "fifo" is a FIFO; only files, directories and links are allowed/},
    {name: 'a character device', entries: [{name: 'null', type: '3'}], want: /entry "null" is a character device/},
    {name: 'a block device', entries: [{name: 'sda', type: '4'}], want: /entry "sda" is a block device/},
    {
      name: 'a ratio bomb (50 MB of zeros)',
      entries: [pkg, {name: 'zeros', data: zeros(50 * 1024 * 1024)}],
      want: /more than 200 times its compressed size .*decompression bomb \(at "zeros"\)/,
    },
    {
      name: 'too many bytes',
      entries: [{name: 'big', data: noise(200_000)}],
      want: /expands to more than 100000 bytes \(at "big"\)/,
      limits: {maxBytes: 100_000},
    },
    {
      name: 'too many entries',
      entries: Array.from({length: 11}, (_, i) => ({name: `f${i}`, data: 'x'})),
      want: /more than 10 entries \(at "f10"\)/,
      limits: {maxEntries: 10},
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => refused('app.tar.gz', tarGz(c.entries), c.want, c.limits));
  }

  it('refuses a file that is not gzip', () => refused('app.tgz', Buffer.from('not gzip at all'), /not a valid gzip file/));
  it('refuses an unsupported extension', () =>
    refused('app.rar', Buffer.from('x'), /"app\.rar" is not a supported archive: upload a \.tar\.gz, \.tgz or \.zip/));
});

describe('extractArchive refuses unsafe zip', () => {
  const cases: Array<{name: string; entries: ZipEntry[]; want: RegExp; limits?: Partial<ExtractLimits>}> = [
    {name: '../ in a name', entries: [{name: '../evil', data: 'x'}], want: /entry "\.\.\/evil" points outside the archive root/},
    {name: '..\\ (Windows separator)', entries: [{name: '..\\evil', data: 'x'}], want: /entry "\.\.\\evil" points outside/},
    {name: 'an absolute path', entries: [{name: '/etc/x', data: 'x'}], want: /entry "\/etc\/x" is an absolute path/},
    {name: 'a drive path', entries: [{name: 'C:\\x', data: 'x'}], want: /is an absolute path/},
    {
      name: 'a symlink to /etc/passwd',
      entries: [{name: 'pw', data: '/etc/passwd', mode: 0o120777}],
      want: /entry "pw" is a symlink to the absolute path "\/etc\/passwd"/,
    },
    {
      name: 'a symlink to ../../x',
      entries: [{name: 'l', data: '../../x', mode: 0o120777}],
      want: /entry "l" is a symlink to "\.\.\/\.\.\/x", which points outside/,
    },
    {
      name: 'a dangling symlink chain out',
      entries: [
        {name: 'sub/up', data: '..', mode: 0o120777},
        {name: 'out', data: 'sub/up/../missing', mode: 0o120777},
      ],
      want: /entry "out" is a symlink to "sub\/up\/\.\.\/missing", which resolves outside the archive/,
    },
    {
      name: 'a name over 255 bytes',
      entries: [{name: 'x'.repeat(300), data: 'x'}],
      want: /entry "x{300}" has a file or folder name of 300 bytes/,
    },
    {name: 'a FIFO', entries: [{name: 'fifo', mode: 0o010644}], want: /entry "fifo" is a FIFO/},
    {
      name: 'a ratio bomb (50 MB of zeros)',
      entries: [{name: 'zeros', data: zeros(50 * 1024 * 1024)}],
      want: /decompression bomb \(at "zeros"\)/,
    },
    {
      name: 'too many bytes',
      entries: [{name: 'big', data: noise(200_000)}],
      want: /expands to more than 100000 bytes/,
      limits: {maxBytes: 100_000},
    },
    {
      name: 'too many entries',
      entries: Array.from({length: 11}, (_, i) => ({name: `f${i}`, data: 'x'})),
      want: /more than 10 entries/,
      limits: {maxEntries: 10},
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, () => refused('app.ZIP', zip(c.entries), c.want, c.limits));
  }
});

describe('extractArchive extracts what is safe', () => {
  it('extracts files, folders, modes, links inside the tree and long names from a .tgz', async () => {
    const long = `${'d'.repeat(80)}/${'f'.repeat(80)}.js`;
    const r = await run(
      'app.TGZ',
      tarGz([
        {name: './', type: '5'},
        pkg,
        {name: 'bin/', type: '5'},
        {name: 'bin/run', data: '#!/bin/sh\n', mode: 0o755},
        {name: 'lib/a.js', data: 'module.exports = 1;\n'},
        {name: 'lib/alias.js', type: '2', linkname: 'a.js'},
        // Dangling but inside, through other links: kept (npm install may create the target).
        {name: 'lib/up', type: '2', linkname: '..'},
        {name: 'later', type: '2', linkname: 'lib/up/lib/up/node_modules/x'},
        {name: 'lib/copy.js', type: '1', linkname: 'lib/a.js'},
        {name: long, data: 'pax', pax: true},
        {name: `g/${long}`, data: 'gnu', gnuLong: true},
      ]),
    );
    try {
      assert.equal(r.error, undefined);
      assert.equal(r.root, r.dest);
      assert.equal(await readFile(join(r.dest, 'lib/a.js'), 'utf8'), 'module.exports = 1;\n');
      assert.equal(await readlink(join(r.dest, 'lib/alias.js')), 'a.js');
      assert.equal(await readlink(join(r.dest, 'later')), 'lib/up/lib/up/node_modules/x');
      assert.equal(await readFile(join(r.dest, 'lib/copy.js'), 'utf8'), 'module.exports = 1;\n');
      assert.equal((await lstat(join(r.dest, 'bin/run'))).mode & 0o111, 0o111);
      assert.equal(await readFile(join(r.dest, long), 'utf8'), 'pax');
      assert.equal(await readFile(join(r.dest, 'g', long), 'utf8'), 'gnu');
    } finally {
      await r.cleanup();
    }
  });

  it('uses the single top-level folder holding package.json as the source root (tar czf app.tgz app/)', async () => {
    const r = await run(
      'app.tar.gz',
      tarGz([
        {name: 'app/', type: '5'},
        {name: 'app/package.json', data: '{}'},
        {name: 'app/index.js', data: ''},
      ]),
    );
    try {
      assert.equal(r.root, join(r.dest, 'app'));
    } finally {
      await r.cleanup();
    }
  });

  it('extracts a zip with stored and deflated entries, ignoring __MACOSX for the root', async () => {
    const r = await run(
      'app.zip',
      zip([
        {name: 'app/', mode: 0o040755},
        {name: 'app/package.json', data: '{"name":"z"}', store: true},
        {name: 'app/index.js', data: 'console.log(1)\n'.repeat(100)},
        {name: '__MACOSX/app/._index.js', data: 'junk'},
      ]),
    );
    try {
      assert.equal(r.error, undefined);
      assert.equal(r.root, join(r.dest, 'app'));
      assert.equal(await readFile(join(r.dest, 'app/index.js'), 'utf8'), 'console.log(1)\n'.repeat(100));
    } finally {
      await r.cleanup();
    }
  });
});
