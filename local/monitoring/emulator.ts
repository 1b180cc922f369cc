/**
 * A local Cloud Monitoring API v3 (`google.monitoring.v3.MetricService`) that the official
 * MetricServiceClient can use: ListTimeSeries of Cloud Run's request_count and
 * request_latencies, computed from what the local Cloud Run's router saw. Every other method
 * answers UNIMPLEMENTED, saying what is emulated.
 */
import {Status} from 'google-gax';
import {GrpcEmulator, type ServedService, type UnaryHandler} from '../grpc/emulator-server';
import {messageField, numberField, stringField, stringList} from '../grpc/fields';
import {protoRoot, type PlainMessage} from '../grpc/protos';
import {RpcError, rpc} from '../grpc/rpc-error';
import type {RequestRecord} from '../cloud-run/request-log';
import {FilterError, parseField, parseFilter} from './filter';
import {ALIGNERS, QueryError, REDUCERS, REQUEST_COUNT, REQUEST_LATENCIES, timeSeries, type SeriesQuery} from './aggregate';
import {timeSeriesMessage} from './messages';

/** Options of {@link MonitoringEmulator}. */
export interface MonitoringEmulatorOptions {
  /** The project and region whose Cloud Run revisions the records are of. */
  projectId: string;
  location: string;
  /** The request records that ended in (from, to], ms since the epoch. */
  records: (from: number, to: number) => RequestRecord[];
}

const SERVICE = 'google.monitoring.v3.MetricService';
const MAX_PAGE = 100_000;
const EMULATED =
  `The local Monitoring API emulates only ListTimeSeries of ${REQUEST_COUNT} and ${REQUEST_LATENCIES} ` +
  '(resource cloud_run_revision), from the requests the local Cloud Run served.';

/** The local Cloud Monitoring API. */
export class MonitoringEmulator extends GrpcEmulator {
  constructor(private readonly opts: MonitoringEmulatorOptions) {
    super();
  }

  protected servedServices(): ServedService[] {
    const handlers: Record<string, UnaryHandler> = {};
    for (const method of protoRoot().lookupService(SERVICE).methodsArray) {
      handlers[method.name] = () => {
        throw new RpcError(Status.UNIMPLEMENTED, `${method.name} is not emulated. ${EMULATED}`);
      };
    }
    handlers.ListTimeSeries = (req) => this.listTimeSeries(req);
    return [{service: SERVICE, handlers}];
  }

  private listTimeSeries(req: PlainMessage): object {
    const name = stringField(req, 'name');
    const project = /^projects\/([^/]+)$/.exec(name)?.[1];
    if (!project) throw rpc.invalidArgument(`name '${name}' is invalid: expected projects/{project_id}.`);
    const query = parseQuery(req);
    const offset = parsePageToken(stringField(req, 'pageToken'));
    const pageSize = Math.min(numberField(req, 'pageSize') || MAX_PAGE, MAX_PAGE);
    const series = this.series(project, query).map((s) => timeSeriesMessage(s, stringField(req, 'view') !== 'HEADERS'));
    const page = series.slice(offset, offset + pageSize);
    const next = offset + pageSize < series.length ? Buffer.from(String(offset + pageSize)).toString('base64url') : '';
    return {timeSeries: page, nextPageToken: next, unit: series[0]?.unit ?? ''};
  }

  private series(project: string, query: SeriesQuery) {
    // Another project's revisions are not here: it has no series, as it would have none of these.
    if (project !== this.opts.projectId) return [];
    try {
      return timeSeries(this.opts.records(query.startMs, query.endMs), this.opts, query);
    } catch (err) {
      if (err instanceof QueryError) throw rpc.invalidArgument(`${err.message}.`);
      throw err;
    }
  }
}

/** The checked query of a ListTimeSeriesRequest; INVALID_ARGUMENT naming what is wrong or not emulated. */
export function parseQuery(req: PlainMessage): SeriesQuery {
  const bad = (message: string) => rpc.invalidArgument(message);
  let filter;
  try {
    filter = parseFilter(stringField(req, 'filter'));
  } catch (err) {
    if (err instanceof FilterError) throw bad(`filter: ${err.message}.`);
    throw err;
  }
  if (filter.metricType !== REQUEST_COUNT && filter.metricType !== REQUEST_LATENCIES) {
    throw bad(`filter: metric.type "${filter.metricType}" is not emulated. ${EMULATED}`);
  }
  const interval = messageField(req, 'interval');
  const end = interval && messageField(interval, 'endTime');
  if (!end) throw bad('interval.endTime is required.');
  const start = messageField(interval, 'startTime');
  const endMs = millis(end);
  const startMs = start ? millis(start) : endMs;
  if (startMs > endMs) throw bad('interval.startTime must not be later than interval.endTime.');
  const aggregation = messageField(req, 'aggregation') ?? {};
  const aligner = enumOf(aggregation, 'perSeriesAligner', ALIGNERS, 'ALIGN_NONE');
  const reducer = enumOf(aggregation, 'crossSeriesReducer', REDUCERS, 'REDUCE_NONE');
  const period = messageField(aggregation, 'alignmentPeriod');
  const periodMs = period ? numberField(period, 'seconds') * 1000 + numberField(period, 'nanos') / 1e6 : undefined;
  if (aligner !== 'ALIGN_NONE') {
    if (periodMs === undefined) throw bad(`aggregation.alignmentPeriod is required with perSeriesAligner ${aligner}.`);
    if (periodMs < 60_000) throw bad(`aggregation.alignmentPeriod must be at least 60 seconds, not ${periodMs / 1000}s.`);
  }
  if (reducer !== 'REDUCE_NONE' && aligner === 'ALIGN_NONE') {
    throw bad(`aggregation.crossSeriesReducer ${reducer} needs a perSeriesAligner other than ALIGN_NONE, and an alignmentPeriod.`);
  }
  let groupBy;
  try {
    // As in Cloud Monitoring, groupByFields is ignored without a reducer.
    groupBy = reducer === 'REDUCE_NONE' ? [] : stringList(aggregation, 'groupByFields').map(parseField);
  } catch (err) {
    if (err instanceof FilterError) throw bad(`aggregation.groupByFields: ${err.message}.`);
    throw err;
  }
  if (stringField(req, 'orderBy')) throw bad('orderBy is not emulated: leave it empty.');
  const secondary = messageField(req, 'secondaryAggregation');
  if (secondary && Object.keys(secondary).length > 0) throw bad('secondaryAggregation is not emulated: leave it unset.');
  return {metricType: filter.metricType, terms: filter.terms, startMs, endMs, aligner, periodMs, reducer, groupBy};
}

function millis(ts: PlainMessage): number {
  return numberField(ts, 'seconds') * 1000 + numberField(ts, 'nanos') / 1e6;
}

function enumOf<T extends string>(message: PlainMessage, key: string, known: readonly T[], unset: T): T {
  const value = stringField(message, key) || unset;
  if (!(known as readonly string[]).includes(value)) {
    throw rpc.invalidArgument(`aggregation.${key} ${value} is not emulated; the local Monitoring API has ${known.join(', ')}.`);
  }
  return value as T;
}

function parsePageToken(token: string): number {
  if (!token) return 0;
  const offset = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isSafeInteger(offset) || offset < 0) throw rpc.invalidArgument(`pageToken '${token}' is not one this API returned.`);
  return offset;
}
