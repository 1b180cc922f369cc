import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {crc32c, objectChecksums, ObjectHasher} from '../../../local/bucket/checksums';

describe('object checksums', () => {
  it('CRC32C check value of "123456789" is 0xE3069283 (RFC 3720)', () => assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283));
  it('empty object: the values Cloud Storage shows for a 0-byte object', () => {
    assert.deepEqual(objectChecksums(Buffer.alloc(0)), {md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==', crc32c: 'AAAAAA=='});
  });
  it('ObjectHasher over chunks gives the checksums of the whole, at any split', () => {
    const data = Buffer.from(Array.from({length: 1000}, (_, i) => (i * 37) % 251));
    for (const splits of [[], [0], [1], [500], [3, 7, 999], [1000]]) {
      const h = new ObjectHasher();
      let from = 0;
      for (const at of [...splits, data.length]) {
        h.update(data.subarray(from, at));
        from = at;
      }
      assert.equal(h.size, data.length);
      assert.deepEqual(h.digest(), objectChecksums(data), `splits ${splits.join(',')}`);
    }
  });
});
