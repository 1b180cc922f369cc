/**
 * The deploy step: take the service's deploy lock (or be superseded by a newer release), then
 * create or update the Cloud Run service and record the outcome. One deploy of a service at a
 * time; a duplicate delivery waits for the running deploy instead of starting another.
 */
import {durations} from '../config';
import {describeError, DropdeployError, PermanentError, RetryableError} from '../errors';
import {imageProblem} from '../releases/naming';
import type {DeployResult} from '../releases/decisions';
import type {Release} from '../releases/release';
import {rolloutTag, startRollout} from '../releases/rollout';
import type {RolloutPolicy} from '../releases/rollout-policy';
import {noTrafficTagged} from '../releases/rollout-traffic';
import {releaseRevision} from '../releases/traffic-safety';
import {
  ingressContainer,
  INSTALLATION_LABEL,
  installationId,
  planDeploy,
  type DeployRequest,
  type RunService,
} from '../releases/service-spec';
import {effectivePolicy} from '../releases/policy-patch';
import {invalidTargetsMessage, resolveTargets, type DeployTarget} from '../releases/targets';
import type {Services, StoredPolicy} from '../ports';
import type {Ctx} from './deps';
import {deployedEnvRecord, envBase} from './deploy-env';
import {publishPending} from './outbox';
import {policyLayers} from './policy';
import {deployPreview} from './preview';
import {runRolloutStep} from './rollout';
import {deployTargets, homeTarget} from './targets';
import {retryWhileBusy} from './wait';

/**
 * Deploys `image` (by digest) as release `release`, unless a newer release wins. `envValues`:
 * for a config release, the values its record leaves out, when the request that made the
 * change deploys it (any other delivery deploys without them).
 */
export async function deployRelease(ctx: Ctx, release: Release, image: string, envValues: Record<string, string> = {}): Promise<Release> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const holder = deps.newId();
  const {leaseMs} = durations(deps.config);
  // The service's policy is read beside the lock's transaction, not after it: one round trip
  // less before Cloud Run is called. After a wait for another deploy it is read again.
  let policy: Promise<StoredPolicy | undefined> | undefined = store.getPolicy(release.service);
  policy.catch(() => undefined); // read again below if it failed
  const lease = await retryWhileBusy(ctx, `a deploy of service ${release.service}`, async () => {
    const l = await store.leaseDeploy(release.service, release.release, image, holder, deps.now(), leaseMs);
    if (l.kind !== 'busy') return l;
    policy = undefined;
    if (l.stalled?.image) {
      // A newer release's deploy stopped half way (its handler failed or died) and nobody holds
      // the lock: finish it here. Waiting for its own redelivery could take long, or never
      // come while deliveries like this one hold the push subscription's slots.
      log.notice(`finishing the interrupted deploy of ${release.service} v${l.stalled.release} first`);
      await deployRelease({...ctx, log: log.with({release: l.stalled.release})}, l.stalled, l.stalled.image);
    } else {
      log.info(`waiting for the deploy of ${release.service} v${l.holder} to finish`);
    }
    return undefined;
  });
  if (lease.kind === 'done') {
    await publishPending(ctx, lease.release);
    if (lease.release.state === 'superseded') log.notice(`v${release.release} superseded by v${lease.release.supersededBy}: not deployed`);
    return lease.release;
  }
  const r = lease.release;
  // `deploying` is announced while Cloud Run is called, not before (no added latency; the
  // outbox still publishes it before `deployed`). The rollout is always awaited: its outcome
  // must be recorded before the lock is let go, even when the announcement failed. The lock
  // is renewed while the rollout is waited for.
  const renewal = keepDeployLock(ctx, r, holder);
  const [rolled, announced] = await Promise.allSettled([
    rollout(
      ctx,
      r,
      lease.value.image,
      envValues,
      holder,
      policy?.catch(() => store.getPolicy(r.service)),
    ),
    publishPending(ctx, r),
  ]).finally(renewal.stop);
  let result: DeployResult;
  if (rolled.status === 'fulfilled') result = rolled.value;
  else if (rolled.reason instanceof DropdeployError && !rolled.reason.retryable)
    result = {error: {code: rolled.reason.code, message: rolled.reason.message}};
  else {
    await store.releaseLease(r.service, r.release, holder).catch(() => undefined);
    throw rolled.reason;
  }
  const done = await store.finishDeploy(r.service, r.release, result, holder, deps.now());
  // A failed announcement of `deploying` is retried by the redelivery (the outbox still owes it).
  if (announced.status === 'rejected') throw announced.reason;
  if (done.state === 'verifying') {
    log.notice(`${r.service} v${r.release}: revision ${done.revision} is ready with no traffic; checking it before it takes traffic`);
    await publishPending(ctx, done);
    // The first step (the check) runs now; later steps on the reconciler's ticks.
    return runRolloutStep(ctx, done);
  }
  if (done.state === 'deployed') log.notice(`deployed ${r.service} v${r.release}: revision ${done.revision} at ${done.url ?? '(no url)'}`);
  else if (done.state === 'superseded') log.notice(`v${r.release} not deployed: the live service already runs v${done.supersededBy}`);
  else if (done.state === 'deploying')
    log.warn(
      `deploy of ${r.service} v${r.release} failed after its lock was taken over (${'error' in result ? result.error.message : ''}); the new holder finishes it`,
    );
  else log.error(`deploy of ${r.service} v${r.release} ended ${done.state}: ${done.error?.message ?? ''}`);
  await publishPending(ctx, done);
  return done;
}

