/**
 * Structured logging with pino, in Cloud Logging's structured-logging format: one JSON line per
 * entry on stdout with `severity`, `message`, `timestamp` {seconds, nanos}, labels, trace and a
 * monotonic `insertId` — the fields Google's `@google-cloud/pino-logging-gcp-config` writes
 * (test/log.test.ts holds the two side by side). That package itself is not loaded here: it
 * imports `@google-cloud/logging` and a second google-gax, ~350 ms and ~600 modules at every
 * cold start (README "Dependencies"). This is the only place that writes log output.
 */
import {randomBytes} from 'node:crypto';
import {pino, type Logger as Pino} from 'pino';

/** Cloud Logging severities used by dropdeploy. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/** Labels attached to entries: service, release, bucket, object, generation, buildId … */
export type Labels = Record<string, string | number | undefined>;

/** Where entries go and how they look. `write` gets one entry, without the newline. */
export interface LogSink {
  format: 'json' | 'pretty';
  write(line: string): void;
}

/** A sink that writes to stdout in `format`. */
export function stdoutSink(format: LogSink['format']): LogSink {
  return {format, write: (line) => process.stdout.write(line + '\n')};
}

/** pino's level names → Cloud Logging's severities; `notice` is a custom pino level. */
const SEVERITY: Record<string, Severity> = {debug: 'DEBUG', info: 'INFO', notice: 'NOTICE', warn: 'WARNING', error: 'ERROR'};
const LEVELS = {notice: 35};

export const LABELS_KEY = 'logging.googleapis.com/labels';
export const TRACE_KEY = 'logging.googleapis.com/trace';
const INSERT_ID_KEY = 'logging.googleapis.com/insertId';

/** Cloud Logging's timestamp as a JSON fragment (pino's `timestamp` option). */
export function gcpTimestamp(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `,"timestamp":{"seconds":${seconds},"nanos":${Math.round(ms - seconds * 1000) * 1_000_000}}`;
}

/**
 * insertIds unique per process and increasing, so entries of one millisecond keep their order
 * in Cloud Logging (it sorts by timestamp, then insertId).
 */
function insertIds(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let n = 0;
  return () => `${prefix}-${(++n).toString(36).padStart(10, '0')}`;
}

/** Renders JSON entries for a terminal with pino-pretty (a dev dependency, loaded only here). */
export function prettyPrinter(colorize = false): (entry: string) => string {
  let pretty: typeof import('pino-pretty');
  try {
    // Synchronous and optional: pino-pretty is a dev dependency, absent from a deployed function.
    pretty = require('pino-pretty') as typeof import('pino-pretty');
  } catch {
    throw new Error(
      'DROPDEPLOY_LOG_FORMAT=pretty needs the pino-pretty package (a dev dependency): run `npm install`, or set DROPDEPLOY_LOG_FORMAT=json',
    );
  }
  // pino-pretty reads dots in `ignore` as paths; Cloud Logging's keys have dots of their own.
  const escape = (key: string) => key.replace(/\./g, '\\.');
  const format = pretty.prettyFactory({
    colorize,
    messageKey: 'message',
    customLevels: 'debug:20,info:30,notice:35,warn:40,error:50',
    useOnlyCustomProps: false,
    ignore: ['severity', 'timestamp', INSERT_ID_KEY, TRACE_KEY, LABELS_KEY].map(escape).join(','),
    singleLine: true,
    // Labels as `[service=hello release=2]` after the message.
    messageFormat: (entry, key) => {
      const labels = Object.entries((entry[LABELS_KEY] ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      return `${String(entry[key])}${labels ? `  [${labels}]` : ''}`;
    },
  });
  return (entry) => format(entry).replace(/\n$/, '');
}

function rootLogger(sink: LogSink): Pino<'notice'> {
  const nextId = insertIds();
  const pretty = sink.format === 'pretty' ? prettyPrinter() : undefined;
  return pino<'notice'>(
    {
      level: 'debug',
      customLevels: LEVELS,
      messageKey: 'message',
      base: undefined,
      timestamp: () => gcpTimestamp(Date.now()),
      formatters: {
        level: (label, level) => ({severity: SEVERITY[label] ?? 'DEFAULT', level}),
        log: (entry) => ({...entry, [INSERT_ID_KEY]: nextId()}),
      },
    },
    {write: (line: string) => sink.write(pretty ? pretty(line) : line.replace(/\n$/, ''))},
  );
}

/** A logger bound to a trace and a set of labels. */
export class Logger {
  private readonly pino: Pino<'notice'>;

  constructor(
    sink: LogSink = stdoutSink('json'),
    private readonly labels: Labels = {},
    private readonly trace?: string,
    private readonly root: Pino<'notice'> = rootLogger(sink),
  ) {
    const bindings: Record<string, unknown> = {};
    const strings: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (v !== undefined) strings[k] = String(v);
    if (Object.keys(strings).length) bindings[LABELS_KEY] = strings;
    if (trace) bindings[TRACE_KEY] = trace;
    this.pino = Object.keys(bindings).length ? root.child(bindings) : root;
  }

  /** A logger with more labels (later values win). */
  with(labels: Labels): Logger {
    return new Logger(undefined, {...this.labels, ...labels}, this.trace, this.root);
  }

  /** A logger that tags entries with a Cloud Trace id (`projects/P/traces/ID`). */
  withTrace(trace: string | undefined): Logger {
    return new Logger(undefined, this.labels, trace, this.root);
  }

  debug(message: string, fields: Record<string, unknown> = {}): void {
    this.pino.debug(fields, message);
  }
  info(message: string, fields: Record<string, unknown> = {}): void {
    this.pino.info(fields, message);
  }
  notice(message: string, fields: Record<string, unknown> = {}): void {
    this.pino.notice(fields, message);
  }
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.pino.warn(fields, message);
  }
  error(message: string, fields: Record<string, unknown> = {}): void {
    this.pino.error(fields, message);
  }
}

/**
 * The Cloud Trace resource name from a W3C `traceparent` (00-TRACEID-SPAN-FLAGS) or an
 * `X-Cloud-Trace-Context` (TRACEID/SPAN;o=1) value, or undefined.
 */
export function traceName(projectId: string, traceparent?: string, cloudTraceContext?: string): string | undefined {
  const w3c = traceparent && /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/i.exec(traceparent.trim());
  const id = w3c ? w3c[1] : cloudTraceContext && /^([\da-f]{32})\//i.exec(cloudTraceContext.trim())?.[1];
  return id ? `projects/${projectId}/traces/${id.toLowerCase()}` : undefined;
}
