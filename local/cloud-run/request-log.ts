/**
 * What the local Cloud Run's router saw of each request that reached a revision, kept for the
 * local Monitoring API (request_count, request_latencies). Bounded: records older than the
 * retention, or beyond the cap, are dropped oldest first.
 */

/** One request that a revision answered (or failed to answer: 502). */
export interface RequestRecord {
  /** Service id. */
  service: string;
  /** The service's project and region, when the router knows it by them. */
  project?: string;
  location?: string;
  /** Revision id. */
  revision: string;
  /** The response status code (101 for a WebSocket that was opened). */
  status: number;
  /**
   * From the router receiving the request to the end of its response (a WebSocket: to its close),
   * starting the revision again included, as Cloud Run's request_latencies counts a request.
   */
  latencyMs: number;
  /** When the response ended, ms since the epoch. */
  at: number;
}

/** Options of {@link RequestLog}. */
export interface RequestLogOptions {
  /** How long records are kept; default 1 hour (Cloud Monitoring keeps weeks, a canary looks at minutes). */
  retentionMs?: number;
  /** At most this many records; default 100 000 (about 10 MB). */
  maxRecords?: number;
  /** The clock; default Date.now. */
  now?: () => number;
}

/** A bounded, time-ordered log of {@link RequestRecord}s. */
export class RequestLog {
  private records: RequestRecord[] = [];
  private readonly retentionMs: number;
  private readonly maxRecords: number;
  private readonly now: () => number;

  constructor(opts: RequestLogOptions = {}) {
    this.retentionMs = opts.retentionMs ?? 3_600_000;
    this.maxRecords = opts.maxRecords ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Adds a record (it may arrive slightly out of order: responses end in any order). */
  add(record: RequestRecord): void {
    this.records.push(record);
    // Pruning in batches keeps add() O(1) amortised.
    if (this.records.length > this.maxRecords * 1.1 || this.records.length % 1024 === 0) this.prune();
  }

  /** The records kept, those that ended in (`from`, `to`] (ms since the epoch), in no set order. */
  between(from: number, to: number): RequestRecord[] {
    this.prune();
    return this.records.filter((r) => r.at > from && r.at <= to);
  }

  private prune(): void {
    const oldest = this.now() - this.retentionMs;
    let drop = Math.max(0, this.records.length - this.maxRecords);
    while (drop < this.records.length && this.records[drop].at < oldest) drop++;
    if (drop > 0) this.records = this.records.slice(drop);
  }
}
