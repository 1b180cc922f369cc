/**
 * Google's JSON `Duration` strings (`"300s"`, `"1.5s"`): seconds with up to nine fractional
 * digits and an `s`. Pure.
 */

const DURATION_RE = /^(\d{1,12})(?:\.(\d{1,9}))?s$/;

/** True for a well-formed JSON Duration (non-negative). */
export function isDuration(value: unknown): value is string {
  return typeof value === 'string' && DURATION_RE.test(value);
}

/** The duration in milliseconds; throws on a malformed one (validate first with {@link isDuration}). */
export function durationMs(value: string): number {
  const m = DURATION_RE.exec(value);
  if (!m) throw new Error(`"${value}" is not a Duration such as "300s" or "1.5s"`);
  return Number(m[1]) * 1000 + Number(`0.${m[2] ?? '0'}`) * 1000;
}

/** A person's reading of a length of time: `850 ms`, `12 s`, `5 min`, `1 h 30 min`. */
export function describeDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  return `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}