/**
 * Renews the deploy lock every third of a lease while the rollout is waited for, up to the
 * handler's deadline: a handler frozen past it stops renewing, so its lock ends and another
 * delivery (or the reconciler) takes over.
 */
function keepDeployLock(ctx: Ctx, r: Release, holder: string): {stop: () => void} {
  const {deps, log} = ctx;
  const {leaseMs, renewEveryMs} = durations(deps.config);
  const timer = setInterval(() => {
    if (deps.now().getTime() >= ctx.deadline) return clearInterval(timer);
    void deps
      .store()
      .then((store) => store.renewDeployLock(r.service, r.release, holder, deps.now(), leaseMs))
      .then((held) => {
        if (!held) log.warn(`the deploy lock of ${r.service} v${r.release} was taken over while its rollout was waited for`);
      })
      .catch((err: unknown) => log.warn(`renewing the deploy lock of ${r.service} v${r.release} failed: ${describeError(err)}`));
  }, renewEveryMs);
  timer.unref();
  return {stop: () => clearInterval(timer)};
}

/**
 * The release's deploy: a preview to the primary target alone; otherwise to each of the policy's
 * targets (one, the controller's own region, unless the policy lists more).
 */
async function rollout(
  ctx: Ctx,
  r: Release,
  image: string,
  envValues: Record<string, string>,
  holder: string,
  storedPolicy?: Promise<StoredPolicy | undefined>,
): Promise<DeployResult> {
  // A preview has no traffic to protect: it deploys at once, beside the main line.
  if (r.preview) return deployPreview(ctx, r, image);
  const {deps} = ctx;
  const foreign = imageProblem(deps.config, r.service, image);
  if (foreign) throw new PermanentError(foreign, 'IMAGE_NOT_ALLOWED');
  const layers = await policyLayers(ctx, r, storedPolicy);
  const policy = effectivePolicy(layers.configured, layers.stored, layers.override);
  const resolved = resolveTargets(policy, homeTarget(deps.config));
  if (!resolved.ok) throw new PermanentError(invalidTargetsMessage(r.service, resolved.message, layers), 'INVALID_TARGETS');
  if (resolved.targets.length === 1 && !r.targets?.length)
    return deployTo(ctx, r, image, envValues, {services: await deps.services(), policy});
  return deployTargets(ctx, r, resolved.targets, policy, holder, (target, services, onRead) =>
    deployTo(ctx, r, image, envValues, {services, target, onRead}),
  );
}

/** Where one deploy goes, and what it may do there. */
interface DeployPlace {
  services: Services;
  /** Another target than the controller's own (its env is restored from its own revisions). */
  target?: DeployTarget;
  /** The policy, for a deploy that may roll out progressively (one target only). */
  policy?: RolloutPolicy;
  /** Called with the live service once read, before Cloud Run is asked to change it. */
  onRead?: (existing: RunService | undefined) => Promise<void>;
}

