/**
 * A deploy to several targets (regions or projects): the same digest to each, in the policy's
 * order, every target's progress recorded on the release before and after Cloud Run is asked
 * (the write-ahead log), so a redelivery goes on from there and never deploys again to a target
 * done. The decisions are pure (src/releases/targets.ts); this carries them out.
 */
import type {Config} from '../config';
import {DropdeployError, PermanentError, RetryableError} from '../errors';
import type {Services} from '../ports';
import type {DeployResult} from '../releases/decisions';
import type {RecordedEnvVar} from '../releases/deployed-env';
import type {Release} from '../releases/release';
import type {RolloutPolicy} from '../releases/rollout-policy';
import type {RunService} from '../releases/service-spec';
import {
  finishTargets,
  nextTargetStep,
  rollbackTraffic,
  servingRevision,
  startTargets,
  targetName,
  targetsOutcome,
  type DeployTarget,
  type TargetRecord,
} from '../releases/targets';
import type {Ctx} from './deps';

/** The controller's own project and region: the primary target. */
export function homeTarget(config: Pick<Config, 'projectId' | 'region'>): DeployTarget {
  return {region: config.region, project: config.projectId};
}

/** Deploys to one target: `target` undefined for the primary; `onRead` is called once the live service was read. */
export type DeployOne = (
  target: DeployTarget | undefined,
  services: Services,
  onRead: (existing: RunService | undefined) => Promise<void>,
) => Promise<DeployResult>;

/**
 * Deploys `r` to `targets` (the primary first) under the service's deploy lock held by `holder`,
 * and returns the release's outcome with every target's record. A retryable failure is rethrown
 * once the progress is saved: the redelivery resumes it.
 */
export async function deployTargets(
  ctx: Ctx,
  r: Release,
  targets: DeployTarget[],
  policy: RolloutPolicy,
  holder: string,
  deployOne: DeployOne,
): Promise<DeployResult> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const records = startTargets(targets, r.targets).map((t) => ({...t}));
  if (r.targets?.length)
    log.info(`${r.service} v${r.release}: resuming its deploy: ${records.map((t) => `${t.region} ${t.state}`).join(', ')}`);
  // Writes one after the other, each with the records as they are when it is asked for.
  let writes = Promise.resolve();
  // The env the primary deployed: recorded with the targets once it is known, so a redelivery that
  // finds the primary done (and deploys only the others) still reports it.
  let env: RecordedEnvVar[] | undefined = records[0]?.state === 'deployed' ? r.deployedEnv : undefined;
  const save = (): Promise<void> => {
    const snapshot = structuredClone(records);
    const envNow = env;
    writes = writes.then(async () => {
      if (!(await store.putTargets(r.service, r.release, snapshot, holder, deps.now(), envNow)))
        throw new RetryableError(
          `the deploy lock of ${r.service} was taken over during v${r.release}'s deploy; its new holder goes on`,
          'LOCK_LOST',
        );
    });
    return writes;
  };
  for (;;) {
    const step = nextTargetStep(records, policy.targetOrder, policy.onTargetFailure);
    if (step.kind === 'finish') break;
    if (step.kind === 'rollback') {
      // Every rollback ends before the step does (the lock is let go after a rethrow, and must not
      // be while another target's UpdateService is in flight); what went back is saved first.
      const back = await Promise.allSettled(step.indexes.map((i) => rollBack(ctx, r, records[i])));
      await save();
      const failed = back.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      continue;
    }
    const settled = await Promise.allSettled(
      step.indexes.map(async (i) => {
        const t = records[i];
        const services = await deps.services(t);
        const result = await deployOne(i === 0 ? undefined : t, services, async (existing) => {
          // Where a rollback would go: read before the first attempt only (a redelivery finds the new revision serving).
          if (t.state === 'pending') {
            const previous = servingRevision(existing);
            if (previous) t.previousRevision = previous;
          }
          t.state = 'deploying';
          await save();
        });
        if (i === 0 && 'env' in result) env = result.env;
        return result;
      }),
    );
    let retry: Error | undefined;
    settled.forEach((s, k) => {
      const t = records[step.indexes[k]];
      if (s.status === 'fulfilled') return record(t, s.value);
      if (s.reason instanceof DropdeployError && !s.reason.retryable)
        return record(t, {error: {code: s.reason.code, message: s.reason.message}});
      retry ??= s.reason instanceof Error ? s.reason : new RetryableError(String(s.reason));
    });
    for (const i of step.indexes) {
      const t = records[i];
      if (t.state === 'deployed') log.notice(`${r.service} v${r.release}: deployed to ${targetName(t)}: revision ${t.revision ?? '?'}`);
      else if (t.state === 'failed')
        log.error(`${r.service} v${r.release}: the deploy to ${targetName(t)} failed: ${t.error?.message ?? ''}`);
    }
    await save();
    if (retry) throw retry;
  }
  const ended = finishTargets(records);
  const outcome = targetsOutcome(ended);
  // The env the primary deployed goes with the outcome whenever the primary serves this release,
  // also when another target failed (the service's deployed release is then this one).
  return {...outcome, ...(env && ended[0]?.state === 'deployed' ? {env} : {}), targets: ended};
}

function record(t: TargetRecord, result: DeployResult): void {
  if ('error' in result) {
    t.state = 'failed';
    t.error = result.error;
  } else if ('supersededBy' in result) {
    t.state = 'superseded';
    t.supersededBy = result.supersededBy;
  } else {
    t.state = 'deployed';
    t.revision = result.revision;
    if (result.url) t.url = result.url;
    delete t.error;
  }
}

/**
 * Puts a deployed target's traffic back on the revision that served before (`onTargetFailure:
 * rollback`). One Cloud Run refuses for good stays `deployed`, its error saying so (the new digest
 * serves there); a transient failure is rethrown, so the redelivery tries again.
 */
async function rollBack(ctx: Ctx, r: Release, t: TargetRecord): Promise<void> {
  const services = await ctx.deps.services(t);
  const previous = t.previousRevision!;
  try {
    const existing = await services.get(r.service);
    const spec = existing && rollbackTraffic(existing, previous);
    if (spec) {
      const waitMs = ctx.deadline - ctx.deps.now().getTime();
      if (waitMs <= 0) throw new RetryableError(`no time left to roll ${targetName(t)} back; the redelivery does it`, 'DEADLINE');
      const outcome = await services.update(spec, waitMs);
      if (!outcome.ok) throw new PermanentError(outcome.message, outcome.code ?? 'ROLLBACK_FAILED');
    }
    t.state = 'rolled_back';
    ctx.log.notice(`${r.service} v${r.release}: ${targetName(t)} went back to revision ${previous}`);
  } catch (err) {
    if (!(err instanceof DropdeployError) || err.retryable) throw err;
    // Not tried again: the target keeps the new digest, and the release's error says so.
    t.previousRevision = undefined;
    t.error = {code: 'ROLLBACK_FAILED', message: `putting traffic back on ${previous} failed: ${err.message}`};
    ctx.log.error(`${r.service} v${r.release}: rolling ${targetName(t)} back to ${previous} failed: ${err.message}`);
  }
}
