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

/** CRC32C (Castagnoli) of `data` as a number. */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** `md5Hash` and `crc32c` as Cloud Storage's JSON API gives them. */
export function objectChecksums(data: Uint8Array): {md5Hash: string; crc32c: string} {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(data));
  return {md5Hash: createHash('md5').update(data).digest('base64'), crc32c: crc.toString('base64')};
}
