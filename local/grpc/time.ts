import {numberField} from './fields';
import type {PlainMessage} from './protos';

/** A google.protobuf.Timestamp in plain form (int64 seconds as a string). */
export type Timestamp = {seconds: string; nanos: number};

/** A google.protobuf.Timestamp (plain form) for a moment given in epoch milliseconds. */
export function timestamp(ms: number): Timestamp {
  return {seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000};
}

// proto3 JSON prints 0, 3, 6 or 9 fractional digits.
function fraction(nanos: number): string {
  if (!nanos) return '';
  const digits = String(nanos).padStart(9, '0');
  const len = digits.endsWith('000000') ? 3 : digits.endsWith('000') ? 6 : 9;
  return '.' + digits.slice(0, len);
}

/** A Timestamp in proto3 JSON form (RFC 3339, UTC), e.g. `2024-05-01T10:00:00.123Z`. */
export function timestampJson(ts: PlainMessage): string {
  const seconds = numberField(ts, 'seconds');
  const base = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  return `${base}${fraction(numberField(ts, 'nanos'))}Z`;
}

/** A Duration in proto3 JSON form, e.g. `600s` or `1.5s`. */
export function durationJson(d: PlainMessage): string {
  const seconds = numberField(d, 'seconds');
  const nanos = numberField(d, 'nanos');
  const sign = seconds < 0 || nanos < 0 ? '-' : '';
  return `${sign}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}
