/**
 * The part of the Cloud Logging filter language that reading a build's log uses: terms joined
 * by AND, each `field="value"` or `field>="value"` (what `gcloud builds log` sends:
 * `logName="projects/P/logs/cloudbuild" AND resource.type="build" AND timestamp>="…" AND
 * resource.labels.build_id="…"`). Anything else is INVALID_ARGUMENT, not a silent match. Pure.
 */
import {rpc} from '../grpc/rpc-error';

/** A log entry as far as a filter can see it. */
export interface FilterableEntry {
  logName: string;
  resource: {type: string; labels: Record<string, string>};
  /** RFC 3339, UTC. */
  timestamp: string;
  severity?: string;
}

type Read = (e: FilterableEntry) => string | undefined;

const FIELDS: Record<string, Read> = {
  logName: (e) => e.logName,
  'resource.type': (e) => e.resource.type,
  timestamp: (e) => e.timestamp,
  severity: (e) => e.severity,
};

function reader(field: string): Read | undefined {
  const label = /^resource\.labels\.([A-Za-z0-9_]+)$/.exec(field)?.[1];
  return label ? (e) => e.resource.labels[label] : FIELDS[field];
}

/** RFC 3339 times compare as instants; other values as text. */
function compare(a: string, b: string, field: string): number {
  if (field === 'timestamp') return Date.parse(a) - Date.parse(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

const OPS: Record<string, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '!=': (c) => c !== 0,
  '>=': (c) => c >= 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '<': (c) => c < 0,
};

/** A predicate for `filter` (empty: everything). */
export function logFilter(filter: string): (entry: FilterableEntry) => boolean {
  const text = filter.trim();
  if (!text) return () => true;
  const checks = text.split(/\s+AND\s+/).map((term) => {
    const m = /^\s*([A-Za-z_.]+)\s*(>=|<=|!=|=|>|<)\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/.exec(term);
    const read = m && reader(m[1]);
    if (!m || !read) {
      throw rpc.invalidArgument(`unsupported filter term: ${term} (the local Cloud Logging reads field="value" terms joined by AND)`);
    }
    const [, field, op, quoted, bare] = m;
    const want = quoted?.replace(/\\(.)/g, '$1') ?? bare;
    if (field === 'timestamp' && Number.isNaN(Date.parse(want))) throw rpc.invalidArgument(`invalid timestamp in filter: ${want}`);
    return (e: FilterableEntry) => {
      const got = read(e);
      return got !== undefined && OPS[op](compare(got, want, field));
    };
  });
  return (e) => checks.every((check) => check(e));
}
