/**
 * Crafts real tar.gz and zip archives byte by byte, including the malicious shapes that
 * ordinary archivers refuse to produce (`../` names, links out, devices, bombs).
 */
import {deflateRawSync, gzipSync} from 'node:zlib';

/** One tar entry; `type` is the ustar typeflag ('0' file, '1' hard link, '2' symlink, '3' char, '5' dir, '6' FIFO). */
export interface TarEntry {
  name: string;
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Use a pax header for the path (long names), as `tar --format=pax` does. */
  pax?: boolean;
  /** Use a GNU 'L' long-name header, as GNU tar does for names over 100 bytes. */
  gnuLong?: boolean;
}

function header(name: string, type: string, size: number, opts: {linkname?: string; mode?: number} = {}): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => h.write(s, at, Math.min(Buffer.byteLength(s), len), 'utf8');
  const oct = (n: number, at: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', at, len);
  put(name, 0, 100);
  oct(opts.mode ?? (type === '5' ? 0o755 : 0o644), 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(size, 124, 12);
  oct(0, 136, 12);
  h.write(type, 156, 1, 'latin1');
  put(opts.linkname ?? '', 157, 100);
  h.write('ustar\x0000', 257, 8, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

function withBody(h: Buffer, body: Buffer): Buffer[] {
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return [h, body, pad];
}

function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length + 1;
  while (String(len).length + Buffer.byteLength(rest) !== len) len = String(len).length + Buffer.byteLength(rest);
  return `${len}${rest}`;
}

/** An uncompressed tar of `entries`, ending with the two zero blocks. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? '0';
    const data = Buffer.from(e.data ?? '');
    let name = e.name;
    if (e.pax) {
      parts.push(
        ...withBody(header('PaxHeaders/x', 'x', Buffer.byteLength(paxRecord('path', name))), Buffer.from(paxRecord('path', name))),
      );
      name = name.slice(0, 99);
    } else if (e.gnuLong) {
      const long = Buffer.from(name + '\0');
      parts.push(...withBody(header('././@LongLink', 'L', long.length), long));
      name = name.slice(0, 99);
    }
    parts.push(
      ...withBody(
        header(name, type, type === '0' ? data.length : 0, {linkname: e.linkname, mode: e.mode}),
        type === '0' ? data : Buffer.alloc(0),
      ),
    );
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A gzip'd tar of `entries`. */
export function tarGz(entries: TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}

/** One zip entry; `mode` is a full Unix st_mode (type and permissions) stored as a Unix zip does. */
export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  mode?: number;
  store?: boolean;
}

/** A zip of `entries` (deflated unless `store`), made on "Unix" so modes and types apply. */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.from(e.data ?? '');
    const body = e.store ? raw : deflateRawSync(raw);
    const name = Buffer.from(e.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(e.store ? 0 : 8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(e.store ? 0 : 8, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? (e.name.endsWith('/') ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
