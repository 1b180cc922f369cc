/**
 * The build step of a release: `accepted` → CreateBuild → `building`. Never waits for the
 * build; its completion arrives as its own event.
 */
import {PermanentError, type DropdeployError} from '../errors';
import {buildSpec, releaseBuildTag} from '../releases/build-request';
import {markBuildFailed, markBuilding, type Release} from '../releases/release';
import type {LeaseOutcome} from '../ports';
import type {Ctx} from './deps';
import {publishPending} from './outbox';
import {retryWhileBusy} from './wait';

/**
 * Starts the build of an `accepted` release exactly once, or finds the one already started.
 * `heldBy` is the lease holder when the caller already holds the build lease (it just
 * created the release).
 */
export async function startBuild(ctx: Ctx, release: Release, heldBy?: string): Promise<Release> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const holder = heldBy ?? deps.newId();
  const lease: LeaseOutcome<{earlierAttempt: boolean}> = heldBy
    ? {kind: 'go', release, value: {earlierAttempt: false}}
    : await retryWhileBusy(ctx, `the build start of ${release.service} v${release.release}`, async () => {
      const l = await store.leaseBuild(release.service, release.release, holder, deps.now(), deps.config.leaseSeconds * 1000);
      return l.kind === 'busy' ? undefined : l;
    });
  if (lease.kind === 'done') return lease.release;
  const r = lease.release;
  if (!r.source) throw new PermanentError(`release ${r.service} v${r.release} has no source to build`, 'NO_SOURCE');
  try {
    const builds = await deps.builds();
    // Only after an attempt that may have died between CreateBuild and recording its id:
    // the build is then found by its release tag instead of being started twice.
    const found = lease.value.earlierAttempt ? await builds.findByTag(releaseBuildTag(deps.config.firestore.root, r.service, r.release)) : undefined;
    const build = found ?? await builds.create(buildSpec(deps.config, r, r.source));
    log.info(found ? `build ${build.buildId} of an earlier attempt adopted` : `build ${build.buildId} created`, {buildId: build.buildId, logUrl: build.logUrl});
    // The lease needs no release: it only guards the `accepted` state, which this ends.
    const updated = await store.update(r.service, r.release, (cur) => markBuilding(cur, build, deps.now()).release);
    await publishPending(ctx, updated);
    return updated;
  } catch (err) {
    const e = err as DropdeployError;
    if (e.retryable === false) {
      // CreateBuild refused the request (invalid argument, permission): no retry can fix it.
      log.error(`build of ${r.service} v${r.release} could not start: ${e.message}`, {code: e.code});
      const failed = await store.update(r.service, r.release, (cur) => markBuildFailed(cur, {code: e.code, message: e.message}, deps.now()).release);
      await publishPending(ctx, failed);
      return failed;
    }
    await store.releaseLease(r.service, r.release, holder).catch(() => undefined);
    throw err;
  }
}
