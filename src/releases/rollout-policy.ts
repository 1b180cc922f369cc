/**
 * A service's rollout policy: how a release's revision takes traffic. Pure types and
 * defaults; `immediate` is today's behaviour and the default.
 */

/** How a ready revision takes traffic. */
export type Strategy = 'immediate' | 'verified' | 'canary';

/** The HTTP check of a tagged revision's own URL. */
export interface HealthCheck {
  /** The path requested on the revision's tag URL, e.g. `/healthz`. */
  path: string;
  /** The status code that passes. */
  expectStatus: number;
  /** Each attempt's timeout, a Google JSON Duration (`"5s"`). */
  timeout: string;
  /** Attempts before the check fails (a pass on any attempt passes). */
  attempts: number;
}

/** What a canary step's metrics must stay within. */
export interface Thresholds {
  /** Largest share of 5xx answers among the revision's requests (0–1). */
  max5xxRatio: number;
  /** Largest 99th percentile latency, in milliseconds. */
  p99Ms: number;
  /** Requests the revision must have served in a step before its metrics are judged. */
  minRequests: number;
}

/** A rollout policy, as stored, shown by the API and set by the CLI. */
export interface RolloutPolicy {
  strategy: Strategy;
  /** Canary traffic percents, rising, ending at 100 (`[10, 50, 100]`). */
  steps: number[];
  /** Time between canary steps, a Google JSON Duration (`"300s"`). */
  interval: string;
  check: HealthCheck;
  thresholds: Thresholds;
}

/** The built-in default: `immediate`, with the other fields ready for a switch to `canary`. */
export const DEFAULT_POLICY: RolloutPolicy = {
  strategy: 'immediate',
  steps: [10, 50, 100],
  interval: '300s',
  check: {path: '/', expectStatus: 200, timeout: '5s', attempts: 3},
  thresholds: {max5xxRatio: 0.01, p99Ms: 1000, minRequests: 50},
};
