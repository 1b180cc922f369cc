/**
 * Previews on Cloud Run: deploying one (a tagged revision with no traffic, the main line's
 * traffic untouched) and removing one (its tag goes). Both run under the service's deploy lock
 * and send the update with the etag of the read they were planned from.
 */
import {durations} from '../config';
import {PermanentError, RetryableError} from '../errors';
import type {DeployResult} from '../releases/decisions';
import {imageProblem} from '../releases/naming';
import {planPreview, planPreviewRemoval} from '../releases/preview-traffic';
import type {Release} from '../releases/release';
import {INSTALLATION_LABEL, installationId} from '../releases/service-spec';
import type {Ctx} from './deps';
import {retryWhileBusy} from './wait';

function remaining(ctx: Ctx, what: string): number {
  const waitMs = ctx.deadline - ctx.deps.now().getTime();
  if (waitMs <= 0) throw new RetryableError(`${what} reached its handler's deadline before Cloud Run was called; retry it`, 'DEADLINE');
  return waitMs;
}

/**
 * Deploys preview release `r` (the caller holds the deploy lock): always at once, whatever the
 * service's rollout policy, as the revision takes no traffic. `url` of the result is the
 * preview's own (its tag's) URL.
 */
export async function deployPreview(ctx: Ctx, r: Release, image: string): Promise<DeployResult> {
  const {deps} = ctx;
  const name = r.preview!.name;
  const foreign = imageProblem(deps.config, r.service, image);
  if (foreign) throw new PermanentError(foreign, 'IMAGE_NOT_ALLOWED');
  const services = await deps.services();
  const existing = await services.get(r.service);
  const recordedRelease =
    existing && existing.labels?.[INSTALLATION_LABEL] === undefined
      ? (await (await deps.store()).getService(r.service))?.deployed?.release
      : undefined;
  const plan = planPreview(
    existing,
    {installation: installationId(deps.config.firestore), recordedRelease, release: r.release, image, name},
    r.service,
  );
  if (plan.kind === 'superseded') return {supersededBy: plan.by};
  if (plan.kind === 'same') return {revision: plan.revision, url: plan.url};
  const outcome = await services.update(plan.spec, remaining(ctx, `the preview deploy of ${r.service} v${r.release}`));
  if (!outcome.ok) return {error: {code: outcome.code ?? 'REVISION_FAILED', message: outcome.message}};
  return {revision: outcome.revision, url: outcome.tagUrls?.[name]};
}

/** The answer to a removal: whether a tag went, and what happened in words. */
export interface RemovalResult {
  removed: boolean;
  detail: string;
}

/**
 * Removes preview `name` of `service`: its tag goes from the traffic (every other target stays)
 * and the store records it, so no release of it claimed so far deploys again. Idempotent: a
 * second removal, or one of an unknown preview, changes nothing and says so. `generation`: of a
 * deleted object, which removes the preview only if it is the newest generation claimed for it.
 */
export async function removePreview(
  ctx: Ctx,
  service: string,
  name: string,
  opts: {actor: string; generation?: string},
): Promise<RemovalResult> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const holder = deps.newId();
  const {leaseMs} = durations(deps.config);
  const lease = await retryWhileBusy(ctx, `a deploy of service ${service}`, async () => {
    const l = await store.leasePreviewRemoval(service, name, holder, deps.now(), leaseMs, opts.generation);
    if (l.kind !== 'busy') return l;
    log.info(`removing preview "${name}" of ${service} waits for the deploy of v${l.holder}`);
    return undefined;
  });
  switch (lease.kind) {
    case 'unknown':
      return {removed: false, detail: `service "${service}" has no preview "${name}"; nothing to remove`};
    case 'kept':
      return {removed: false, detail: `preview "${name}" of ${service} stays: ${lease.reason}`};
    case 'done':
      return {
        removed: false,
        detail: `preview "${name}" of ${service} was removed already (${lease.removed.time}, ${lease.removed.actor})`,
      };
  }
  try {
    const services = await deps.services();
    const plan = planPreviewRemoval(await services.get(service), name);
    if (plan.kind === 'update') {
      const outcome = await services.update(plan.spec, remaining(ctx, `removing preview "${name}" of ${service}`));
      if (!outcome.ok)
        throw new PermanentError(
          `Cloud Run refused to remove the tag "${name}" of ${service}: ${outcome.message}; try again`,
          outcome.code ?? 'UPDATE_FAILED',
        );
    }
    await store.finishPreviewRemoval(service, name, lease.through, holder, opts.actor, deps.now());
    log.notice(`preview "${name}" of ${service} removed (${plan.kind === 'update' ? 'its tag is gone' : 'no tag was left'})`);
    return {removed: true, detail: `preview "${name}" of ${service} removed; its URL no longer answers`};
  } catch (err) {
    await store.releaseLease(service, lease.through, holder).catch(() => undefined);
    throw err;
  }
}
