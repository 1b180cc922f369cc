/**
 * What a request body must be before it is used: the pure rules, applied by body-guard.ts to
 * the bytes it read (bounded) before the Functions Framework's own parsers could. A JSON body is
 * UTF-8 (RFC 8259 §8.1), of an accepted media type, uncompressed, within a size and a nesting
 * depth; the path's %-encoding must decode. Each problem says what was wrong and what to do,
 * and never quotes the body.
 */

/** Limits of one function's bodies. */
export interface BodyLimits {
  maxBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Media types parsed as JSON, lower case, e.g. `application/json`. */
  types: string[];
}

/** Why a request cannot be used, with the HTTP status that says so. */
export interface BodyProblem {
  status: 400 | 413 | 415;
  reason: string;
}

/** A parsed body (`undefined` when there was none), or its problem. */
export type BodyVerdict = {ok: true; value: unknown} | {ok: false; problem: BodyProblem};

type Headers = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
// RFC 9110 media type: type "/" subtype *( OWS ";" OWS parameter )
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^(${TOKEN})/(${TOKEN})((?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"]*"))*)\\s*;?\\s*$`);
const PARAM = new RegExp(`;\\s*(${TOKEN})=(${TOKEN}|"[^"]*")`, 'g');

/** Whether the request has a body at all (RFC 9112 §6.3: a Content-Length or a Transfer-Encoding). */
export function hasBody(headers: Headers): boolean {
  return first(headers['transfer-encoding']) !== undefined || (first(headers['content-length']) ?? '0') !== '0';
}

/**
 * Problems the headers show before a byte is read: the media type and its charset, a
 * Content-Encoding, a declared length over the limit.
 */
export function headerProblem(headers: Headers, limits: BodyLimits): BodyProblem | undefined {
  const length = first(headers['content-length']);
  if (length !== undefined && Number(length) > limits.maxBytes) {
    return {status: 413, reason: `the request body is ${length} bytes; at most ${limits.maxBytes} bytes are accepted`};
  }
  if (!hasBody(headers)) return undefined;
  const encoding = (first(headers['content-encoding']) ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity')
    return {status: 415, reason: `Content-Encoding ${encoding.slice(0, 40)} is not accepted; send the JSON uncompressed`};
  const type = first(headers['content-type']);
  const media = type === undefined ? undefined : MEDIA_TYPE.exec(type.trim());
  const name = media ? `${media[1]}/${media[2]}`.toLowerCase() : undefined;
  if (!name || !limits.types.includes(name)) {
    return {
      status: 415,
      reason: `Content-Type must be ${limits.types.join(' or ')}, not ${type === undefined ? 'missing' : JSON.stringify(type.slice(0, 80))}`,
    };
  }
  for (const [, key, raw] of media![3].matchAll(PARAM)) {
    const value = raw.replace(/^"|"$/g, '').toLowerCase();
    // `utf8` is no registered charset name, but common enough that refusing it would drop events.
    if (key.toLowerCase() === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      return {status: 415, reason: `charset ${JSON.stringify(value.slice(0, 40))} is not accepted; JSON is sent as charset=utf-8`};
    }
  }
  return undefined;
}

const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: false});

/** Parses a body already read (at most `maxBytes`): strict UTF-8, bounded depth, JSON. An empty body is `undefined`. */
export function parseJsonBody(bytes: Buffer, limits: BodyLimits): BodyVerdict {
  if (bytes.length > limits.maxBytes)
    return {
      ok: false,
      problem: {status: 413, reason: `the request body is over ${limits.maxBytes} bytes; at most ${limits.maxBytes} bytes are accepted`},
    };
  if (bytes.length === 0) return {ok: true, value: undefined};
  let text: string;
  try {
    // A leading byte order mark is dropped (RFC 8259 §8.1 lets a parser ignore it).
    text = utf8.decode(bytes);
  } catch {
    return {
      ok: false,
      problem: {
        status: 400,
        reason: `the request body is not valid UTF-8 (at or after byte ${firstInvalidUtf8(bytes)}); send JSON encoded as UTF-8`,
      },
    };
  }
  const depth = nestingBeyond(text, limits.maxDepth);
  if (depth !== undefined)
    return {
      ok: false,
      problem: {
        status: 400,
        reason: `the request body is nested deeper than ${limits.maxDepth} levels (at character ${depth}); no request needs that`,
      },
    };
  try {
    return {ok: true, value: JSON.parse(text)};
  } catch (err) {
    // V8's messages quote the body; only the position is kept.
    const at = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    return {
      ok: false,
      problem: {status: 400, reason: `the request body is not valid JSON${at ? ` (at character ${at})` : ''}; send one JSON object`},
    };
  }
}

/** The index where arrays and objects first nest deeper than `max`, outside strings; undefined if they never do. */
export function nestingBeyond(text: string, max: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return undefined;
}

function firstInvalidUtf8(bytes: Buffer): number {
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, found by halving (each step decodes once).
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(0, mid), {stream: true});
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  if (lo < bytes.length) return lo;
  // Every prefix decodes as a stream: the body ends inside a character; point at its first byte.
  let i = lo;
  while (i > 0 && lo - i < 3 && (bytes[i - 1] & 0xc0) === 0x80) i--;
  return i > 0 && bytes[i - 1] >= 0xc0 ? i - 1 : i;
}

/** A problem with the request path: a %-escape that does not decode (Express would answer it with an HTML page). */
export function pathProblem(url: string): BodyProblem | undefined {
  const path = url.split('?')[0];
  try {
    decodeURIComponent(path);
    return undefined;
  } catch {
    return {
      status: 400,
      reason: 'the request path is not valid percent-encoding (a % must start an escape of UTF-8 bytes); encode the path as a URL does',
    };
  }
}
