/**
 * Progressive delivery, the pure part: what a rollout records, what one step of it must look
 * at, and what it does next from the release, the clock and what it saw — as
 * cloud-run-release-manager computes its next split with an injected clock. No I/O here.
 */
import {describeDurationMs} from './duration';
import {durationMs, type HealthCheck, type RolloutPolicy, type Thresholds} from './rollout-policy';
import {transition, type Release, type ReleaseError} from './release';

/** What a health check of the tagged revision's URL found. */
export interface HttpCheckResult {
  ok: boolean;
  /** The last attempt's status code, when one answered. */
  status?: number;
  attempts: number;
  /** Why it failed (timeout, connection refused, the status), or what passed. */
  detail: string;
}

/** What Cloud Monitoring said of the revision's requests in the current step. */
export interface StepMetrics {
  requests: number;
  errors5xx: number;
  p99Ms?: number;
}

/** One check a rollout made, as recorded on the release. */
export interface RolloutCheck {
  kind: 'http' | 'metrics';
  ok: boolean;
  time: string;
  /** At what traffic percent it ran. */
  traffic: number;
  detail: string;
}

/** An operator's action on a rollout, as recorded on the release. */
export interface RolloutControl {
  action: RolloutAction;
  by: string;
  time: string;
}

/** What an operator may do to a rollout. */
export type RolloutAction = 'promote' | 'abort' | 'pause' | 'resume';

/** The rollout of one release, as stored on it. */
export interface RolloutRecord {
  /** The policy in force when the rollout began (later policy changes do not move it). */
  policy: RolloutPolicy;
  /** The Cloud Run traffic tag of the new revision (`v7`), and its URL once known. */
  tag: string;
  tagUrl?: string;
  /** What serves the rest of the traffic, and gets it all back on a rollback. */
  stable: {release: number; revision: string};
  /** The percent of traffic on this release's revision now. */
  traffic: number;
  /** When traffic last moved (or verifying began): a step's interval counts from it. */
  stepTime: string;
  paused?: {by: string; time: string};
  /** An operator's promote or abort, waiting for the step that carries it out. */
  pending?: 'promote' | 'abort';
  /**
   * A step decided and recorded before Cloud Run is asked to carry it out: a crash in between
   * leaves it here, and the next run carries out this same decision (write-ahead).
   */
  intent?: {percent: number; reason: string; error?: ReleaseError};
  /** The last check made, passed or not. */
  lastCheck?: RolloutCheck;
  controls: RolloutControl[];
}

/** The tag a release's revision carries during its rollout (`rollout-v7`). */
export function rolloutTag(release: number): string {
  return `rollout-v${release}`;
}

/**
 * Tags dropdeploy gives rollouts (`rollout-v<release>`): another rollout's is removed by the
 * next deploy. Distinct from names people give tags (`v2`, `canary`), which are never touched.
 */
export function isRolloutTag(tag: string | undefined): boolean {
  return !!tag && /^rollout-v[1-9]\d*$/.test(tag);
}

/** A new rollout record, as the deploy that created the revision writes it. */
export function startRollout(
  policy: RolloutPolicy,
  release: number,
  stable: {release: number; revision: string},
  now: Date,
  tagUrl?: string,
): RolloutRecord {
  const r: RolloutRecord = {policy, tag: rolloutTag(release), stable, traffic: 0, stepTime: now.toISOString(), controls: []};
  if (tagUrl) r.tagUrl = tagUrl;
  return r;
}

/** What one step must observe before it can decide. */
export interface StepNeeds {
  http: boolean;
  metrics: boolean;
}

/** When the current step's interval ends (ms since the epoch). */
export function stepDue(rollout: RolloutRecord): number {
  return Date.parse(rollout.stepTime) + durationMs(rollout.policy.interval);
}

/**
 * What to observe now: nothing for a release not rolling out, a paused one, or one an operator
 * promoted or aborted; the HTTP check while verifying and when a step's interval has passed;
 * the metrics at every step of a canary (a bad figure rolls back within one tick).
 */
export function stepNeeds(r: Release, now: Date): StepNeeds {
  const ro = r.rollout;
  if (!ro || (r.state !== 'verifying' && r.state !== 'rolling_out') || ro.pending || ro.intent) return {http: false, metrics: false};
  // Paused, no step moves; the metrics are still watched, so a failing canary still goes back.
  if (ro.paused) return {http: false, metrics: r.state === 'rolling_out'};
  if (r.state === 'verifying') return {http: true, metrics: false};
  return {http: now.getTime() >= stepDue(ro), metrics: true};
}

