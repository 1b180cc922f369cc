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

/** Where a service runs: a Cloud Run region, in the controller's own project unless `project` names another. */
export interface TargetSpec {
  region: string;
  project?: string;
}

/** How several targets are deployed: one after the other (stopping at a failure), or all at once. */
export type TargetOrder = 'sequential' | 'parallel';

/** What a failure in one target does to the targets already updated: they keep the new digest, or go back. */
export type TargetFailure = 'keep' | 'rollback';

/** A rollout policy, as stored, shown by the API and set by the CLI. */
export interface RolloutPolicy {
  strategy: Strategy;
  /** Canary traffic percents, rising, ending at 100 (`[10, 50, 100]`). */
  steps: number[];
  /** Time between canary steps, a Google JSON Duration (`"300s"`). */
  interval: string;
  check: HealthCheck;
  thresholds: Thresholds;
  /**
   * The regions (and projects) the service runs in, the primary first; empty: the controller's
   * own region and project only. One build; the same digest goes to each.
   */
  targets: TargetSpec[];
  targetOrder: TargetOrder;
  onTargetFailure: TargetFailure;
}

/** The built-in default: `immediate`, with the other fields ready for a switch to `canary`. */
export const DEFAULT_POLICY: RolloutPolicy = {
  strategy: 'immediate',
  steps: [10, 50, 100],
  interval: '300s',
  check: {path: '/', expectStatus: 200, timeout: '5s', attempts: 3},
  thresholds: {max5xxRatio: 0.01, p99Ms: 1000, minRequests: 50},
  targets: [],
  targetOrder: 'sequential',
  onTargetFailure: 'keep',
};

/**
 * The policy fields an upload's own override (object metadata) may not set: where a service runs
 * is for who may change its policy, not for who may write to the bucket.
 */
export const SERVICE_ONLY_FIELDS = ['targets', 'targetOrder', 'onTargetFailure'] as const;

/** The target orders. */
export const TARGET_ORDERS: readonly TargetOrder[] = ['sequential', 'parallel'];
/** What a target failure may do. */
export const TARGET_FAILURES: readonly TargetFailure[] = ['keep', 'rollback'];

/** The strategies, in order of caution. */
export const STRATEGIES: readonly Strategy[] = ['immediate', 'verified', 'canary'];

/**
 * A policy with any field left out, at any depth: what a configured default, an upload's
 * metadata and a PATCH body give. Merged over a whole policy by `mergePolicy`.
 */
export interface PartialPolicy {
  strategy?: Strategy;
  steps?: number[];
  interval?: string;
  check?: Partial<HealthCheck>;
  thresholds?: Partial<Thresholds>;
  targets?: TargetSpec[];
  targetOrder?: TargetOrder;
  onTargetFailure?: TargetFailure;
}

/** One problem with a policy, named by its field path (`check.timeout`, `steps[2]`). */
export interface PolicyProblem {
  field: string;
  problem: string;
}

/** The limits the validation enforces (the CLI's help and the README quote them). */
export const POLICY_LIMITS = {
  maxSteps: 10,
  intervalMs: {min: 1_000, max: 86_400_000},
  timeoutMs: {min: 1, max: 60_000},
  maxPathLength: 1024,
  status: {min: 100, max: 599},
  attempts: {min: 1, max: 10},
  maxP99Ms: 3_600_000,
  maxMinRequests: 1_000_000_000,
  maxTargets: 10,
} as const;

/** A Cloud Run region id (`us-central1`, `europe-west1`, `northamerica-northeast2`). */
export const REGION_RE = /^[a-z]{2,}(?:-[a-z]+)+[0-9]{1,2}$/;
/** A Google Cloud project id: 6 to 30 lowercase letters, digits and hyphens, a letter first, no hyphen last. */
export const PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Google's JSON `Duration`: seconds, up to nine fractional digits, and `s` (`"300s"`, `"1.5s"`). */
const DURATION_RE = /^(\d{1,12})(?:\.(\d{1,9}))?s$/;

/** True when `value` is a Google JSON Duration string (non-negative). */
export function isDuration(value: unknown): value is string {
  return typeof value === 'string' && DURATION_RE.test(value);
}

/** The milliseconds of a Google JSON Duration (`"1.5s"` → 1500); throws a RangeError for anything else. */
export function durationMs(duration: string): number {
  const m = DURATION_RE.exec(duration);
  if (!m) throw new RangeError(`"${duration}" is not a Google JSON Duration such as "300s" or "1.5s"`);
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(9, '0')) / 1e6;
}

/** The shortest Google JSON Duration of `ms` milliseconds (`300000` → `"300s"`, `1500` → `"1.5s"`). */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  if (!nanos) return `${seconds}s`;
  return `${seconds}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}s`;
}

