import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {crc32c, objectChecksums} from '../../../local/bucket/checksums';

describe('object checksums', () => {
  it('CRC32C check value of "123456789" is 0xE3069283 (RFC 3720)', () => assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283));
  it('empty object: the values Cloud Storage shows for a 0-byte object', () => {
    assert.deepEqual(objectChecksums(Buffer.alloc(0)), {md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==', crc32c: 'AAAAAA=='});
  });
});
