/**
 * Deploy targets, the pure part: which regions (and projects) a release deploys to, what the
 * deploy does next from where each target stands, and what the release comes to. The release
 * record is the write-ahead log: a redelivered deploy resumes from its `targets` and never
 * deploys again to a target recorded done. No I/O here.
 */
import type {ReleaseError} from './release';
import {isRolloutTag} from './rollout';
import type {PartialPolicy, RolloutPolicy, TargetFailure, TargetOrder} from './rollout-policy';
import type {RunService} from './service-spec';
import {shortRevisionName} from './traffic-safety';

/** A region in a project: where one copy of a service runs. */
export interface DeployTarget {
  region: string;
  project: string;
}

/**
 * Where a target stands in a release: `pending` (not started), `deploying` (Cloud Run was or is
 * about to be asked), `deployed`, `failed`, `rolled_back` (deployed, then put back on its previous
 * revision after another target failed), `skipped` (never started: an earlier target failed in
 * sequential order), `superseded` (it already runs a newer release).
 */
export type TargetState = 'pending' | 'deploying' | 'deployed' | 'failed' | 'rolled_back' | 'skipped' | 'superseded';

/** One target of a release, as recorded on it (and published in its status events). */
export interface TargetRecord extends DeployTarget {
  state: TargetState;
  revision?: string;
  url?: string;
  error?: ReleaseError;
  /** The revision that served before this release, read before its deploy: where a rollback puts traffic back. */
  previousRevision?: string;
  supersededBy?: number;
}

/** How a target is named in messages: `europe-west1 (project my-project)`. */
export function targetName(t: DeployTarget): string {
  return `${t.region} (project ${t.project})`;
}

const same = (a: DeployTarget, b: DeployTarget) => a.region === b.region && a.project === b.project;

/**
 * The targets a release with `policy` deploys to, the primary first: the policy's (a target without
 * a project is in the controller's), or the controller's own region alone. Refused: a list whose
 * first target is not the controller's own (previews, the environment API and rollouts live
 * there), the same target twice, and a progressive strategy over several targets.
 */
export function resolveTargets(
  policy: Pick<RolloutPolicy, 'targets' | 'strategy'>,
  home: DeployTarget,
): {ok: true; targets: DeployTarget[]} | {ok: false; message: string} {
  if (!policy.targets.length) return {ok: true, targets: [home]};
  const targets = policy.targets.map((t) => ({region: t.region, project: t.project ?? home.project}));
  if (!same(targets[0], home))
    return {
      ok: false,
      message:
        `targets[0] is ${targetName(targets[0])}, but the first target is the primary and must be the controller's own region and project, ` +
        `${targetName(home)}, where the service's previews, environment and rollouts live: list {"region": "${home.region}"} first`,
    };
  for (let i = 1; i < targets.length; i++) {
    const j = targets.findIndex((t) => same(t, targets[i]));
    if (j < i) return {ok: false, message: `targets[${i}] and targets[${j}] are both ${targetName(targets[i])}: list each target once`};
  }
  if (targets.length > 1 && policy.strategy !== 'immediate')
    return {
      ok: false,
      message:
        `a ${policy.strategy} rollout over several targets is not supported: deploy to several regions with strategy "immediate", ` +
        'or keep one target (targets []) for a verified or canary rollout',
    };
  return {ok: true, targets};
}

/**
 * The INVALID_TARGETS message of a release whose policy {@link resolveTargets} refused: its
 * problem, where the targets and the strategy came from (the configured default, the service's
 * own policy, the upload's metadata: a policy stored before targets existed sets none and
 * inherits the default's), and what to do.
 */
export function invalidTargetsMessage(
  service: string,
  message: string,
  layers: {configured: RolloutPolicy; stored?: PartialPolicy; override?: PartialPolicy},
): string {
  const {configured, stored, override} = layers;
  const fromDefault = stored?.targets === undefined;
  const targetsFrom = fromDefault ? 'the configured default (DROPDEPLOY_ROLLOUT_POLICY)' : "the service's own policy";
  const strategy = override?.strategy ?? stored?.strategy ?? configured.strategy;
  const strategyFrom = override?.strategy
    ? "this upload's metadata dropdeploy-rollout"
    : stored?.strategy
      ? `the service's own policy${fromDefault && stored ? ', which sets no targets' : ''}`
      : 'the configured default';
  const todo = override?.strategy
    ? `upload again without a verified or canary strategy in dropdeploy-rollout, or set the service's targets with \`dropdeploy policy ${service} --targets …\``
    : `set the service's own targets or strategy: \`dropdeploy policy ${service} --targets default\` (the controller's region alone) or \`dropdeploy policy ${service} --strategy immediate\``;
  return `the rollout policy of "${service}": ${message}; its targets come from ${targetsFrom}, its strategy "${strategy}" from ${strategyFrom}: ${todo}`;
}

/**
 * The targets to work through: those the release recorded already (a redelivery resumes them,
 * whatever the policy says now), else `targets`, all pending.
 */
export function startTargets(targets: DeployTarget[], recorded: TargetRecord[] | undefined): TargetRecord[] {
  if (recorded?.length) return recorded;
  return targets.map((t) => ({region: t.region, project: t.project, state: 'pending'}));
}

/** What a multi-target deploy does next. */
export type TargetStep =
  /** Deploy to these targets (by index), at once. */
  | {kind: 'deploy'; indexes: number[]}
  /** Put these deployed targets back on their previous revisions (a target failed, the policy says rollback). */
  | {kind: 'rollback'; indexes: number[]}
  /** Nothing more to do: record the outcome ({@link targetsOutcome}). */
  | {kind: 'finish'};

