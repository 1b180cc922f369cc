/**
 * Small, total readers for untrusted JSON: they never throw, they report.
 */

/** A plain JSON object, or undefined. */
export function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Uint8Array)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** A non-empty string, or undefined. */
export function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

const INT64_MAX = 2n ** 63n - 1n;

/** A non-negative int64 that may arrive as a string or a number, as a decimal string. */
export function asInt64String(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^\d{1,19}$/.test(v) && BigInt(v) <= INT64_MAX) return v.replace(/^0+(?=\d)/, '');
  return undefined;
}

/** A map of string values (other values dropped), or {}. */
export function asStringMap(v: unknown): Record<string, string> {
  const o = asObject(v);
  const out: Record<string, string> = {};
  if (o) for (const [k, val] of Object.entries(o)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** An array of strings (other entries dropped), or []. */
export function asStringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * CloudEvent `data` as an object: the Functions Framework hands it over as an object, a JSON
 * string, or bytes depending on the content mode.
 */
export function dataObject(data: unknown): Record<string, unknown> | undefined {
  if (typeof data === 'string') return parseJson(data);
  if (Buffer.isBuffer(data) || data instanceof Uint8Array) return parseJson(Buffer.from(data).toString('utf8'));
  return asObject(data);
}

/** Strict base64 (standard or URL-safe alphabet) to UTF-8, or undefined when it is not base64. */
export function decodeBase64(s: string): string | undefined {
  const clean = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(clean, 'base64').toString('utf8');
}

/** Parses JSON that must be an object, or undefined. */
export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}
