/**
 * A streaming reader of tar (ustar, pax and GNU long names): it hands each entry to the
 * SafeTree as the bytes arrive, so nothing is buffered whole and a limit stops it at once.
 */
import {ExtractError, type Budget} from './extract-limits';
import type {ArchiveEntry, EntryWriter, SafeTree} from './safe-tree';

const BLOCK = 512;
// pax and GNU long-name headers are read into memory: keep them small.
const MAX_META = 1024 * 1024;
const SPECIAL: Record<string, string> = {'3': 'character device', '4': 'block device', '6': 'FIFO'};

interface Pending {
  path?: string;
  linkpath?: string;
  size?: number;
}

/** Reads a tar stream (already gunzipped) into `tree`, counting against `budget`. */
export async function readTar(input: AsyncIterable<Buffer>, tree: SafeTree, budget: Budget): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let pending: Pending = {};
  // The current entry's body: bytes still to come, padding after it, and where they go.
  let body: {name: string; remaining: number; padding: number; sink: (b: Buffer) => Promise<void>; done: () => Promise<void>} | undefined;
  let writer: EntryWriter | undefined;
  let lastName = '(start of archive)';
  try {
    for await (const chunk of input) {
      budget.expanded(chunk.length, lastName);
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (body) {
          const take = Math.min(body.remaining, buf.length);
          if (take) await body.sink(buf.subarray(0, take));
          body.remaining -= take;
          buf = buf.subarray(take);
          if (body.remaining) break;
          if (buf.length < body.padding) break;
          buf = buf.subarray(body.padding);
          const done = body.done;
          body = undefined;
          await done();
          continue;
        }
        if (buf.length < BLOCK) break;
        const header = buf.subarray(0, BLOCK);
        buf = buf.subarray(BLOCK);
        if (header.every((b) => b === 0)) return; // end of archive: what follows is padding
        const h = parseHeader(header);
        const name = pending.path ?? h.name;
        lastName = name;
        budget.entry(name);
        const size = pending.size ?? h.size;
        if (!Number.isSafeInteger(size) || size < 0) throw new ExtractError(`entry "${name}" has an invalid size`, name);
        const padding = (BLOCK - (size % BLOCK)) % BLOCK;
        if ('xgLK'.includes(h.type)) {
          if (size > MAX_META) throw new ExtractError(`the archive has a ${size}-byte metadata header before "${name}"`, name);
          const parts: Buffer[] = [];
          const type = h.type;
          body = {name, remaining: size, padding, sink: async (b) => void parts.push(Buffer.from(b)), done: async () => {
            const data = Buffer.concat(parts);
            if (type === 'x') pending = {...pending, ...parsePax(data, name)};
            else if (type === 'L') pending.path = cString(data);
            else if (type === 'K') pending.linkpath = cString(data);
            // 'g' (global pax) only carries defaults such as mtime that extraction ignores.
          }};
          continue;
        }
        const entry = toEntry(h, name, pending.linkpath ?? h.linkname);
        pending = {};
        if (entry.type === 'file') budget.declare(size, name);
        const w = await tree.add(entry);
        writer = w;
        body = {
          name,
          remaining: size, // link and dir bodies (normally empty) go nowhere: w is undefined
          padding,
          sink: async (b) => w?.write(b),
          done: async () => {
            writer = undefined;
            await w?.end();
          },
        };
      }
    }
  } finally {
    await writer?.end().catch(() => undefined);
  }
  if (body || buf.length) throw new ExtractError(`the archive is truncated (in "${lastName}")`, lastName);
}

interface Header {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname: string;
}

function parseHeader(b: Buffer): Header {
  const stored = octal(b.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  if (stored !== sum) throw new ExtractError('the archive is not a valid tar file (bad header checksum)');
  const ustar = b.subarray(257, 263).toString('latin1') === 'ustar\0';
  const prefix = ustar ? cString(b.subarray(345, 500)) : '';
  const name = cString(b.subarray(0, 100));
  return {
    name: prefix ? `${prefix}/${name}` : name,
    type: String.fromCharCode(b[156] || 0x30),
    mode: octal(b.subarray(100, 108)),
    size: size(b.subarray(124, 136)),
    linkname: cString(b.subarray(157, 257)),
  };
}

function toEntry(h: Header, name: string, linkTarget: string): ArchiveEntry {
  switch (h.type) {
    case '0':
    case '7':
      // Old tars mark directories only by a trailing slash.
      return name.endsWith('/') ? {name, type: 'dir', mode: h.mode} : {name, type: 'file', mode: h.mode};
    case '5':
      return {name, type: 'dir', mode: h.mode};
    case '2':
      return {name, type: 'symlink', mode: h.mode, linkTarget};
    case '1':
      return {name, type: 'hardlink', mode: h.mode, linkTarget};
    default:
      return {name, type: 'special', mode: h.mode, kind: SPECIAL[h.type] ?? `tar entry of type '${h.type}'`};
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

function octal(b: Buffer): number {
  const text = cString(b).trim();
  return text ? parseInt(text, 8) : 0;
}

/** Sizes over 8 GiB use GNU's base-256 form (high bit set). */
function size(b: Buffer): number {
  if (!(b[0] & 0x80)) return octal(b);
  let n = b[0] & 0x7f;
  for (let i = 1; i < b.length; i++) n = n * 256 + b[i];
  return n;
}

/** pax records: "<len> <key>=<value>\n"; only path, linkpath and size matter here. */
function parsePax(data: Buffer, name: string): Pending {
  const out: Pending = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (space < 0 || !(len > 0) || pos + len > data.length) throw new ExtractError(`the archive has a malformed pax header before "${name}"`, name);
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    else if (key === 'linkpath') out.linkpath = value;
    else if (key === 'size') out.size = Number(value);
    pos += len;
  }
  return out;
}