const STOPPED: ReadonlySet<TargetState> = new Set(['failed', 'superseded']);
const TODO: ReadonlySet<TargetState> = new Set(['pending', 'deploying']);

/**
 * The next step from where the targets stand. A target recorded `deploying` is deployed again
 * first, also after another failed: its deploy may or may not have reached Cloud Run, doing it
 * again is harmless, and the record then says where it stands. After a failure (or a target that
 * runs a newer release) nothing new is deployed, and with `rollback` the targets this release
 * deployed go back (those with a previous revision: one this release created has none).
 * Otherwise the next target in sequential order, or every target left in parallel order.
 */
export function nextTargetStep(targets: TargetRecord[], order: TargetOrder, onFailure: TargetFailure): TargetStep {
  const idx = (pred: (t: TargetRecord) => boolean) => targets.flatMap((t, i) => (pred(t) ? [i] : []));
  const stopped = targets.some((t) => STOPPED.has(t.state));
  const inFlight = idx((t) => t.state === 'deploying');
  if (stopped && inFlight.length) return {kind: 'deploy', indexes: inFlight};
  if (stopped) {
    const back = idx((t) => t.state === 'deployed' && !!t.previousRevision);
    const failed = targets.some((t) => t.state === 'failed');
    return failed && onFailure === 'rollback' && back.length ? {kind: 'rollback', indexes: back} : {kind: 'finish'};
  }
  const todo = idx((t) => TODO.has(t.state));
  if (!todo.length) return {kind: 'finish'};
  return {kind: 'deploy', indexes: order === 'parallel' ? todo : [todo[0]]};
}

/** The targets as they end: those never started are `skipped`. */
export function finishTargets(targets: TargetRecord[]): TargetRecord[] {
  return targets.map((t) => (TODO.has(t.state) ? {...t, state: 'skipped'} : t));
}

/** What a multi-target release comes to, as the deploy reports it to the store. */
export type TargetsOutcome = {revision: string; url?: string} | {error: ReleaseError} | {supersededBy: number};

/**
 * The release's outcome from its ended targets: `deployed` (with the primary's revision and URL)
 * when every target is; superseded when a target runs a newer release; otherwise a failure naming
 * the target that failed, its own code, and what became of the others.
 */
export function targetsOutcome(ended: TargetRecord[]): TargetsOutcome {
  const newer = Math.max(0, ...ended.map((t) => t.supersededBy ?? 0));
  if (newer > 0) return {supersededBy: newer};
  const failed = ended.filter((t) => t.state === 'failed');
  if (!failed.length) {
    const primary = ended[0];
    if (primary?.state === 'deployed' && primary.revision && ended.every((t) => t.state === 'deployed'))
      return {revision: primary.revision, ...(primary.url ? {url: primary.url} : {})};
    return {error: {code: 'TARGETS_UNFINISHED', message: `the targets did not all deploy: ${describeStates(ended)}`}};
  }
  const first = failed[0];
  const names = (s: TargetState) => ended.filter((t) => t.state === s).map(targetName);
  const parts = [
    `the deploy to ${targetName(first)} failed: ${first.error?.message ?? 'no reason recorded'}`,
    ...failed.slice(1).map((t) => `the deploy to ${targetName(t)} failed too: ${t.error?.message ?? 'no reason recorded'}`),
  ];
  const kept = names('deployed');
  const back = names('rolled_back');
  const skipped = names('skipped');
  if (kept.length) parts.push(`${kept.join(', ')} keep${kept.length === 1 ? 's' : ''} serving the new digest`);
  if (back.length) parts.push(`${back.join(', ')} went back to the revision that served before`);
  if (skipped.length) parts.push(`${skipped.join(', ')} not deployed (sequential order stops at a failure)`);
  return {error: {code: first.error?.code ?? 'DEPLOY_FAILED', message: parts.join('; ')}};
}

function describeStates(targets: TargetRecord[]): string {
  return targets.map((t) => `${targetName(t)} ${t.state}`).join(', ');
}

/**
 * The revision that serves a live service now (the one with the most traffic; with no traffic
 * statuses, the latest ready one): where a rollback of this target puts traffic back.
 */
export function servingRevision(existing: RunService | undefined): string | undefined {
  if (!existing) return undefined;
  const statuses = ((existing.trafficStatuses ?? []) as Array<{revision?: string; percent?: number}>).filter(
    (t) => t.revision && (t.percent ?? 0) > 0,
  );
  const top = statuses.sort((a, b) => (b.percent ?? 0) - (a.percent ?? 0))[0];
  return top?.revision ?? shortRevisionName(existing.latestReadyRevision);
}

/**
 * The update that puts all of a target's traffic back on `revision` by name, fenced by the read's
 * etag; the template (the new revision) stays, so nothing is built or started. Tags people gave
 * stay at 0 %; a rollout's tag goes. Undefined when `revision` serves all traffic already.
 */
export function rollbackTraffic(existing: RunService, revision: string): RunService | undefined {
  const statuses = (existing.trafficStatuses ?? []) as Array<{revision?: string; percent?: number}>;
  if (statuses.length && statuses.every((t) => (t.percent ?? 0) === 0 || t.revision === revision)) return undefined;
  const tagged = (existing.traffic ?? []).filter((t) => t.tag && !isRolloutTag(t.tag)).map((t) => ({...t, percent: 0}));
  return {
    ...structuredClone(existing),
    traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision, percent: 100}, ...tagged],
  };
}
