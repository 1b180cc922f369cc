/**
 * Cloud Monitoring's ListTimeSeries arithmetic over the router's request records, for Cloud
 * Run's `request_count` (DELTA INT64) and `request_latencies` (DELTA DISTRIBUTION, ms) on the
 * `cloud_run_revision` resource: the raw series, the per-series aligners and the cross-series
 * reducers, as common.proto (google.monitoring.v3.Aggregation) defines them. Pure.
 *
 * Local choices, where Cloud Monitoring's own are not observable: raw points are one per
 * minute (Cloud Run samples every 60 s) and appear at once (Cloud Run's take up to 3 minutes);
 * a period without requests has no point; percentiles are computed from the exact latencies
 * (linear interpolation between ranks), not from histogram buckets.
 */
import type {RequestRecord} from '../cloud-run/request-log';
import {fieldValue, type Field, type Term} from './filter';

/** The metrics the emulator serves. */
export const REQUEST_COUNT = 'run.googleapis.com/request_count';
export const REQUEST_LATENCIES = 'run.googleapis.com/request_latencies';
export const RESOURCE_TYPE = 'cloud_run_revision';

/** A per-series aligner or cross-series reducer the emulator applies. */
export type Aligner =
  'ALIGN_NONE' | 'ALIGN_DELTA' | 'ALIGN_SUM' | 'ALIGN_RATE' | 'ALIGN_PERCENTILE_99' | 'ALIGN_PERCENTILE_95' | 'ALIGN_PERCENTILE_50';
export type Reducer =
  'REDUCE_NONE' | 'REDUCE_SUM' | 'REDUCE_MAX' | 'REDUCE_PERCENTILE_99' | 'REDUCE_PERCENTILE_95' | 'REDUCE_PERCENTILE_50';
export const ALIGNERS: readonly Aligner[] = [
  'ALIGN_NONE',
  'ALIGN_DELTA',
  'ALIGN_SUM',
  'ALIGN_RATE',
  'ALIGN_PERCENTILE_99',
  'ALIGN_PERCENTILE_95',
  'ALIGN_PERCENTILE_50',
];
export const REDUCERS: readonly Reducer[] = [
  'REDUCE_NONE',
  'REDUCE_SUM',
  'REDUCE_MAX',
  'REDUCE_PERCENTILE_99',
  'REDUCE_PERCENTILE_95',
  'REDUCE_PERCENTILE_50',
];

/** What one ListTimeSeries asks, checked. */
export interface SeriesQuery {
  metricType: typeof REQUEST_COUNT | typeof REQUEST_LATENCIES;
  terms: Term[];
  /** The interval, ms since the epoch: records that ended in (startMs, endMs]. */
  startMs: number;
  endMs: number;
  aligner: Aligner;
  /** Required with an aligner other than ALIGN_NONE. */
  periodMs?: number;
  reducer: Reducer;
  groupBy: Field[];
}

/** A point's value: a count, a double, or a distribution (its samples). */
export type PointValue = {int64: number} | {double: number} | {samples: number[]};

/** One point: its interval (ms) and value. */
export interface Point {
  startMs: number;
  endMs: number;
  value: PointValue;
}

/** One output series, before it is written as a google.monitoring.v3.TimeSeries. */
export interface Series {
  metricType: string;
  resourceType: string;
  metric: Record<string, string>;
  resource: Record<string, string>;
  metricKind: 'DELTA' | 'GAUGE';
  valueType: 'INT64' | 'DOUBLE' | 'DISTRIBUTION';
  /** Newest first, as ListTimeSeries returns them. */
  points: Point[];
}

/** A query the emulator refuses: INVALID_ARGUMENT with this message. */
export class QueryError extends Error {}

const SAMPLE_MS = 60_000;

/** The series a query returns from `records` of the project/location `where`. */
export function timeSeries(records: RequestRecord[], where: {projectId: string; location: string}, q: SeriesQuery): Series[] {
  const distribution = q.metricType === REQUEST_LATENCIES;
  checkCombination(q, distribution);
  const raw = new Map<string, {series: Series; records: RequestRecord[]}>();
  for (const r of records) {
    if (!(r.at > q.startMs && r.at <= q.endMs)) continue;
    const series = rawSeries(q.metricType, where, r, distribution);
    if (!q.terms.every((t) => fieldValue(series, t.field) === t.value)) continue;
    const key = JSON.stringify([series.resource, series.metric]);
    const entry = raw.get(key) ?? {series, records: []};
    entry.records.push(r);
    raw.set(key, entry);
  }
  const aligned = [...raw.values()].map(({series, records: rs}) => align(series, rs, q, distribution));
  const out = q.reducer === 'REDUCE_NONE' ? aligned : reduce(aligned, q);
  return out.sort((a, b) => seriesKey(a).localeCompare(seriesKey(b)));
}

function seriesKey(s: Series): string {
  return JSON.stringify([s.resource, s.metric]);
}

function rawSeries(metricType: string, where: {projectId: string; location: string}, r: RequestRecord, distribution: boolean): Series {
  return {
    metricType,
    resourceType: RESOURCE_TYPE,
    resource: {
      project_id: where.projectId,
      location: where.location,
      service_name: r.service,
      revision_name: r.revision,
      configuration_name: r.service,
    },
    metric: {response_code: String(r.status), response_code_class: `${Math.floor(r.status / 100)}xx`},
    metricKind: 'DELTA',
    valueType: distribution ? 'DISTRIBUTION' : 'INT64',
    points: [],
  };
}

