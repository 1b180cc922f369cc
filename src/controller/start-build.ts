/**
 * The build step of a release: `accepted` → CreateBuild → `building`. Never waits for the
 * build; its completion arrives as its own event.
 */
import {durations} from '../config';
import {PermanentError, type DropdeployError} from '../errors';
import {adoptionProblem, buildSpec, releaseBuildTag, type BuildSpec} from '../releases/build-request';
import {markBuildFailed, markBuilding, type Release} from '../releases/release';
import type {BuildInfo, LeaseOutcome} from '../ports';
import type {Ctx} from './deps';
import {publishPending, publishUnannounced} from './outbox';
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
  const outcome: LeaseOutcome<{earlierAttempt: boolean}> = heldBy
    ? {kind: 'go', release, value: {earlierAttempt: false}}
    : await retryWhileBusy(ctx, `the build start of ${release.service} v${release.release}`, async () => {
        const l = await store.leaseBuild(release.service, release.release, holder, deps.now(), durations(deps.config).leaseMs);
        return l.kind === 'busy' ? undefined : l;
      });
  if (outcome.kind === 'done') return outcome.release;
  const r = outcome.release;
  if (!r.source) throw new PermanentError(`release ${r.service} v${r.release} has no source to build`, 'NO_SOURCE');
  const fail = async (err: unknown): Promise<never> => {
    await store.releaseLease(r.service, r.release, holder).catch(() => undefined);
    throw err;
  };
  let build: {buildId: string; logUrl?: string};
  try {
    const builds = await deps.builds();
    const spec = buildSpec(deps.config, r, r.source);
    // Only after an attempt that may have died between CreateBuild and recording its id:
    // the build is then found by its release tag instead of being started twice — if it is
    // the very build this release asks for (a tag alone proves nothing).
    const found = outcome.value.earlierAttempt
      ? adoptable(ctx, r, await builds.findByTag(releaseBuildTag(deps.config.firestore.root, r.service, r.release)), spec)
      : undefined;
    build = found ? {buildId: found.id, logUrl: found.logUrl} : await builds.create(spec);
    log.info(found ? `build ${build.buildId} of an earlier attempt adopted` : `build ${build.buildId} created`, {
      buildId: build.buildId,
      logUrl: build.logUrl,
    });
  } catch (err) {
    const e = err as DropdeployError;
    if (e.retryable !== false) return fail(err);
    // CreateBuild refused the request (invalid argument, permission): no retry can fix it.
    log.error(`build of ${r.service} v${r.release} could not start: ${e.message}`, {code: e.code});
    const failed = await store.update(
      r.service,
      r.release,
      (cur) => markBuildFailed(cur, {code: e.code, message: e.message}, deps.now()).release,
    );
    await publishPending(ctx, failed);
    return failed;
  }
  try {
    // While this delivery holds the lease, the stored release is still `r`: publish its
    // `accepted` and `building` events, then record the build and those events in one write,
    // without a read. The events may reach a subscriber a few ms before the write lands; if
    // the write fails, the redelivery adopts this build and records the same state.
    const building = markBuilding(r, build, deps.now()).release;
    const states = await publishUnannounced(ctx, building);
    const recorded = {...building, published: [...building.published, ...states]};
    if (await store.putHeld(recorded, holder)) return recorded;
    // The lease was taken over while this delivery was slow: record through a transaction,
    // which never moves a release back from a later state.
    log.notice(
      `the build lease of ${r.service} v${r.release} was taken over meanwhile; recording build ${build.buildId} through a transaction`,
    );
    const updated = await store.update(r.service, r.release, (cur) => markBuilding(cur, build, deps.now()).release);
    await publishPending(ctx, updated);
    return updated;
  } catch (err) {
    return fail(err);
  }
}

/** The first of `candidates` that is exactly the build `spec` asks for; the others are logged and left alone. */
function adoptable({log}: Ctx, r: Release, candidates: BuildInfo[], spec: BuildSpec): BuildInfo | undefined {
  for (const b of candidates) {
    const problem = adoptionProblem(b, spec);
    if (!problem) return b;
    log.warn(`build ${b.id} carries the tag of ${r.service} v${r.release} but is not its build (${problem}); not adopted`, {buildId: b.id});
  }
  return undefined;
}
