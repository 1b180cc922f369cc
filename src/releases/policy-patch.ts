/**
 * Pure policy arithmetic: which policy applies to a release (configured default ← the
 * service's stored policy ← the upload's override), and a Google-style PATCH with a field
 * mask (AIP-134) over a service's policy.
 */
import {isDeepStrictEqual} from 'node:util';
import {SERVICE_ONLY_FIELDS, validatePolicy, type PartialPolicy, type PolicyProblem, type RolloutPolicy} from './rollout-policy';

/** The fields a PATCH may name, as field-mask paths. */
export const POLICY_FIELDS = [
  'strategy',
  'steps',
  'interval',
  'check.path',
  'check.expectStatus',
  'check.timeout',
  'check.attempts',
  'thresholds.max5xxRatio',
  'thresholds.p99Ms',
  'thresholds.minRequests',
  'targets',
  'targetOrder',
  'onTargetFailure',
] as const;

/** One field-mask path of a policy. */
export type PolicyField = (typeof POLICY_FIELDS)[number];

/** `over`'s fields over `base`'s, the nested `check` and `thresholds` field by field; `steps` as a whole. */
export function mergePolicy(base: RolloutPolicy, over?: PartialPolicy): RolloutPolicy {
  if (!over) return base;
  return {
    strategy: over.strategy ?? base.strategy,
    steps: over.steps ?? base.steps,
    interval: over.interval ?? base.interval,
    check: {...base.check, ...defined(over.check)},
    thresholds: {...base.thresholds, ...defined(over.thresholds)},
    // A policy stored before targets existed lacks them: merged over the configured one, it has the base's.
    targets: over.targets ?? base.targets,
    targetOrder: over.targetOrder ?? base.targetOrder,
    onTargetFailure: over.onTargetFailure ?? base.onTargetFailure,
  };
}

/**
 * The policy a release rolls out with: the configured default (DROPDEPLOY_ROLLOUT_POLICY over
 * the built-in one), under the service's stored policy, under the upload's own override
 * (`Source.rollout`, from object metadata). A stored policy is whole when written, but one
 * stored before a field existed lacks it, so it is merged like the others.
 */
export function effectivePolicy(configured: RolloutPolicy, stored?: PartialPolicy, override?: PartialPolicy): RolloutPolicy {
  // Where a service deploys is never the upload's to say (metadata with these fields is refused at
  // accept time; a release accepted before that still records them, and they are ignored).
  const upload =
    override && Object.fromEntries(Object.entries(override).filter(([k]) => !(SERVICE_ONLY_FIELDS as readonly string[]).includes(k)));
  return mergePolicy(mergePolicy(configured, stored), upload);
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const GROUPS: Record<string, readonly PolicyField[]> = {
  '*': POLICY_FIELDS,
  check: POLICY_FIELDS.filter((f) => f.startsWith('check.')),
  thresholds: POLICY_FIELDS.filter((f) => f.startsWith('thresholds.')),
};

/** `expect_status` → `expectStatus`, `max_5xx_ratio` → `max5xxRatio`: masks may use proto names. */
function camel(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The paths of an `updateMask` (comma-separated; `check` or `thresholds` stands for all their
 * fields, `*` for every field), or the unknown ones named.
 */
export function parseUpdateMask(mask: string): {ok: true; paths: PolicyField[]} | {ok: false; problem: PolicyProblem} {
  const raw = mask
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const unknown = raw.filter((p) => !GROUPS[camel(p)] && !(POLICY_FIELDS as readonly string[]).includes(camel(p)));
  if (unknown.length)
    return {
      ok: false,
      problem: {
        field: 'updateMask',
        problem: `unknown path ${unknown.map((p) => `"${p}"`).join(', ')}; known: ${POLICY_FIELDS.join(', ')}, check, thresholds, *`,
      },
    };
  if (!raw.length) return {ok: false, problem: {field: 'updateMask', problem: `names no field; give some of ${POLICY_FIELDS.join(', ')}`}};
  const paths = raw.flatMap((p) => GROUPS[camel(p)] ?? [camel(p) as PolicyField]);
  return {ok: true, paths: [...new Set(paths)]};
}

function read(p: PartialPolicy | RolloutPolicy, path: PolicyField): unknown {
  const [a, b] = path.split('.') as [string, string | undefined];
  const top = (p as Record<string, unknown>)[a];
  return b === undefined ? top : (top as Record<string, unknown> | undefined)?.[b];
}

/** The leaf paths `body` sets. */
function present(body: PartialPolicy): PolicyField[] {
  return POLICY_FIELDS.filter((f) => read(body, f) !== undefined);
}

/** What a PATCH made of a policy; `policy` is `current` itself (the same object) when nothing changed. */
export type PatchOutcome = {ok: true; policy: RolloutPolicy; changed: boolean} | {ok: false; problems: PolicyProblem[]};

/**
 * Applies a PATCH body to `current` (the stored policy, or the configured default before any
 * was stored). With `paths` (the update mask) exactly those fields change, a masked field the
 * body leaves out going back to `fallback`'s (the configured default: AIP-134's reset); other
 * body fields are checked but not applied. Without a mask the fields the body sets change.
 */
export function patchPolicy(
  current: RolloutPolicy,
  body: unknown,
  paths: PolicyField[] | undefined,
  fallback: RolloutPolicy,
): PatchOutcome {
  const valid = validatePolicy(body);
  if (!valid.ok) return valid;
  const fields = paths ?? present(valid.policy);
  if (!fields.length)
    return {
      ok: false,
      problems: [{field: 'body', problem: `names nothing to change: set some of ${POLICY_FIELDS.join(', ')}, e.g. {"strategy": "canary"}`}],
    };
  const next: RolloutPolicy = {...current, check: {...current.check}, thresholds: {...current.thresholds}};
  for (const f of fields) {
    const value = read(valid.policy, f) ?? read(fallback, f);
    const [a, b] = f.split('.') as [string, string | undefined];
    if (b === undefined) (next as unknown as Record<string, unknown>)[a] = value;
    else (next as unknown as Record<string, Record<string, unknown>>)[a][b] = value;
  }
  return isDeepStrictEqual(next, current) ? {ok: true, policy: current, changed: false} : {ok: true, policy: next, changed: true};
}
