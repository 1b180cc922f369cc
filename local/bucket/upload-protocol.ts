/**
 * The pure parts of the JSON API's upload protocols (https://cloud.google.com/storage/docs/json_api
 * → uploads): which object an insert names, a resumable chunk's `Content-Range`, the `Range`
 * of a download, a multipart/related body's two parts, and checksum checks. No I/O.
 */

/** Google's JSON API error body. */
export interface GoogleError {
  status: number;
  body: {error: {code: number; message: string; errors: Array<{message: string; domain: string; reason: string}>}};
}

/** An error as Cloud Storage's JSON API answers it (`reason` as in its `errors[]`). */
export function googleError(status: number, reason: string, message: string): GoogleError {
  return {status, body: {error: {code: status, message, errors: [{message, domain: 'global', reason}]}}};
}

/** The 404 of a bucket the local stack does not have. */
export function noSuchBucket(bucket: string, ours: string): GoogleError {
  return googleError(
    404,
    'notFound',
    `The specified bucket does not exist. (The local stack has only the bucket '${ours}', not '${bucket}'.)`,
  );
}

/** A resumable chunk's Content-Range (`bytes A-B/T`, total `*` while unknown), or a status query (`*` for the range). */
export type ChunkRange = {first: number; last: number; total?: number} | {query: true; total?: number};

/** Parses a resumable upload's Content-Range; undefined when it is malformed. */
export function parseContentRange(header: string | undefined): ChunkRange | undefined {
  const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec((header ?? '').trim());
  if (!m) return undefined;
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (m[1] === undefined) return {query: true, total};
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (last < first || (total !== undefined && last >= total)) return undefined;
  return {first, last, total};
}

/** The `Range` header of a 308 answer: the bytes received so far (none: no header). */
export function receivedRange(received: number): string | undefined {
  return received > 0 ? `bytes=0-${received - 1}` : undefined;
}

/**
 * A download's `Range` (RFC 9110, one range) over an object of `size` bytes: the bytes to send,
 * `unsatisfiable` (416), or undefined for the whole object (no or unusable header).
 */
export function byteRange(header: string | undefined, size: number): {start: number; end: number} | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return {start: Math.max(0, size - n), end: size - 1};
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return {start, end};
}

/** The object resource fields an insert may carry (metadata of a multipart or resumable upload). */
export interface InsertMetadata {
  name?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  md5Hash?: string;
  crc32c?: string;
}

/** Reads the JSON part of an insert; a message naming what is wrong otherwise. */
export function parseInsertMetadata(text: string): InsertMetadata | string {
  if (!text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `the object metadata is not JSON: ${(err as Error).message}`;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'the object metadata must be a JSON object';
  const m = v as Record<string, unknown>;
  const meta = m.metadata;
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Object.values(meta).some((x) => typeof x !== 'string')))
    return 'metadata must be an object of string values';
  const str = (k: string) => {
    const x = m[k];
    return typeof x === 'string' ? x : undefined;
  };
  return {
    name: str('name'),
    contentType: str('contentType'),
    metadata: (meta ?? undefined) as Record<string, string> | undefined,
    md5Hash: str('md5Hash'),
    crc32c: str('crc32c'),
  };
}

/** The object name of an insert: the `name` query parameter, else the metadata's; a message when neither or an unusable one. */
export function objectNameOf(query: string | null, metadata: InsertMetadata): string | {problem: string} {
  const name = query ?? metadata.name;
  if (!name) return {problem: 'Required: the object name (the name query parameter or the metadata name)'};
  if (Buffer.byteLength(name) > 1024) return {problem: `Object name too long: at most 1024 bytes (${name.slice(0, 40)}…)`};
  if (name === '.' || name === '..' || /[\r\n]/.test(name)) return {problem: `Invalid object name '${name}'`};
  return name;
}

/** Whether the checksums a client claimed (metadata, or `x-goog-hash: crc32c=…,md5=…`) match what arrived; the mismatch otherwise. */
export function checksumMismatch(
  claimed: {md5Hash?: string; crc32c?: string; xGoogHash?: string},
  actual: {md5Hash: string; crc32c: string},
): string | undefined {
  const fromHeader = Object.fromEntries(
    (claimed.xGoogHash ?? '')
      .split(',')
      .map((p) => p.trim().split(/=(.*)/s))
      .filter((p) => p.length >= 2),
  ) as Record<string, string>;
  const md5 = claimed.md5Hash ?? fromHeader.md5;
  const crc = claimed.crc32c ?? fromHeader.crc32c;
  if (md5 && md5 !== actual.md5Hash) return `Provided MD5 hash "${md5}" doesn't match calculated MD5 hash "${actual.md5Hash}".`;
  if (crc && crc !== actual.crc32c) return `Provided CRC32C "${crc}" doesn't match calculated CRC32C "${actual.crc32c}".`;
  return undefined;
}

/** The two parts of a multipart/related insert: the JSON metadata and the media (with its own content type). */
export function splitMultipart(
  body: Buffer,
  contentType: string | undefined,
): {metadata: string; media: Buffer; mediaType?: string} | string {
  // Python's email package (gcloud, through apitools) quotes the boundary with single quotes.
  const b = /boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType ?? '');
  if (!/^multipart\/related/i.test(contentType ?? '') || !b) return 'a multipart upload needs Content-Type: multipart/related; boundary=…';
  const delimiter = Buffer.from(`--${b[1] ?? b[2] ?? b[3]}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) return 'the multipart body does not end with its closing boundary';
    parts.push(body.subarray(start, next));
    at = next;
  }
  if (parts.length !== 2) return `a multipart upload has two parts (metadata, media), not ${parts.length}`;
  const [meta, media] = parts.map(splitPart);
  const mediaType = /^content-type:\s*(.+?)\s*$/im.exec(media.headers)?.[1];
  return {metadata: meta.content.toString('utf8'), media: media.content, mediaType};
}

/** One part after its delimiter: headers, a blank line, the content; lines end in CRLF or LF. */
function splitPart(p: Buffer): {headers: string; content: Buffer} {
  const eol = p[0] === 0x0d && p[1] === 0x0a ? 2 : p[0] === 0x0a ? 1 : 0;
  const part = p.subarray(eol);
  const crlf = part.indexOf('\r\n\r\n');
  const lf = part.indexOf('\n\n');
  const [split, gap] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : lf >= 0 ? [lf, 2] : [-1, 0];
  const headers = split >= 0 ? part.subarray(0, split).toString('utf8') : '';
  let content = split >= 0 ? part.subarray(split + gap) : part;
  // The line break before the next delimiter belongs to the delimiter.
  if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
  else if (content.subarray(-1).toString() === '\n') content = content.subarray(0, -1);
  return {headers, content};
}
