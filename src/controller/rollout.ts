/**
 * One step of a progressive rollout: take the service's lock, look at what the step needs (the
 * tagged revision's HTTP check, its metrics), decide (pure, releases/rollout.ts), move Cloud
 * Run's traffic, record. No handler waits across a step: the deploy runs the first (verify),
 * the reconciler's ticks run the rest, an operator's promote or abort runs one at once.
 */
import {durations} from '../config';
import {describeError, DropdeployError, PermanentError, RetryableError} from '../errors';
import {markDeployFailed, markSuperseded, type Release} from '../releases/release';
import {
  applyControl,
  applyStep,
  checkSettings,
  controlProblem,
  decideStep,
  stepNeeds,
  withIntent,
  type RolloutAction,
  type StepDecision,
} from '../releases/rollout';
import {planTraffic} from '../releases/rollout-traffic';
import type {Ctx} from './deps';
import {publishPending} from './outbox';
import {retryWhileBusy} from './wait';

/** An operator's action, carried out as (or before) the step. */
export interface StepControl {
  action: RolloutAction;
  by: string;
}

/**
 * Runs the next step of `r`'s rollout, if one is due; returns the release as recorded. A step
 * another holds is skipped by the reconciler (`waitSeconds` 0) and waited for by an operator's
 * request. With `control`, the action is recorded first; one that cannot be taken now is a
 * FAILED_PRECONDITION naming why.
 */
export async function runRolloutStep(ctx: Ctx, r: Release, control?: StepControl): Promise<Release> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const holder = deps.newId();
  const {leaseMs} = durations(deps.config);
  const what = `a step of the rollout of ${r.service} v${r.release}`;
  const lease = await retryWhileBusy(ctx, what, async () => {
    const l = await store.leaseRolloutStep(r.service, r.release, holder, deps.now(), leaseMs);
    return l.kind === 'busy' && control ? undefined : l;
  });
  if (lease.kind !== 'go') {
    if (control) {
      const problem = controlProblem(lease.release, control.action);
      if (problem) throw new PermanentError(problem, 'FAILED_PRECONDITION');
    }
    if (lease.kind === 'done') await publishPending(ctx, lease.release);
    return lease.release;
  }
  let stored: Release;
  try {
    stored = await store.finishRolloutStep(await step(ctx, lease.release, holder, control), holder, deps.now());
  } catch (err) {
    await store.releaseLease(r.service, r.release, holder).catch(() => undefined);
    throw err;
  }
  if (stored.state !== r.state || stored.rollout?.traffic !== r.rollout?.traffic)
    log.notice(`${r.service} v${r.release}: ${stored.history.at(-1)?.reason ?? stored.state}`, {
      state: stored.state,
      traffic: stored.rollout?.traffic,
    });
  await publishPending(ctx, stored);
  return stored;
}

/** The step itself, under the lock: what to record next. */
async function step(ctx: Ctx, leased: Release, holder: string, control?: StepControl): Promise<Release> {
  const {deps} = ctx;
  let r = leased;
  if (control) {
    const problem = controlProblem(r, control.action);
    if (problem) throw new PermanentError(problem, 'FAILED_PRECONDITION');
    r = applyControl(r, control.action, control.by, deps.now());
  }
  const seen = await observe(ctx, r);
  let decision: StepDecision = 'failure' in seen ? {kind: 'rollback', error: seen.failure, checks: []} : decideStep(r, deps.now(), seen);
  if (decision.kind !== 'traffic' && decision.kind !== 'rollback') return applyStep(r, decision, deps.now());
  r = await writeAhead(ctx, r, decision, holder);
  let moved = await moveTraffic(ctx, r, decision);
  if (moved.kind === 'failed' && decision.kind === 'traffic') {
    // A step Cloud Run refuses ends the rollout the safe way: all traffic back on the stable revision.
    decision = {
      kind: 'rollback',
      error: {code: 'TRAFFIC_FAILED', message: `moving ${decision.percent}% of traffic failed: ${moved.message}`},
      checks: [],
    };
    r = await writeAhead(ctx, r, decision, holder);
    moved = await moveTraffic(ctx, r, decision);
  }
  switch (moved.kind) {
    case 'failed':
      // Putting traffic back is never given up: the next run tries again (the intent is recorded).
      throw new RetryableError(
        `rolling ${r.service} back to ${r.rollout!.stable.revision} failed: ${moved.message}; the next run tries again`,
        'ROLLBACK_FAILED',
      );
    case 'superseded':
      return markSuperseded(r, moved.by, deps.now()).release;
    case 'gone':
      return markDeployFailed(r, moved.error, deps.now()).release;
    case 'done':
      return applyStep(r, decision, deps.now());
  }
}

/**
 * What the step must see (stepNeeds): the tagged revision's HTTP check, its metrics. A read the
 * controller is refused for good (Monitoring PERMISSION_DENIED) cannot gate anything: the
 * rollout goes back, saying what is missing, rather than stay half way.
 */
