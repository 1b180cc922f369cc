/**
 * The deploy step: take the service's deploy lock (or be superseded by a newer release), then
 * create or update the Cloud Run service and record the outcome. One deploy of a service at a
 * time; a duplicate delivery waits for the running deploy instead of starting another.
 */
import {DropdeployError} from '../errors';
import type {Release} from '../releases/release';
import {newService, updatedService, type DeployRequest} from '../releases/service-spec';
import type {DeployOutcome} from '../ports';
import type {Ctx} from './deps';
import {publishPending} from './outbox';
import {retryWhileBusy} from './wait';

/** Deploys `image` (by digest) as release `release`, unless a newer release wins. */
export async function deployRelease(ctx: Ctx, release: Release, image: string): Promise<Release> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const holder = deps.newId();
  const lease = await retryWhileBusy(ctx, `a deploy of service ${release.service}`, async () => {
    const l = await store.leaseDeploy(release.service, release.release, image, holder, deps.now(), deps.config.leaseSeconds * 1000);
    if (l.kind !== 'busy') return l;
    if (l.stalled?.image) {
      // A newer release's deploy stopped half way (its handler failed or died) and nobody holds
      // the lock: finish it here. Waiting for its own redelivery could take long, or never
      // come while deliveries like this one hold the push subscription's slots.
      log.notice(`finishing the interrupted deploy of ${release.service} v${l.stalled.release} first`);
      await deployRelease({deps, log: log.with({release: l.stalled.release})}, l.stalled, l.stalled.image);
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
  // must be recorded before the lock is let go, even when the announcement failed.
  const [rolled, announced] = await Promise.allSettled([rollout(ctx, r, lease.value.image), publishPending(ctx, r)]);
  let outcome: DeployOutcome;
  if (rolled.status === 'fulfilled') outcome = rolled.value;
  else if (rolled.reason instanceof DropdeployError && !rolled.reason.retryable) outcome = {ok: false, code: rolled.reason.code, message: rolled.reason.message};
  else {
    await store.releaseLease(r.service, r.release, holder).catch(() => undefined);
    throw rolled.reason;
  }
  const done = await store.finishDeploy(r.service, r.release,
    outcome.ok ? {revision: outcome.revision, url: outcome.url} : {error: {code: outcome.code ?? 'REVISION_FAILED', message: outcome.message}}, holder, deps.now());
  // A failed announcement of `deploying` is retried by the redelivery (the outbox still owes it).
  if (announced.status === 'rejected') throw announced.reason;
  if (done.state === 'deployed') log.notice(`deployed ${r.service} v${r.release}: revision ${done.revision} at ${done.url ?? '(no url)'}`);
  else log.error(`deploy of ${r.service} v${r.release} ended ${done.state}: ${done.error?.message ?? ''}`);
  await publishPending(ctx, done);
  return done;
}

async function rollout(ctx: Ctx, r: Release, image: string): Promise<DeployOutcome> {
  const {deps} = ctx;
  const services = await deps.services();
  const request: DeployRequest = {
    release: r.release,
    image,
    sourceNote: r.rollbackOf !== undefined ? `rollback to v${r.rollbackOf}` : r.source && `gs://${r.source.bucket}/${r.source.object}#${r.source.generation}`,
    buildId: r.buildId,
  };
  const existing = await services.get(r.service);
  if (!existing) return services.create(r.service, newService(deps.config.service, request));
  // updatedService refuses (permanently, NOT_MANAGED) a service dropdeploy does not manage.
  return services.update(updatedService(existing, request, r.service));
}