/**
 * The fenced deploy to one target: one read of the live service decides (a newer release there
 * supersedes this one), and its etag goes with the update, so a write raced by another is refused.
 */
async function deployTo(ctx: Ctx, r: Release, image: string, envValues: Record<string, string>, place: DeployPlace): Promise<DeployResult> {
  const {deps} = ctx;
  const {services} = place;
  const request: DeployRequest = {
    installation: installationId(deps.config.firestore),
    release: r.release,
    image,
    sourceNote:
      r.rollbackOf !== undefined
        ? `rollback to v${r.rollbackOf}`
        : r.source && `gs://${r.source.bucket}/${r.source.object}#${r.source.generation}`,
    buildId: r.buildId,
    ...(r.env ? {env: {record: r.env, values: envValues}} : {}),
  };
  const existing = await services.get(r.service);
  // A service from before the installation label: what our store recorded there proves it ours.
  // The store records the primary's deployed release only: in another target it proves nothing.
  if (existing && !place.target && existing.labels?.[INSTALLATION_LABEL] === undefined)
    request.recordedRelease = (await (await deps.store()).getService(r.service))?.deployed?.release;
  // planDeploy refuses (permanently, NOT_MANAGED) a service this installation does not manage.
  // Reads only (the store, a revision): planDeploy below still refuses a service not ours.
  const {baseEnv, redact} = await envBase(ctx, r, existing, services, place.target);
  if (baseEnv) request.baseEnv = baseEnv;
  const plan = planDeploy(existing, deps.config.service, request, r.service);
  if (plan.kind === 'superseded') return {supersededBy: plan.by};
  const containers = existing?.template?.containers ?? [];
  const env = deployedEnvRecord(plan.spec, r, baseEnv ?? (containers.length ? ingressContainer(containers).env : undefined), redact);
  const progressive = plan.kind === 'update' && place.policy ? await progressiveStart(ctx, r, place.policy) : undefined;
  if (progressive && plan.kind === 'update') {
    const revision = releaseRevision(r.service, r.release);
    plan.spec.template = {...plan.spec.template, revision};
    plan.spec.traffic = noTrafficTagged(existing!, progressive.stable.revision, revision, rolloutTag(r.release));
  }
  await place.onRead?.(existing);
  const waitMs = ctx.deadline - deps.now().getTime();
  if (waitMs <= 0)
    throw new RetryableError(
      `the deploy of ${r.service} v${r.release} reached its handler's deadline before Cloud Run was called; the event will be redelivered`,
      'DEADLINE',
    );
  const outcome = plan.kind === 'create' ? await services.create(r.service, plan.spec, waitMs) : await services.update(plan.spec, waitMs);
  if (!outcome.ok) return {error: {code: outcome.code ?? 'REVISION_FAILED', message: outcome.message}};
  if (!progressive) return {revision: outcome.revision, url: outcome.url, env};
  const tag = rolloutTag(r.release);
  return {
    revision: outcome.revision,
    url: outcome.url,
    env,
    rollout: startRollout(progressive.policy, r.release, progressive.stable, deps.now(), outcome.tagUrls?.[tag]),
  };
}

/**
 * Whether this release rolls out progressively, and from which stable revision: its policy is
 * `verified` or `canary`, it is not a rollback (an operator rolling back wants it now), and a
 * deployed release's revision serves the service (a first deploy has nothing to protect).
 */
async function progressiveStart(
  ctx: Ctx,
  r: Release,
  policy: RolloutPolicy,
): Promise<{policy: RolloutPolicy; stable: {release: number; revision: string}} | undefined> {
  if (r.trigger === 'rollback') return undefined;
  if (policy.strategy === 'immediate') return undefined;
  const deployed = (await (await ctx.deps.store()).getService(r.service))?.deployed;
  if (!deployed?.revision || deployed.release >= r.release) {
    ctx.log.info(
      `${r.service} v${r.release}: no earlier revision serves the service; it takes all traffic at once (${policy.strategy} policy)`,
    );
    return undefined;
  }
  return {policy, stable: {release: deployed.release, revision: deployed.revision}};
}