const FIELDS: Record<string, readonly string[]> = {
  '': ['strategy', 'steps', 'interval', 'check', 'thresholds', 'targets', 'targetOrder', 'onTargetFailure'],
  check: ['path', 'expectStatus', 'timeout', 'attempts'],
  thresholds: ['max5xxRatio', 'p99Ms', 'minRequests'],
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? String(v);

function fieldsOf(o: Record<string, unknown>, group: string, problems: PolicyProblem[]): void {
  const allowed = FIELDS[group];
  const prefix = group ? `${group}.` : '';
  for (const k of Object.keys(o))
    if (!allowed.includes(k))
      problems.push({field: prefix + k, problem: `is not a policy field; allowed: ${allowed.map((a) => prefix + a).join(', ')}`});
}

function integerIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function stepsProblems(v: unknown): PolicyProblem[] {
  const max = POLICY_LIMITS.maxSteps;
  if (!Array.isArray(v) || v.length === 0 || v.length > max)
    return [{field: 'steps', problem: `must be a list of 1 to ${max} traffic percents ending at 100, e.g. [10, 50, 100]; got ${show(v)}`}];
  const out: PolicyProblem[] = [];
  (v as unknown[]).forEach((s, i) => {
    if (!integerIn(s, 1, 100)) out.push({field: `steps[${i}]`, problem: `must be a whole percent from 1 to 100; got ${show(s)}`});
    else if (i > 0 && typeof v[i - 1] === 'number' && s <= (v[i - 1] as number))
      out.push({field: `steps[${i}]`, problem: `must be above the step before it (${String(v[i - 1])}): steps rise`});
  });
  if (!out.length && v[v.length - 1] !== 100)
    out.push({
      field: `steps[${v.length - 1}]`,
      problem: `the last step must be 100, so the release ends serving all traffic; got ${show(v[v.length - 1])}`,
    });
  return out;
}

function durationProblem(field: string, v: unknown, limits: {min: number; max: number}, example: string): PolicyProblem[] {
  if (!isDuration(v))
    return [{field, problem: `must be a Google JSON Duration: seconds with up to 9 decimals and "s", e.g. "${example}"; got ${show(v)}`}];
  const ms = durationMs(v);
  if (ms < limits.min || ms > limits.max)
    return [{field, problem: `must be from ${formatDuration(limits.min)} to ${formatDuration(limits.max)}; got "${v}"`}];
  return [];
}

function checkProblems(v: unknown): PolicyProblem[] {
  if (!isObject(v)) return [{field: 'check', problem: 'must be a JSON object such as {"path": "/healthz"}'}];
  const out: PolicyProblem[] = [];
  fieldsOf(v, 'check', out);
  const L = POLICY_LIMITS;
  // `//host/x` and `/\host/x` are URLs of another host to a URL parser: the check (and its ID
  // token) must only ever go to the revision's own URL.
  if (
    'path' in v &&
    (typeof v.path !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(v.path) || v.path.includes('\\') || v.path.length > L.maxPathLength)
  )
    out.push({
      field: 'check.path',
      problem: `must be a URL path starting with one "/" (visible ASCII, no "\\", at most ${L.maxPathLength} characters), e.g. "/healthz"; got ${show(v.path)}`,
    });
  if ('expectStatus' in v && !integerIn(v.expectStatus, L.status.min, L.status.max))
    out.push({
      field: 'check.expectStatus',
      problem: `must be an HTTP status code from ${L.status.min} to ${L.status.max}; got ${show(v.expectStatus)}`,
    });
  if ('timeout' in v) out.push(...durationProblem('check.timeout', v.timeout, L.timeoutMs, '5s'));
  if ('attempts' in v && !integerIn(v.attempts, L.attempts.min, L.attempts.max))
    out.push({
      field: 'check.attempts',
      problem: `must be a whole number from ${L.attempts.min} to ${L.attempts.max}; got ${show(v.attempts)}`,
    });
  return out;
}

function thresholdProblems(v: unknown): PolicyProblem[] {
  if (!isObject(v)) return [{field: 'thresholds', problem: 'must be a JSON object such as {"max5xxRatio": 0.01}'}];
  const out: PolicyProblem[] = [];
  fieldsOf(v, 'thresholds', out);
  const L = POLICY_LIMITS;
  const r = v.max5xxRatio;
  if ('max5xxRatio' in v && (typeof r !== 'number' || !Number.isFinite(r) || r < 0 || r > 1))
    out.push({field: 'thresholds.max5xxRatio', problem: `must be a ratio from 0 to 1 (0.01 = 1 %); got ${show(r)}`});
  const p = v.p99Ms;
  if ('p99Ms' in v && (typeof p !== 'number' || !Number.isFinite(p) || p <= 0 || p > L.maxP99Ms))
    out.push({field: 'thresholds.p99Ms', problem: `must be milliseconds above 0, at most ${L.maxP99Ms}; got ${show(p)}`});
  if ('minRequests' in v && !integerIn(v.minRequests, 0, L.maxMinRequests))
    out.push({
      field: 'thresholds.minRequests',
      problem: `must be a whole number from 0 to ${L.maxMinRequests}; got ${show(v.minRequests)}`,
    });
  return out;
}

function targetsProblems(v: unknown): PolicyProblem[] {
  const max = POLICY_LIMITS.maxTargets;
  if (!Array.isArray(v) || v.length > max)
    return [
      {
        field: 'targets',
        problem: `must be a list of at most ${max} targets such as [{"region": "us-central1"}, {"region": "europe-west1", "project": "my-project"}] ([] for the controller's own region only); got ${show(v)}`,
      },
    ];
  const out: PolicyProblem[] = [];
  const seen = new Map<string, number>();
  (v as unknown[]).forEach((t, i) => {
    const field = `targets[${i}]`;
    if (!isObject(t)) {
      out.push({field, problem: `must be a JSON object such as {"region": "europe-west1"}; got ${show(t)}`});
      return;
    }
    for (const k of Object.keys(t))
      if (k !== 'region' && k !== 'project') out.push({field: `${field}.${k}`, problem: 'is not a target field; allowed: region, project'});
    if (typeof t.region !== 'string' || !REGION_RE.test(t.region))
      out.push({field: `${field}.region`, problem: `must be a Cloud Run region such as "europe-west1"; got ${show(t.region)}`});
    if ('project' in t && (typeof t.project !== 'string' || !PROJECT_RE.test(t.project)))
      out.push({
        field: `${field}.project`,
        problem: `must be a project id (6 to 30 lowercase letters, digits and hyphens, a letter first); got ${show(t.project)}`,
      });
    const key = JSON.stringify([t.project ?? null, t.region]);
    const before = seen.get(key);
    if (before !== undefined) out.push({field, problem: `names the same region and project as targets[${before}]: list each target once`});
    else seen.set(key, i);
  });
  return out;
}

function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): PolicyProblem[] {
  return (allowed as readonly unknown[]).includes(v) ? [] : [{field, problem: `must be one of ${allowed.join(', ')}; got ${show(v)}`}];
}