function checkCombination(q: SeriesQuery, distribution: boolean): void {
  const type = distribution ? 'DISTRIBUTION' : 'INT64';
  if (q.aligner.startsWith('ALIGN_PERCENTILE') && !distribution) {
    throw new QueryError(
      `${q.aligner} is valid for distribution values only; ${q.metricType} is DELTA ${type}: use ALIGN_DELTA, ALIGN_SUM or ALIGN_RATE`,
    );
  }
  if (q.aligner === 'ALIGN_RATE' && distribution) {
    throw new QueryError(
      `ALIGN_RATE is valid for numeric values only; ${q.metricType} is DELTA ${type}: use ALIGN_DELTA or ALIGN_PERCENTILE_99`,
    );
  }
  if (q.reducer === 'REDUCE_MAX' && distribution && (q.aligner === 'ALIGN_DELTA' || q.aligner === 'ALIGN_SUM')) {
    throw new QueryError(
      `REDUCE_MAX is valid for numeric values only, and ${q.aligner} of ${q.metricType} gives distributions: align with ALIGN_PERCENTILE_99 first, or reduce with REDUCE_PERCENTILE_99`,
    );
  }
}

/** Each period ends at `endMs - k·period`; a record at `at` falls in the period (end - period, end]. */
function periodEnd(at: number, q: SeriesQuery): number {
  const period = q.periodMs!;
  return q.endMs - Math.floor((q.endMs - at) / period) * period;
}

function align(series: Series, records: RequestRecord[], q: SeriesQuery, distribution: boolean): Series {
  const byPeriod = new Map<number, RequestRecord[]>();
  for (const r of records) {
    const end = q.aligner === 'ALIGN_NONE' ? Math.floor((r.at - 1) / SAMPLE_MS) * SAMPLE_MS + SAMPLE_MS : periodEnd(r.at, q);
    byPeriod.set(end, [...(byPeriod.get(end) ?? []), r]);
  }
  const span = q.aligner === 'ALIGN_NONE' ? SAMPLE_MS : q.periodMs!;
  const gauge = q.aligner === 'ALIGN_RATE' || q.aligner.startsWith('ALIGN_PERCENTILE');
  const points: Point[] = [...byPeriod.entries()]
    .sort(([a], [b]) => b - a)
    .map(([end, rs]) => ({startMs: gauge ? end : end - span, endMs: end, value: alignedValue(rs, q, span, distribution)}));
  return {
    ...series,
    points,
    metricKind: gauge ? 'GAUGE' : 'DELTA',
    valueType: gauge ? 'DOUBLE' : series.valueType,
  };
}

function alignedValue(rs: RequestRecord[], q: SeriesQuery, spanMs: number, distribution: boolean): PointValue {
  const latencies = () => rs.map((r) => r.latencyMs);
  switch (q.aligner) {
    case 'ALIGN_RATE':
      return {double: rs.length / (spanMs / 1000)};
    case 'ALIGN_PERCENTILE_99':
    case 'ALIGN_PERCENTILE_95':
    case 'ALIGN_PERCENTILE_50':
      return {double: percentile(latencies(), percentOf(q.aligner))};
    default:
      return distribution ? {samples: latencies()} : {int64: rs.length};
  }
}

const percentOf = (op: string) => Number(op.slice(op.lastIndexOf('_') + 1)) / 100;

/** The p-quantile (0..1) of `values`, interpolating linearly between the closest ranks; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function reduce(aligned: Series[], q: SeriesQuery): Series[] {
  const groups = new Map<string, Series[]>();
  for (const s of aligned) {
    const key = JSON.stringify(q.groupBy.map((f) => fieldValue(s, f) ?? null));
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((members) => {
    const first = members[0];
    const keep = (scope: 'resource.label' | 'metric.label', labels: Record<string, string>) =>
      Object.fromEntries(Object.entries(labels).filter(([label]) => q.groupBy.some((f) => f.kind === scope && f.label === label)));
    const byEnd = new Map<number, Point[]>();
    for (const p of members.flatMap((s) => s.points)) byEnd.set(p.endMs, [...(byEnd.get(p.endMs) ?? []), p]);
    const percentileReducer = q.reducer.startsWith('REDUCE_PERCENTILE');
    const points = [...byEnd.entries()]
      .sort(([a], [b]) => b - a)
      .map(([, ps]) => ({
        startMs: ps[0].startMs,
        endMs: ps[0].endMs,
        value: reducedValue(
          ps.map((p) => p.value),
          q.reducer,
        ),
      }));
    return {
      ...first,
      resource: keep('resource.label', first.resource),
      metric: keep('metric.label', first.metric),
      metricKind: percentileReducer ? 'GAUGE' : first.metricKind,
      valueType: percentileReducer ? 'DOUBLE' : first.valueType,
      points,
    };
  });
}

function reducedValue(values: PointValue[], reducer: Reducer): PointValue {
  const numbers = values.map((v) => ('int64' in v ? v.int64 : 'double' in v ? v.double : NaN));
  const int = 'int64' in values[0];
  switch (reducer) {
    case 'REDUCE_SUM':
      if ('samples' in values[0]) return {samples: values.flatMap((v) => ('samples' in v ? v.samples : []))};
      return int ? {int64: numbers.reduce((a, b) => a + b, 0)} : {double: numbers.reduce((a, b) => a + b, 0)};
    case 'REDUCE_MAX':
      return int ? {int64: Math.max(...numbers)} : {double: Math.max(...numbers)};
    default: {
      // A percentile across distributions is one of their merged samples; across numbers, of the numbers.
      const pool = 'samples' in values[0] ? values.flatMap((v) => ('samples' in v ? v.samples : [])) : numbers;
      return {double: percentile(pool, percentOf(reducer))};
    }
  }
}
