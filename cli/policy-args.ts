/**
 * The flags of `dropdeploy policy <service>`: each sets one field of the rollout policy, so the
 * PATCH names exactly those fields in its update mask. Pure. Values are checked here, by the
 * controller's own rules (src/releases/rollout-policy.ts), before any request is made.
 */
import {UsageError} from './errors';
import {usageOf} from './syntax';
import {
  formatDuration,
  STRATEGIES,
  TARGET_FAILURES,
  TARGET_ORDERS,
  validatePolicy,
  type PartialPolicy,
  type TargetSpec,
} from '../src/releases/rollout-policy';

/** A change to a service's rollout policy, as `PATCH …/policy?updateMask=…` takes it. */
export interface PolicyChangeArgs {
  body: PartialPolicy;
  /** The field paths the flags set, in the order of {@link POLICY_FLAGS}. */
  mask: string[];
}

type Parse = (raw: string) => unknown;

/** One flag: its commander key, the policy field it sets, how its value is read, what it takes. */
export interface PolicyFlag {
  flag: string;
  key: string;
  field: string;
  parse: Parse;
  accepts: string;
}

const number: Parse = (raw) => (/^-?(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(raw.trim()) ? Number(raw) : raw);
const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000};

/**
 * A duration as a person writes it (`300s`, `5m`, `1h30m`, `1.5s`, `500ms`) as Google's JSON
 * Duration (`"300s"`); anything else is handed on unchanged, for the check to name.
 */
export function parseHumanDuration(raw: string): string {
  const t = raw.trim();
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(t)) return raw;
  let ms = 0;
  for (const [, n, , unit] of t.matchAll(/(\d+(\.\d+)?)(ms|h|m|s)/g)) ms += Number(n) * UNITS[unit];
  return formatDuration(ms);
}

/**
 * Targets as a person writes them: `us-central1,europe-west1@other-project` (a region, and a
 * project after `@` when not the controller's); `default` for the controller's own region only.
 */
export function parseTargets(raw: string): TargetSpec[] | string {
  const t = raw.trim();
  if (t === 'default') return [];
  const out: TargetSpec[] = [];
  for (const part of t.split(',').map((p) => p.trim())) {
    const m = /^([^@\s]+)(?:@([^@\s]+))?$/.exec(part);
    if (!m) return raw;
    out.push(m[2] ? {region: m[1], project: m[2]} : {region: m[1]});
  }
  return out;
}

/** The flags, in the order help lists them. */
export const POLICY_FLAGS: PolicyFlag[] = [
  {flag: '--strategy', key: 'strategy', field: 'strategy', parse: (r) => r.trim(), accepts: `one of ${STRATEGIES.join(', ')}`},
  {
    flag: '--steps',
    key: 'steps',
    field: 'steps',
    parse: (r) => r.split(',').map((s) => number(s.trim())),
    accepts: 'rising percents ending at 100, comma-separated, e.g. 10,50,100',
  },
  {
    flag: '--interval',
    key: 'interval',
    field: 'interval',
    parse: parseHumanDuration,
    accepts: 'a duration from 1s to 24h, e.g. 300s, 5m, 1h30m',
  },
  {flag: '--check-path', key: 'checkPath', field: 'check.path', parse: (r) => r, accepts: 'a URL path starting with /, e.g. /healthz'},
  {flag: '--check-status', key: 'checkStatus', field: 'check.expectStatus', parse: number, accepts: 'an HTTP status from 100 to 599'},
  {
    flag: '--check-timeout',
    key: 'checkTimeout',
    field: 'check.timeout',
    parse: parseHumanDuration,
    accepts: 'a duration from 1ms to 60s, e.g. 5s, 500ms',
  },
  {flag: '--check-attempts', key: 'checkAttempts', field: 'check.attempts', parse: number, accepts: 'a whole number from 1 to 10'},
  {
    flag: '--max-5xx-ratio',
    key: 'max5xxRatio',
    field: 'thresholds.max5xxRatio',
    parse: number,
    accepts: 'a ratio from 0 to 1, e.g. 0.01 (1 %)',
  },
  {flag: '--p99-ms', key: 'p99Ms', field: 'thresholds.p99Ms', parse: number, accepts: 'milliseconds above 0, e.g. 1000'},
  {flag: '--min-requests', key: 'minRequests', field: 'thresholds.minRequests', parse: number, accepts: 'a whole number, 0 or more'},
  {
    flag: '--targets',
    key: 'targets',
    field: 'targets',
    parse: parseTargets,
    accepts:
      "regions, the controller's own first, comma-separated, each with @PROJECT when in another project, e.g. us-central1,europe-west1,asia-east1@other-project; or default (the controller's region only)",
  },
  {flag: '--target-order', key: 'targetOrder', field: 'targetOrder', parse: (r) => r.trim(), accepts: `one of ${TARGET_ORDERS.join(', ')}`},
  {
    flag: '--on-target-failure',
    key: 'onTargetFailure',
    field: 'onTargetFailure',
    parse: (r) => r.trim(),
    accepts: `one of ${TARGET_FAILURES.join(', ')}`,
  },
];

function refuse(message: string): UsageError {
  return new UsageError(`policy: ${message}`, usageOf('policy'));
}

/** The change the flags in `opts` (commander's values, by key) ask for, or undefined to show; throws {@link UsageError}. */
export function parsePolicyFlags(opts: Record<string, unknown>): PolicyChangeArgs | undefined {
  const body: Record<string, unknown> = {};
  const mask: string[] = [];
  for (const f of POLICY_FLAGS) {
    const raw = opts[f.key];
    if (raw === undefined) continue;
    if (typeof raw !== 'string' || raw === '' || raw.startsWith('--')) throw refuse(`${f.flag} needs a value: ${f.accepts}`);
    const value = f.parse(raw);
    const [a, b] = f.field.split('.');
    const one = b === undefined ? {[a]: value} : {[a]: {[b]: value}};
    const checked = validatePolicy(one);
    if (!checked.ok) {
      const p = checked.problems[0];
      // Steps and targets are checked one by one: say which; every other flag is one value.
      throw refuse(
        p.field.startsWith('steps[') || p.field.startsWith('targets[')
          ? `${f.flag} "${raw}": ${p.field} ${p.problem.replace(/; got .*$/, '')}; give ${f.accepts}`
          : `${f.flag} "${raw}" is not ${f.accepts}`,
      );
    }
    if (b === undefined) body[a] = value;
    else body[a] = {...(body[a] as object | undefined), [b]: value};
    mask.push(f.field);
  }
  return mask.length ? {body: body, mask} : undefined;
}
