/**
 * Structured logging in Cloud Logging's JSON format (one line per entry on stdout), or a
 * readable line on a terminal. This is the only place that writes log output.
 */

/** Cloud Logging severities used by dropdeploy. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/** Labels attached to entries: service, release, bucket, object, generation, buildId … */
export type Labels = Record<string, string | number | undefined>;

/** Where entries go and how they look. */
export interface LogSink {
  format: 'json' | 'pretty';
  write(line: string): void;
}

/** A sink that writes to stdout in `format`. */
export function stdoutSink(format: LogSink['format']): LogSink {
  return {format, write: (line) => process.stdout.write(line + '\n')};
}

/** A logger bound to a trace and a set of labels. */
export class Logger {
  constructor(
    private readonly sink: LogSink = stdoutSink('json'),
    private readonly labels: Labels = {},
    private readonly trace?: string,
  ) {}

  /** A logger with more labels (later values win). */
  with(labels: Labels): Logger {
    return new Logger(this.sink, {...this.labels, ...labels}, this.trace);
  }

  /** A logger that tags entries with a Cloud Trace id (`projects/P/traces/ID`). */
  withTrace(trace: string | undefined): Logger {
    return new Logger(this.sink, this.labels, trace);
  }

  debug(message: string, fields?: Record<string, unknown>): void { this.log('DEBUG', message, fields); }
  info(message: string, fields?: Record<string, unknown>): void { this.log('INFO', message, fields); }
  notice(message: string, fields?: Record<string, unknown>): void { this.log('NOTICE', message, fields); }
  warn(message: string, fields?: Record<string, unknown>): void { this.log('WARNING', message, fields); }
  error(message: string, fields?: Record<string, unknown>): void { this.log('ERROR', message, fields); }

  private log(severity: Severity, message: string, fields: Record<string, unknown> = {}): void {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.labels)) if (v !== undefined) labels[k] = String(v);
    if (this.sink.format === 'pretty') {
      const tags = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ');
      const extra = Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
      this.sink.write(`${severity.padEnd(7)} ${message}${tags ? `  [${tags}]` : ''}${extra}`);
      return;
    }
    const entry: Record<string, unknown> = {severity, message, ...fields};
    if (Object.keys(labels).length) entry['logging.googleapis.com/labels'] = labels;
    if (this.trace) entry['logging.googleapis.com/trace'] = this.trace;
    this.sink.write(JSON.stringify(entry));
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