/**
 * Checks a policy given as JSON, every field optional (a whole policy passes too): every
 * problem at once, each named by its field path.
 */
export function validatePolicy(value: unknown): {ok: true; policy: PartialPolicy} | {ok: false; problems: PolicyProblem[]} {
  if (!isObject(value))
    return {ok: false, problems: [{field: 'policy', problem: `must be a JSON object such as {"strategy": "canary"}; got ${show(value)}`}]};
  const problems: PolicyProblem[] = [];
  fieldsOf(value, '', problems);
  if ('strategy' in value && !(STRATEGIES as readonly unknown[]).includes(value.strategy))
    problems.push({field: 'strategy', problem: `must be one of ${STRATEGIES.join(', ')}; got ${show(value.strategy)}`});
  if ('steps' in value) problems.push(...stepsProblems(value.steps));
  if ('interval' in value) problems.push(...durationProblem('interval', value.interval, POLICY_LIMITS.intervalMs, '300s'));
  if ('check' in value) problems.push(...checkProblems(value.check));
  if ('thresholds' in value) problems.push(...thresholdProblems(value.thresholds));
  if ('targets' in value) problems.push(...targetsProblems(value.targets));
  if ('targetOrder' in value) problems.push(...oneOf('targetOrder', value.targetOrder, TARGET_ORDERS));
  if ('onTargetFailure' in value) problems.push(...oneOf('onTargetFailure', value.onTargetFailure, TARGET_FAILURES));
  return problems.length ? {ok: false, problems} : {ok: true, policy: value};
}

/** Problems as one line: `check.timeout: must be …; steps[2]: …`. */
export function describeProblems(problems: PolicyProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
}

/**
 * A policy written as text (configuration, object metadata): a strategy name alone
 * (`canary`), or a JSON policy, possibly partial.
 */
export function parsePolicyText(text: string): {ok: true; policy: PartialPolicy} | {ok: false; problems: PolicyProblem[]} {
  const t = text.trim();
  if ((STRATEGIES as readonly string[]).includes(t)) return {ok: true, policy: {strategy: t as Strategy}};
  if (!t.startsWith('{'))
    return {
      ok: false,
      problems: [
        {
          field: 'policy',
          problem: `is "${t.slice(0, 40)}", neither a strategy (${STRATEGIES.join(', ')}) nor a JSON policy such as {"strategy": "canary", "steps": [10, 100]}`,
        },
      ],
    };
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch (e) {
    return {ok: false, problems: [{field: 'policy', problem: `is not valid JSON (${(e as Error).message})`}]};
  }
  return validatePolicy(value);
}