/** What a rollout step does. */
export type StepDecision =
  /** Nothing to do before the next tick. */
  | {kind: 'wait'; reason: string; check?: RolloutCheck}
  /** Move the new revision to `percent` (100 ends the rollout `deployed`). */
  | {kind: 'traffic'; percent: number; reason: string; checks: RolloutCheck[]}
  /** Put 100 % back on the stable revision; the release ends `rolled_back`. */
  | {kind: 'rollback'; error: ReleaseError; checks: RolloutCheck[]}
  /** Not a rollout, or already ended: nothing at all. */
  | {kind: 'none'};

/** The judgement of a canary step's metrics against the thresholds, or undefined with too few requests. */
export function judgeMetrics(m: StepMetrics, t: Thresholds): {ok: boolean; detail: string} | undefined {
  if (m.requests < t.minRequests || m.requests === 0) return undefined;
  const ratio = m.errors5xx / m.requests;
  const figures = `${m.errors5xx} of ${m.requests} requests answered 5xx (${pct(ratio)}), p99 ${m.p99Ms === undefined ? 'unknown' : `${Math.round(m.p99Ms)} ms`}`;
  if (ratio > t.max5xxRatio) return {ok: false, detail: `${figures}: above the 5xx ratio of ${pct(t.max5xxRatio)}`};
  if (m.p99Ms !== undefined && m.p99Ms > t.p99Ms) return {ok: false, detail: `${figures}: above the p99 of ${t.p99Ms} ms`};
  return {ok: true, detail: `${figures}: within the thresholds`};
}

function pct(x: number): string {
  return `${Math.round(x * 10000) / 100}%`;
}

/** The next traffic percent after `current` in the policy's steps (100 at the end). */
export function nextStep(policy: RolloutPolicy, current: number): number {
  if (policy.strategy !== 'canary') return 100;
  return policy.steps.find((s) => s > current) ?? 100;
}

/**
 * The next move of a rollout from where it stands, the clock and what the step observed (as
 * {@link stepNeeds} asked). Operator actions come first; a failed check or threshold rolls back;
 * a passed one moves to the next step once its interval is over.
 */
export function decideStep(r: Release, now: Date, seen: {http?: HttpCheckResult; metrics?: StepMetrics}): StepDecision {
  const ro = r.rollout;
  if (!ro || (r.state !== 'verifying' && r.state !== 'rolling_out')) return {kind: 'none'};
  const time = now.toISOString();
  const at = (kind: RolloutCheck['kind'], ok: boolean, detail: string): RolloutCheck => ({kind, ok, time, traffic: ro.traffic, detail});
  if (ro.pending === 'abort') {
    const by = [...ro.controls].reverse().find((c) => c.action === 'abort')?.by ?? 'an operator';
    return {kind: 'rollback', error: {code: 'ROLLOUT_ABORTED', message: `the rollout was aborted by ${by}`}, checks: []};
  }
  if (ro.intent) {
    const {percent, reason, error} = ro.intent;
    return error ? {kind: 'rollback', error, checks: []} : {kind: 'traffic', percent, reason, checks: []};
  }
  if (ro.pending === 'promote') return {kind: 'traffic', percent: 100, reason: 'promoted by an operator', checks: []};
  const checks: RolloutCheck[] = [];
  if (seen.metrics) {
    const judged = judgeMetrics(seen.metrics, ro.policy.thresholds);
    if (judged && !judged.ok) {
      const check = at('metrics', false, judged.detail);
      return {
        kind: 'rollback',
        error: {code: 'THRESHOLD_EXCEEDED', message: `at ${ro.traffic}% of traffic, ${judged.detail}`},
        checks: [check],
      };
    }
    checks.push(
      at(
        'metrics',
        true,
        judged?.detail ?? `${seen.metrics.requests} requests, fewer than ${ro.policy.thresholds.minRequests}: not judged yet`,
      ),
    );
  }
  if (!seen.http) {
    const left = stepDue(ro) - now.getTime();
    return {kind: 'wait', reason: `next step in ${describeDurationMs(Math.max(0, left))}`, check: checks[0]};
  }
  const check = at('http', seen.http.ok, seen.http.detail);
  checks.push(check);
  if (!seen.http.ok) {
    return {
      kind: 'rollback',
      error: {
        code: 'CHECK_FAILED',
        message: `the health check of ${checkTarget(ro)} failed at ${ro.traffic}% of traffic: ${seen.http.detail}`,
      },
      checks,
    };
  }
  const percent = nextStep(ro.policy, ro.traffic);
  return {kind: 'traffic', percent, reason: `checks passed at ${ro.traffic}%`, checks};
}

function checkTarget(ro: RolloutRecord): string {
  return `${ro.tagUrl ?? `tag ${ro.tag}`}${ro.policy.check.path}`;
}

