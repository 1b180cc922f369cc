/**
 * A zip reader that trusts only what it checks: it reads the central directory, refuses
 * encrypted, zip64 and special entries, and inflates each entry as a stream against the
 * budget, so a bomb stops after the first chunks past the limit.
 */
import type {FileHandle} from 'node:fs/promises';
import {createInflateRaw} from 'node:zlib';
import {ExtractError, type Budget} from './extract-limits';
import {consumeFile} from './read-stream';
import type {ArchiveEntry, EntryWriter, SafeTree} from './safe-tree';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_LINK = 4096;
const UNIX_TYPES: Record<number, ArchiveEntry['type'] | string> = {
  0o040000: 'dir', 0o100000: 'file', 0o120000: 'symlink',
  0o010000: 'FIFO', 0o020000: 'character device', 0o060000: 'block device', 0o140000: 'socket',
};

interface ZipEntry {
  entry: ArchiveEntry;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** Reads the zip at `path` (opened as `fh`, `fileSize` bytes) into `tree`. */
export async function readZip(path: string, fh: FileHandle, fileSize: number, tree: SafeTree, budget: Budget): Promise<void> {
  for (const z of await centralDirectory(fh, fileSize, budget)) {
    const {name} = z.entry;
    if (z.entry.type === 'file') budget.declare(z.size, name);
    const start = await dataOffset(fh, z, fileSize);
    if (z.entry.type === 'symlink') {
      const chunks: Buffer[] = [];
      await inflate(path, start, z, budget, {write: async (b) => void chunks.push(Buffer.from(b)), end: async () => undefined}, MAX_LINK);
      z.entry.linkTarget = Buffer.concat(chunks).toString('utf8');
    }
    const writer = await tree.add(z.entry);
    if (!writer) continue;
    try {
      await inflate(path, start, z, budget, writer);
    } finally {
      await writer.end();
    }
  }
}

async function centralDirectory(fh: FileHandle, fileSize: number, budget: Budget): Promise<ZipEntry[]> {
  // The end record is in the last 22 bytes plus at most a 64 KiB comment.
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(fh, fileSize - tailLen, tailLen);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
  if (at < 0) throw new ExtractError('the archive is not a valid zip file (no end of central directory)');
  const count = tail.readUInt16LE(at + 10);
  const cdSize = tail.readUInt32LE(at + 12);
  const cdOffset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new ExtractError('zip64 archives are not supported by the local builder: use a .tar.gz or a smaller zip');
  }
  if (cdOffset + cdSize > fileSize) throw new ExtractError('the archive is not a valid zip file (central directory out of range)');
  const cd = await readAt(fh, cdOffset, cdSize);
  const out: ZipEntry[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos + 46 > cd.length || cd.readUInt32LE(pos) !== CENTRAL) throw new ExtractError('the archive is not a valid zip file (bad central directory)');
    const flags = cd.readUInt16LE(pos + 8);
    const nameLen = cd.readUInt16LE(pos + 28);
    const name = cd.subarray(pos + 46, pos + 46 + nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    budget.entry(name);
    if (flags & 1) throw new ExtractError(`entry "${name}" is encrypted`, name);
    const z: ZipEntry = {
      entry: toEntry(name, cd.readUInt8(pos + 5), cd.readUInt32LE(pos + 38)),
      method: cd.readUInt16LE(pos + 10),
      compressedSize: cd.readUInt32LE(pos + 20),
      size: cd.readUInt32LE(pos + 24),
      localOffset: cd.readUInt32LE(pos + 42),
    };
    if (z.size === 0xffffffff || z.compressedSize === 0xffffffff || z.localOffset === 0xffffffff) {
      throw new ExtractError(`entry "${name}" needs zip64, which the local builder does not support`, name);
    }
    if (z.method !== 0 && z.method !== 8) throw new ExtractError(`entry "${name}" uses compression method ${z.method}; only stored and deflate are supported`, name);
    out.push(z);
    pos += 46 + nameLen + cd.readUInt16LE(pos + 30) + cd.readUInt16LE(pos + 32);
  }
  return out;
}

function toEntry(name: string, madeBy: number, external: number): ArchiveEntry {
  const mode = external >>> 16;
  // Only zips made on Unix (host 3) carry a file type in the high half of the attributes.
  const type = madeBy === 3 && mode ? UNIX_TYPES[mode & 0o170000] : undefined;
  const isDir = name.endsWith('/') || (external & 0x10) !== 0;
  if (type === 'dir' || (!type && isDir)) return {name, type: 'dir', mode: 0o755};
  if (type === 'symlink') return {name, type: 'symlink', mode: 0o777};
  if (type && type !== 'file') return {name, type: 'special', kind: type, mode: 0};
  return {name, type: 'file', mode: madeBy === 3 && mode ? mode & 0o777 : 0o644};
}

async function dataOffset(fh: FileHandle, z: ZipEntry, fileSize: number): Promise<number> {
  const local = await readAt(fh, z.localOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw new ExtractError(`entry "${z.entry.name}" has no valid local header`, z.entry.name);
  const start = z.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + z.compressedSize > fileSize) throw new ExtractError(`entry "${z.entry.name}" runs past the end of the archive`, z.entry.name);
  return start;
}

/** Streams one entry's data through inflate (or as stored) into `writer`, counting every byte. */
async function inflate(path: string, start: number, z: ZipEntry, budget: Budget, writer: EntryWriter, cap = Infinity): Promise<void> {
  const {name} = z.entry;
  if (z.compressedSize === 0) {
    if (z.size) throw new ExtractError(`entry "${name}" has no data but says it expands to ${z.size} bytes`, name);
    return;
  }
  let written = 0;
  const range = {start, end: start + z.compressedSize - 1};
  const sink = async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      written += chunk.length;
      budget.expanded(chunk.length, name);
      if (written > cap) throw new ExtractError(`entry "${name}" is a symlink with a target longer than ${cap} bytes`, name);
      await writer.write(chunk);
    }
  };
  try {
    await consumeFile(path, range, z.method === 8 ? createInflateRaw() : undefined, sink);
  } catch (err) {
    if (err instanceof ExtractError) throw err;
    throw new ExtractError(`entry "${name}" is corrupt: ${(err as Error).message}`, name);
  }
  // The directory's size is what the early check used, so it must be what came out.
  if (written !== z.size) throw new ExtractError(`entry "${name}" expands to ${written} bytes, not the ${z.size} its header says`, name);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const {bytesRead} = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}
