/**
 * A local Cloud Logging API (`google.logging.v2.LoggingServiceV2`, ListLogEntries only) over the
 * local builder's build logs, so `gcloud builds log` prints the log of a build that logs to Cloud
 * Logging (`options.logging: CLOUD_LOGGING_ONLY`, as builds with a build service account do):
 * one entry per line in log `projects/P/logs/cloudbuild`, resource `build` with its build_id.
 */
import {GrpcEmulator, type ServedService} from '../grpc/emulator-server';
import {numberField, stringField, stringList} from '../grpc/fields';
import type {PlainMessage} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';
import {timestamp, timestampJson, type Timestamp} from '../grpc/time';
import {logFilter, type FilterableEntry} from './log-filter';

/** A build whose log the emulator serves. */
export interface LoggedBuild {
  id: string;
  projectId: string;
  /** When its log started (the build's startTime, else createTime). */
  startTime: Timestamp;
  /** The log text so far. */
  text: string;
}

/** Options of {@link LoggingEmulator}. */
export interface LoggingEmulatorOptions {
  /** The builds that have a log; only build `id` when the filter names one (so one log is read, not all). */
  builds: (id?: string) => LoggedBuild[];
}

const MAX_PAGE = 1000;

/** The log entries of one build: one per line, a microsecond apart so they keep their order. */
export function buildLogEntries(build: LoggedBuild): Array<FilterableEntry & {textPayload: string; insertId: string}> {
  const start = Number(build.startTime.seconds) * 1000 + Math.floor(build.startTime.nanos / 1e6);
  const lines = build.text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line, i) => {
    const ts = timestamp(start);
    const nanos = ts.nanos + i * 1000;
    const at = {seconds: String(Number(ts.seconds) + Math.floor(nanos / 1e9)), nanos: nanos % 1e9};
    return {
      logName: `projects/${build.projectId}/logs/cloudbuild`,
      resource: {type: 'build', labels: {build_id: build.id, project_id: build.projectId}},
      timestamp: timestampJson(at),
      severity: 'INFO',
      textPayload: line,
      insertId: `${build.id}-${String(i).padStart(6, '0')}`,
    };
  });
}

/** The local Cloud Logging API: build logs, read by ListLogEntries. */
export class LoggingEmulator extends GrpcEmulator {
  constructor(private readonly opts: LoggingEmulatorOptions) {
    super();
  }

  protected servedServices(): ServedService[] {
    return [{service: 'google.logging.v2.LoggingServiceV2', handlers: {ListLogEntries: (req) => this.list(req)}}];
  }

  private list(req: PlainMessage): object {
    const projects = stringList(req, 'resourceNames').map((n) => /^projects\/([^/]+)$/.exec(n)?.[1]);
    if (!projects.length || projects.some((p) => !p)) {
      throw rpc.invalidArgument('resourceNames must name at least one project, as projects/PROJECT_ID');
    }
    const filter = stringField(req, 'filter');
    const matches = logFilter(filter);
    const onlyBuild = /(?:^|\sAND\s)\s*resource\.labels\.build_id\s*=\s*"([^"\\]+)"/.exec(filter)?.[1];
    const order = stringField(req, 'orderBy').trim().toLowerCase() || 'timestamp asc';
    if (order !== 'timestamp asc' && order !== 'timestamp desc')
      throw rpc.invalidArgument(`orderBy must be "timestamp asc" or "timestamp desc", not "${order}"`);
    const entries = this.opts
      .builds(onlyBuild)
      .filter((b) => projects.includes(b.projectId))
      .flatMap(buildLogEntries)
      .filter(matches)
      .sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || (a.insertId < b.insertId ? -1 : 1));
    if (order === 'timestamp desc') entries.reverse();
    const size = Math.min(numberField(req, 'pageSize') || 50, MAX_PAGE);
    const offset = Number(stringField(req, 'pageToken') || '0');
    if (!Number.isInteger(offset) || offset < 0) throw rpc.invalidArgument('invalid pageToken');
    const page = entries.slice(offset, offset + size).map(({timestamp: ts, ...e}) => ({...e, timestamp: parseTime(ts)}));
    return {entries: page, nextPageToken: offset + size < entries.length ? String(offset + size) : ''};
  }
}

function parseTime(rfc3339: string): Timestamp {
  const ms = Date.parse(rfc3339);
  const nanos = Number((/\.(\d+)Z$/.exec(rfc3339)?.[1] ?? '0').padEnd(9, '0'));
  return {seconds: String(Math.floor(ms / 1000)), nanos};
}
