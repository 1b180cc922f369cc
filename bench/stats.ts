/**
 * Small statistics for benchmark tables.
 */

/** The q-quantile (0..1) of `xs`, nearest rank. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** p50/p95/p99 rounded to 0.1 ms. */
export function percentiles(xs: number[]): {p50: number; p95: number; p99: number} {
  const r = (x: number) => Math.round(x * 10) / 10;
  return {p50: r(quantile(xs, 0.5)), p95: r(quantile(xs, 0.95)), p99: r(quantile(xs, 0.99))};
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({length: limit}, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}
