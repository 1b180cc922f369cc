/**
 * One step of a progressive rollout: take the service's lock, look at what the step needs (the
 * tagged revision's HTTP check, its metrics), decide (pure, releases/rollout.ts), move Cloud
 * Run's traffic, record. No handler waits across a step: the deploy runs the first (verify),
 * the reconciler's ticks run the rest, an operator's promote or abort runs one at once.
 */
import {durations} from '../config';
import {describeError, DropdeployError, PermanentError, RetryableError} from '../errors';
import {markDeployFailed, markSuperseded, type Release} from '../releases/release';
import {applyControl, applyStep, checkSettings, controlProblem, decideStep, stepNeeds, type RolloutAction} from '../releases/rollout';
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
    stored = await store.finishRolloutStep(await step(ctx, lease.release, control), holder, deps.now());
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
async function step(ctx: Ctx, leased: Release, control?: StepControl): Promise<Release> {
  const {deps} = ctx;
  let r = leased;
  if (control) {
    const problem = controlProblem(r, control.action);
    if (problem) throw new PermanentError(problem, 'FAILED_PRECONDITION');
    r = applyControl(r, control.action, control.by, deps.now());
  }
  const ro = r.rollout!;
  const needs = stepNeeds(r, deps.now());
  const seen: Parameters<typeof decideStep>[2] = {};
  if (needs.http) {
    seen.http = ro.tagUrl
      ? await (await deps.prober()).check(ro.tagUrl, checkSettings(ro.policy.check), r.url)
      : {ok: false, attempts: 0, detail: `Cloud Run reported no URL for the tag ${ro.tag}`};
  }
  if (needs.metrics && r.revision) {
    seen.metrics = await (await deps.metrics()).revision(r.service, r.revision, new Date(ro.stepTime), deps.now());
  }
  const decision = decideStep(r, deps.now(), seen);
  if (decision.kind === 'traffic' || decision.kind === 'rollback') {
    const percent = decision.kind === 'traffic' ? decision.percent : 0;
    const services = await deps.services();
    let plan;
    try {
      plan = planTraffic(await services.get(r.service), r, percent);
    } catch (err) {
      if (err instanceof DropdeployError && !err.retryable)
        return markDeployFailed(r, {code: err.code, message: err.message}, deps.now()).release;
      throw err;
    }
    if (plan.kind === 'superseded') return markSuperseded(r, plan.by, deps.now()).release;
    if (plan.kind === 'update') {
      const waitMs = ctx.deadline - deps.now().getTime();
      if (waitMs <= 0)
        throw new RetryableError(`${r.service} v${r.release}: no time left for the traffic change; the next run does it`, 'DEADLINE');
      const outcome = await services.update(plan.spec, waitMs);
      if (!outcome.ok) {
        // Putting traffic back must not be given up: the next run tries again.
        if (decision.kind === 'rollback')
          throw new RetryableError(`rolling ${r.service} back to ${ro.stable.revision} failed: ${outcome.message}`, 'ROLLBACK_FAILED');
        return markDeployFailed(
          r,
          {code: outcome.code ?? 'TRAFFIC_FAILED', message: `moving ${percent}% of traffic failed: ${outcome.message}`},
          deps.now(),
        ).release;
      }
    }
  }
  return applyStep(r, decision, deps.now());
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
 * Runs a step of every rollout the store lists; a failure of one is logged and does not stop
 * the others. Reports the rollouts that moved or failed (one still waiting is not news).
 */
export async function stepRollouts(ctx: Ctx, limit: number): Promise<StepReport[]> {
  const rollouts = await (await ctx.deps.store()).listRollouts(limit);
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
  return out;
}
