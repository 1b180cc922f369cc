/**
 * The checksums Cloud Storage reports for an object: MD5 and CRC32C, both base64 of the
 * big-endian digest.
 */
import {createHash} from 'node:crypto';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C (Castagnoli) of `data` as a number; `previous` continues the CRC of the bytes before it. */
export function crc32c(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Base64 of a CRC32C's big-endian bytes, as Cloud Storage writes `crc32c`. */
function crcBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc);
  return b.toString('base64');
}

/** The checksums of bytes that arrive in chunks (an upload being streamed to disk). */
export class ObjectHasher {
  private readonly md5 = createHash('md5');
  private crc = 0;
  size = 0;

  update(chunk: Uint8Array): void {
    this.md5.update(chunk);
    this.crc = crc32c(chunk, this.crc);
    this.size += chunk.length;
  }

  /** `md5Hash` and `crc32c` of everything so far (call once). */
  digest(): {md5Hash: string; crc32c: string} {
    return {md5Hash: this.md5.digest('base64'), crc32c: crcBase64(this.crc)};
  }
}

/** `md5Hash` and `crc32c` as Cloud Storage's JSON API gives them. */
export function objectChecksums(data: Uint8Array): {md5Hash: string; crc32c: string} {
  return {md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crcBase64(crc32c(data))};
}
