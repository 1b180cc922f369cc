/**
 * The emulator's series as google.monitoring.v3.TimeSeries messages (plain form): points with
 * their TimeInterval and TypedValue, distributions with exponential buckets. Pure.
 */
import {timestamp} from '../grpc/time';
import type {PointValue, Series} from './aggregate';

// Exponential buckets for latencies in ms: 1 ms × 1.4^i, i < 64 (the last finite one ends near 2.2 h).
const BUCKETS = {numFiniteBuckets: 64, growthFactor: 1.4, scale: 1};

/** A google.monitoring.v3.TimeSeries (plain form), points left out with `withPoints` false (view HEADERS). */
export function timeSeriesMessage(s: Series, withPoints: boolean): {unit: string} & Record<string, unknown> {
  const unit = s.metricType.endsWith('request_latencies') && s.valueType !== 'INT64' ? 'ms' : '1';
  return {
    metric: {type: s.metricType, labels: s.metric},
    resource: {type: s.resourceType, labels: s.resource},
    metricKind: s.metricKind,
    valueType: s.valueType,
    points: withPoints
      ? s.points.map((p) => ({interval: {startTime: timestamp(p.startMs), endTime: timestamp(p.endMs)}, value: typedValue(p.value)}))
      : [],
    unit,
  };
}

function typedValue(v: PointValue): Record<string, unknown> {
  if ('int64' in v) return {int64Value: String(v.int64)};
  if ('double' in v) return {doubleValue: v.double};
  return {distributionValue: distribution(v.samples)};
}

/** A google.api.Distribution of latency samples. */
export function distribution(samples: number[]): Record<string, unknown> {
  const count = samples.length;
  const mean = count ? samples.reduce((a, b) => a + b, 0) / count : 0;
  const counts = new Array<number>(BUCKETS.numFiniteBuckets + 2).fill(0);
  for (const x of samples) counts[bucketOf(x)]++;
  while (counts.length > 0 && counts.at(-1) === 0) counts.pop(); // trailing empty buckets may be left out
  return {
    count: String(count),
    mean,
    sumOfSquaredDeviation: samples.reduce((sum, x) => sum + (x - mean) ** 2, 0),
    bucketOptions: {exponentialBuckets: BUCKETS},
    bucketCounts: counts.map(String),
  };
}

/** Bucket 0 is underflow (< scale), i in 1..N is [scale·g^(i-1), scale·g^i), N+1 overflow. */
function bucketOf(x: number): number {
  if (x < BUCKETS.scale) return 0;
  const i = Math.floor(Math.log(x / BUCKETS.scale) / Math.log(BUCKETS.growthFactor)) + 1;
  return Math.min(i, BUCKETS.numFiniteBuckets + 1);
}
