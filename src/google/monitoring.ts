/**
 * Cloud Monitoring adapter: the {@link Metrics} port on `@google-cloud/monitoring` (v3
 * ListTimeSeries of Cloud Run's `request_count` and `request_latencies` for one revision).
 */
import type {MetricServiceClient} from '@google-cloud/monitoring';
import type {Metrics, RevisionMetrics} from '../ports';
import {wrapAsync} from './grpc-errors';
import {toPlain} from './plain';

interface PlainSeries {
  metric?: {labels?: Record<string, string>};
  points?: Array<{value?: {int64Value?: string | number; doubleValue?: number}}>;
}

/** Cloud Monitoring's smallest alignment period. */
const MIN_PERIOD_SECONDS = 60;

const timestamp = (d: Date) => ({seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1_000_000});

/** {@link Metrics} on the Cloud Monitoring API v3. */
export class CloudMonitoringMetrics implements Metrics {
  constructor(
    private readonly client: MetricServiceClient,
    private readonly projectId: string,
    private readonly region: string,
  ) {}

  /**
   * Two ListTimeSeries over [start, end], each aligned to one period covering the window (at
   * least Cloud Monitoring's 60 s): the request count summed by response code class, and the
   * latency distributions merged across the revision's series (ALIGN_DELTA) and read at their
   * 99th percentile (REDUCE_PERCENTILE_99), which is the revision's p99 over all its requests.
   */
  async revision(service: string, revision: string, start: Date, end: Date): Promise<RevisionMetrics> {
    const resource =
      `resource.type = "cloud_run_revision" AND resource.labels.location = "${this.region}" AND ` +
      `resource.labels.service_name = "${service}" AND resource.labels.revision_name = "${revision}"`;
    const periodSeconds = Math.max(MIN_PERIOD_SECONDS, Math.ceil((end.getTime() - start.getTime()) / 1000));
    const base = {
      name: `projects/${this.projectId}`,
      interval: {startTime: timestamp(start), endTime: timestamp(end)},
    };
    const what = `Cloud Monitoring ListTimeSeries for revision ${revision} of ${service}`;
    const [counts, latencies] = await Promise.all([
      wrapAsync(what, () =>
        this.client.listTimeSeries({
          ...base,
          filter: `metric.type = "run.googleapis.com/request_count" AND ${resource}`,
          aggregation: {
            alignmentPeriod: {seconds: periodSeconds},
            perSeriesAligner: 'ALIGN_DELTA',
            crossSeriesReducer: 'REDUCE_SUM',
            groupByFields: ['metric.labels.response_code_class'],
          },
        }),
      ),
      wrapAsync(what, () =>
        this.client.listTimeSeries({
          ...base,
          filter: `metric.type = "run.googleapis.com/request_latencies" AND ${resource}`,
          aggregation: {
            alignmentPeriod: {seconds: periodSeconds},
            perSeriesAligner: 'ALIGN_DELTA',
            crossSeriesReducer: 'REDUCE_PERCENTILE_99',
          },
        }),
      ),
    ]);
    let requests = 0;
    let errors5xx = 0;
    for (const series of toPlain<PlainSeries[]>(counts[0])) {
      const n = (series.points ?? []).reduce((sum, p) => sum + Number(p.value?.int64Value ?? 0), 0);
      requests += n;
      if (series.metric?.labels?.response_code_class === '5xx') errors5xx += n;
    }
    const p99 = toPlain<PlainSeries[]>(latencies[0])[0]?.points?.[0]?.value?.doubleValue;
    return {requests, errors5xx, ...(typeof p99 === 'number' && requests > 0 ? {p99Ms: p99} : {})};
  }
}