async function observe(ctx: Ctx, r: Release): Promise<Parameters<typeof decideStep>[2] | {failure: {code: string; message: string}}> {
  const {deps} = ctx;
  const ro = r.rollout!;
  const needs = stepNeeds(r, deps.now());
  const seen: Parameters<typeof decideStep>[2] = {};
  if (needs.http) {
    seen.http = ro.tagUrl
      ? await (await deps.prober()).check(ro.tagUrl, checkSettings(ro.policy.check), r.url)
      : {
          ok: false,
          attempts: 0,
          detail: `Cloud Run reported no URL for the tag ${ro.tag}; check the service's traffic tags (gcloud run services describe ${r.service})`,
        };
  }
  if (needs.metrics && r.revision) {
    try {
      seen.metrics = await (await deps.metrics()).revision(r.service, r.revision, new Date(ro.stepTime), deps.now());
    } catch (err) {
      if (!(err instanceof DropdeployError) || err.retryable) throw err;
      return {
        failure: {
          code: 'METRICS_UNAVAILABLE',
          message: `Cloud Monitoring refused the read of revision ${r.revision}'s metrics (${err.message}); the controller needs monitoring.timeSeries.list (deploy/install.sh grants it in the role dropdeploy_rollout_checks)`,
        },
      };
    }
  }
  return seen;
}

/** Records the decision before Cloud Run carries it out; refuses to go on once the lock was taken over. */
async function writeAhead(ctx: Ctx, r: Release, d: StepDecision, holder: string): Promise<Release> {
  const next = withIntent(r, d);
  if (next === r || JSON.stringify(next.rollout?.intent) === JSON.stringify(r.rollout?.intent)) return r;
  const stored = await (await ctx.deps.store()).finishRolloutStep(next, holder, ctx.deps.now(), true);
  if (JSON.stringify(stored.rollout?.intent) !== JSON.stringify(next.rollout?.intent))
    throw new RetryableError(
      `the lock of ${r.service} was taken over during a step of v${r.release}'s rollout; its new holder goes on`,
      'LOCK_LOST',
    );
  return stored;
}

type Moved =
  | {kind: 'done'}
  | {kind: 'superseded'; by: number}
  | {kind: 'failed'; message: string}
  | {kind: 'gone'; error: {code: string; message: string}};

/** Carries out a traffic or rollback decision on Cloud Run (fenced; nothing to do when it is there already). */
async function moveTraffic(ctx: Ctx, r: Release, d: StepDecision): Promise<Moved> {
  const {deps} = ctx;
  const percent = d.kind === 'traffic' ? d.percent : 0;
  const services = await deps.services();
  let plan;
  try {
    plan = planTraffic(await services.get(r.service), r, percent);
  } catch (err) {
    if (err instanceof DropdeployError && !err.retryable) return {kind: 'gone', error: {code: err.code, message: err.message}};
    throw err;
  }
  if (plan.kind === 'superseded') return plan;
  if (plan.kind === 'same') return {kind: 'done'};
  const waitMs = ctx.deadline - deps.now().getTime();
  if (waitMs <= 0)
    throw new RetryableError(`${r.service} v${r.release}: no time left for the traffic change; the next run does it`, 'DEADLINE');
  try {
    const outcome = await services.update(plan.spec, waitMs);
    return outcome.ok ? {kind: 'done'} : {kind: 'failed', message: outcome.message};
  } catch (err) {
    if (err instanceof DropdeployError && !err.retryable) return {kind: 'failed', message: err.message};
    throw err;
  }
}

/** What a run of {@link stepRollouts} did to one rollout. */
export interface StepReport {
  service: string;
  release: number;
  state: string;
  detail?: string;
  failed?: boolean;
}

/**
 * Runs a step of every rollout the store lists (a page of `limit`, after `after`); a failure of
 * one is logged and does not stop the others. Reports the rollouts that moved or failed (one
 * still waiting is not news), and where the next page starts.
 */
export async function stepRollouts(ctx: Ctx, limit: number, after?: string): Promise<{steps: StepReport[]; next?: string}> {
  const rollouts = await (await ctx.deps.store()).listRollouts(limit, after);
  const out: StepReport[] = [];
  for (const r of rollouts) {
    if (ctx.deps.now().getTime() >= ctx.deadline) break;
    const log = ctx.log.with({service: r.service, release: r.release});
    try {
      const after = await runRolloutStep({...ctx, log}, r);
      if (after.state !== r.state || after.rollout?.traffic !== r.rollout?.traffic)
        out.push({service: r.service, release: r.release, state: after.state, detail: after.history.at(-1)?.reason});
    } catch (err) {
      log.warn(`the rollout step of ${r.service} v${r.release} failed: ${describeError(err)}; the next run tries again`);
      out.push({service: r.service, release: r.release, state: r.state, detail: describeError(err), failed: true});
    }
  }
  // A full page continues after its last one next run: waiting rollouts do not change, and would hold back the rest.
  return {steps: out, ...(rollouts.length === limit ? {next: rollouts[rollouts.length - 1].updateTime} : {})};
}