/** The release after a step's decision was carried out on Cloud Run (pure). */
export function applyStep(r: Release, d: StepDecision, now: Date): Release {
  const ro = r.rollout;
  if (!ro || d.kind === 'none') return r;
  const lastCheck = d.kind === 'wait' ? (d.check ?? ro.lastCheck) : (d.checks.at(-1) ?? ro.lastCheck);
  const base: RolloutRecord = {...ro, ...(lastCheck ? {lastCheck} : {})};
  if (d.kind === 'wait') return lastCheck === ro.lastCheck ? r : {...r, rollout: base};
  const stepped: RolloutRecord = {...base, traffic: d.kind === 'traffic' ? d.percent : 0, stepTime: now.toISOString()};
  delete stepped.pending;
  delete stepped.intent;
  if (d.kind === 'rollback') {
    const next = transition({...r, rollout: stepped}, 'rolled_back', {error: d.error}, now, d.error.message).release;
    return next;
  }
  if (d.percent >= 100) {
    return transition({...r, rollout: stepped}, 'deployed', {}, now, `revision ${r.revision ?? '?'} serves 100% of traffic (${d.reason})`)
      .release;
  }
  return markStep({...r, rollout: stepped}, d.percent, now, d.reason);
}

/** The release with `d` recorded as the step about to be carried out on Cloud Run (write-ahead). */
export function withIntent(r: Release, d: StepDecision): Release {
  if (!r.rollout || (d.kind !== 'traffic' && d.kind !== 'rollback')) return r;
  const intent = d.kind === 'traffic' ? {percent: d.percent, reason: d.reason} : {percent: 0, reason: d.error.message, error: d.error};
  const lastCheck = d.checks.at(-1) ?? r.rollout.lastCheck;
  return {...r, rollout: {...r.rollout, intent, ...(lastCheck ? {lastCheck} : {})}};
}

/** → rolling_out at `percent`: a history entry per step, each its own status event. */
export function markStep(r: Release, percent: number, now: Date, reason: string): Release {
  const time = now.toISOString();
  const entry = {state: 'rolling_out' as const, time, traffic: percent, reason: `${percent}% of traffic (${reason})`};
  if (r.state === 'rolling_out') {
    if (r.history.some((h) => h.state === 'rolling_out' && h.traffic === percent)) return r;
    return {...r, updateTime: time, history: [...r.history, entry]};
  }
  const moved = transition(r, 'rolling_out', {}, now).release;
  return {...moved, history: [...moved.history.slice(0, -1), entry]};
}

/** Why an operator's action cannot be taken now, or undefined when it can. */
export function controlProblem(r: Release, action: RolloutAction): string | undefined {
  const ro = r.rollout;
  const name = `release v${r.release} of "${r.service}"`;
  if (!ro || (r.state !== 'verifying' && r.state !== 'rolling_out'))
    return `${name} is ${r.state}, not rolling out: only a release that is verifying or rolling out can be ${pastTense(action)}`;
  if (action === 'pause' && ro.paused) return undefined;
  if (action === 'resume' && !ro.paused) return undefined;
  if (ro.pending && ro.pending !== action && (action === 'promote' || action === 'abort'))
    return `${name} is already being ${pastTense(ro.pending)}`;
  return undefined;
}

function pastTense(a: RolloutAction): string {
  return {promote: 'promoted', abort: 'aborted', pause: 'paused', resume: 'resumed'}[a];
}

/**
 * The release with an operator's action recorded (pure). Pause and resume take effect at once;
 * promote and abort are carried out by the step that runs next (the API runs it right away).
 * Asking again for what is already so changes nothing.
 */
export function applyControl(r: Release, action: RolloutAction, by: string, now: Date): Release {
  const ro = r.rollout;
  if (!ro || controlProblem(r, action)) return r;
  if ((action === 'pause' && ro.paused) || (action === 'resume' && !ro.paused) || ro.pending === action) return r;
  const time = now.toISOString();
  const next: RolloutRecord = {...ro, controls: [...ro.controls, {action, by, time}]};
  if (action === 'pause') next.paused = {by, time};
  else if (action === 'resume') {
    delete next.paused;
    // The interval of the step starts again: paused time was not watched.
    next.stepTime = time;
  } else next.pending = action;
  return {...r, updateTime: time, rollout: next};
}

/** The HTTP check's settings, with the timeout in ms, for the adapter that makes it. */
export function checkSettings(check: HealthCheck): {path: string; expectStatus: number; timeoutMs: number; attempts: number} {
  return {path: check.path, expectStatus: check.expectStatus, timeoutMs: durationMs(check.timeout), attempts: check.attempts};
}
