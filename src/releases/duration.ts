/**
 * Lengths of time as people read them. Pure. (Google's JSON `Duration` strings are parsed in
 * rollout-policy.ts.)
 */

/** A person's reading of a length of time: `850 ms`, `12 s`, `5 min`, `1 h 30 min`. */
export function describeDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  return `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}
