import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  byteRange,
  checksumMismatch,
  objectNameOf,
  parseContentRange,
  parseInsertMetadata,
  receivedRange,
  splitMultipart,
} from '../../../local/bucket/upload-protocol';

describe('resumable Content-Range', () => {
  const rows: Array<{input: string | undefined; want: unknown}> = [
    {input: 'bytes 0-99/200', want: {first: 0, last: 99, total: 200}},
    {input: 'bytes 100-199/200', want: {first: 100, last: 199, total: 200}},
    {input: 'bytes 0-99/*', want: {first: 0, last: 99, total: undefined}},
    {input: 'bytes */200', want: {query: true, total: 200}},
    {input: 'bytes */*', want: {query: true, total: undefined}},
    {input: 'bytes 10-5/200', want: undefined},
    {input: 'bytes 0-200/200', want: undefined},
    {input: 'bytes=0-1/2', want: undefined},
    {input: undefined, want: undefined},
  ];
  for (const row of rows) it(String(row.input), () => assert.deepEqual(parseContentRange(row.input), row.want));
  it('308 Range: none before the first byte, else the bytes held', () => {
    assert.equal(receivedRange(0), undefined);
    assert.equal(receivedRange(100), 'bytes=0-99');
  });
});

describe('download Range over 100 bytes', () => {
  const rows: Array<{input: string | undefined; want: unknown}> = [
    {input: undefined, want: undefined},
    {input: 'bytes=0-99', want: {start: 0, end: 99}},
    {input: 'bytes=0-19999', want: {start: 0, end: 99}},
    {input: 'bytes=10-', want: {start: 10, end: 99}},
    {input: 'bytes=-10', want: {start: 90, end: 99}},
    {input: 'bytes=-500', want: {start: 0, end: 99}},
    {input: 'bytes=100-', want: 'unsatisfiable'},
    {input: 'bytes=-0', want: 'unsatisfiable'},
    {input: 'bytes=5-2', want: 'unsatisfiable'},
    {input: 'bytes=0-1,5-6', want: undefined},
    {input: 'items=0-1', want: undefined},
  ];
  for (const row of rows) it(String(row.input), () => assert.deepEqual(byteRange(row.input, 100), row.want));
});

describe('insert metadata and object name', () => {
  it('reads name, contentType, metadata, hashes', () => {
    assert.deepEqual(
      parseInsertMetadata('{"name":"a/b.tgz","contentType":"application/gzip","metadata":{"function-target":"f"},"crc32c":"x"}'),
      {
        name: 'a/b.tgz',
        contentType: 'application/gzip',
        metadata: {'function-target': 'f'},
        md5Hash: undefined,
        crc32c: 'x',
      },
    );
    assert.deepEqual(parseInsertMetadata(''), {});
  });
  const bad: Array<[string, RegExp]> = [
    ['{', /not JSON/],
    ['[1]', /must be a JSON object/],
    ['{"metadata":{"a":1}}', /metadata must be an object of string values/],
  ];
  for (const [input, want] of bad) it(`refuses ${input}`, () => assert.match(JSON.stringify(parseInsertMetadata(input)), want));
  it('name: the query parameter wins, else the metadata; none, too long or dot names are refused', () => {
    assert.equal(objectNameOf('q.tgz', {name: 'm.tgz'}), 'q.tgz');
    assert.equal(objectNameOf(null, {name: 'm.tgz'}), 'm.tgz');
    assert.match((objectNameOf(null, {}) as {problem: string}).problem, /Required: the object name/);
    assert.match((objectNameOf('x'.repeat(1025), {}) as {problem: string}).problem, /too long/);
    assert.match((objectNameOf('..', {}) as {problem: string}).problem, /Invalid object name/);
  });
});

describe('claimed checksums', () => {
  const actual = {md5Hash: 'M', crc32c: 'C'};
  const rows: Array<{name: string; claimed: Parameters<typeof checksumMismatch>[0]; want: RegExp | undefined}> = [
    {name: 'none claimed', claimed: {}, want: undefined},
    {name: 'both right in metadata', claimed: {md5Hash: 'M', crc32c: 'C'}, want: undefined},
    {name: 'x-goog-hash right', claimed: {xGoogHash: 'crc32c=C,md5=M'}, want: undefined},
    {name: 'x-goog-hash with base64 padding', claimed: {xGoogHash: 'md5=M'}, want: undefined},
    {name: 'wrong md5', claimed: {md5Hash: 'X'}, want: /Provided MD5 hash "X" doesn't match calculated MD5 hash "M"/},
    {name: 'wrong crc32c in the header', claimed: {xGoogHash: 'crc32c=Z=='}, want: /Provided CRC32C "Z==" doesn't match/},
  ];
  for (const row of rows) {
    it(row.name, () => {
      const got = checksumMismatch(row.claimed, actual);
      if (row.want) assert.match(got ?? '', row.want);
      else assert.equal(got, undefined);
    });
  }
});

describe('multipart/related bodies', () => {
  const media = Buffer.from([0, 1, 2, 13, 10, 45, 45, 255]);
  const body = (eol: string, boundary: string) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}${eol}Content-Type: application/json${eol}${eol}{"name":"x.tgz"}${eol}--${boundary}${eol}Content-Type: application/gzip${eol}MIME-Version: 1.0${eol}${eol}`,
      ),
      media,
      Buffer.from(`${eol}--${boundary}--${eol}`),
    ]);
  const rows: Array<{name: string; type: string; eol: string}> = [
    {name: 'CRLF, quoted boundary', type: 'multipart/related; boundary="b1"', eol: '\r\n'},
    {name: "LF, single-quoted boundary (gcloud's Python email)", type: "multipart/related; boundary='===b1=='", eol: '\n'},
    {name: 'CRLF, bare boundary', type: 'multipart/related; boundary=b1', eol: '\r\n'},
  ];
  for (const row of rows) {
    it(row.name, () => {
      const boundary = /boundary=["']?([^"']+)/.exec(row.type)![1];
      const got = splitMultipart(body(row.eol, boundary), row.type);
      assert.ok(typeof got !== 'string', got as string);
      assert.equal(got.metadata, '{"name":"x.tgz"}');
      assert.deepEqual(got.media, media);
      assert.equal(got.mediaType, 'application/gzip');
    });
  }
  it('refuses another content type, one part, or no closing boundary', () => {
    assert.match(JSON.stringify(splitMultipart(Buffer.from(''), 'application/json')), /needs Content-Type: multipart\/related/);
    assert.match(
      JSON.stringify(splitMultipart(Buffer.from('--b\r\n\r\n{}\r\n--b--'), 'multipart/related; boundary=b')),
      /two parts .* not 1/,
    );
    assert.match(
      JSON.stringify(splitMultipart(Buffer.from('--b\r\n\r\n{}\r\n--b\r\n\r\nxx'), 'multipart/related; boundary=b')),
      /closing boundary/,
    );
  });
});
