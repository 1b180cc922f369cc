/**
 * A Cloud Build status event: act only on terminal statuses of builds this controller
 * started, confirmed with GetBuild; a failure is recorded, a success goes on to deploy.
 */
import {RetryableError} from '../errors';
import type {BuildInput} from '../events/input';
import type {BuildInfo} from '../ports';
import {adoptionProblem, BUILD_TAG, buildSpec, releaseBuildTag, releaseOfBuild} from '../releases/build-request';
import {isTerminalBuildStatus} from '../releases/build-statuses';
import {imageByDigest, releaseImageTag} from '../releases/naming';
import {markBuildFailed, TERMINAL, type Release} from '../releases/release';
import type {Ctx, Outcome} from './deps';
import {deployRelease} from './deploy';
import {publishPending} from './outbox';
import {retryWhileBusy} from './wait';

/** Build statuses after which a build never changes. */

/** Handles one build status message. */
export async function handleBuildStatus(ctx: Ctx, input: BuildInput): Promise<Outcome> {
  const {deps} = ctx;
  let log = ctx.log.with({buildId: input.buildId});
  // Messages of other builds in the project are common: decide from the message before any call.
  if (input.tags.length && !input.tags.includes(BUILD_TAG)) return ignored(log, 'not a dropdeploy build');
  if (!isTerminalBuildStatus(input.status)) return ignored(log, `status ${input.status} is not terminal`);
  // The release the message names is read while GetBuild runs: one round trip less before the
  // deploy. The message proves nothing, so the read is used only if GetBuild names the same one.
  const named = releaseOfBuild(input, deps.config.firestore.root);
  const early = named && deps.store().then((st) => st.get(named.service, named.release));
  early?.catch(() => undefined); // read again below if it failed
  const build = await (await deps.builds()).get(input.buildId);
  const owner = releaseOfBuild(build, deps.config.firestore.root);
  if (!owner)
    return ignored(
      log,
      'not a build of this dropdeploy installation (tag dropdeploy and substitutions _DD_ROOT, _DD_SERVICE, _DD_RELEASE)',
    );
  if (!isTerminalBuildStatus(build.status)) {
    // The message says the build ended; acknowledging it now would lose the build's end, as
    // Cloud Build sends it only once. Ask for the redelivery until GetBuild agrees.
    throw new RetryableError(
      `build ${input.buildId}: the status message says ${input.status} but GetBuild says ${build.status}; the event will be redelivered`,
      'BUILD_STATUS_PENDING',
    );
  }
  log = log.with({service: owner.service, release: owner.release});
  const c: Ctx = {...ctx, log};
  const store = await deps.store();
  const same = early && named.service === owner.service && named.release === owner.release;
  let r = same ? await early.catch(() => store.get(owner.service, owner.release)) : await store.get(owner.service, owner.release);
  if (!r) return ignored(log, `release ${owner.service} v${owner.release} is not in this installation's store`);
  const notItsBuild = (rel: Release) =>
    ignored(log, `build ${build.id} is not the build of ${rel.service} v${rel.release} (${rel.buildId ?? 'none recorded'})`);
  if (r.buildId !== build.id) {
    // A build whose id was never recorded (a crash right after CreateBuild) is adopted if it
    // carries the release's own tag; any other build is not this release's.
    if (r.state !== 'accepted' || !r.source || !build.tags.includes(releaseBuildTag(deps.config.firestore.root, r.service, r.release)))
      return notItsBuild(r);
    // A tag alone proves nothing: the build must be exactly the one this release asks for.
    const problem = adoptionProblem(build, buildSpec(deps.config, r, r.source));
    if (problem) {
      log.warn(`build ${build.id} carries the tag of ${r.service} v${r.release} but is not its build (${problem}); not adopted`);
      return {action: 'ignored', detail: `not the build of ${r.service} v${r.release}: ${problem}`};
    }
    // While the delivery that started the build holds its lease, it is about to record it.
    const {service, release} = r;
    r = (
      await retryWhileBusy(c, `the recording of build ${build.id} of ${service} v${release}`, async () => {
        const adopted = await store.adoptBuild(service, release, {buildId: build.id, logUrl: build.logUrl}, deps.now());
        return adopted.kind === 'busy' ? undefined : adopted;
      })
    ).release;
    if (r.buildId !== build.id) return notItsBuild(r);
  }
  return finishBuild(c, r, build);
}

/**
 * The step after a build ended (`build` is the release's own, confirmed terminal): a failure
 * is recorded, a success goes on to deploy the image it pushed. Shared with the reconciler.
 */
export async function finishBuild(ctx: Ctx, r: Release, build: BuildInfo): Promise<Outcome> {
  const {deps} = ctx;
  await publishPending(ctx, r);
  if (TERMINAL.has(r.state)) return {action: 'noop', detail: `release is already ${r.state}`, service: r.service, release: r.release};
  if (build.status !== 'SUCCESS') {
    const detail = build.failureDetail ? `: ${build.failureDetail}` : '';
    return failBuild(
      ctx,
      r,
      `BUILD_${build.status}`,
      `build ${build.id} ended ${build.status}${detail}; logs: ${build.logUrl ?? r.buildLogUrl ?? 'unavailable'}`,
    );
  }
  const tagged = releaseImageTag(deps.config, r.service, r.release);
  // Only the image this release's build was asked to push, never whatever else it pushed.
  const pushed = build.images.find((i) => i.name === tagged);
  if (!pushed) {
    return failBuild(
      ctx,
      r,
      'NO_IMAGE',
      `build ${build.id} succeeded but did not push ${tagged} (it pushed ${build.images.map((i) => i.name).join(', ') || 'nothing'}); logs: ${build.logUrl ?? 'unavailable'}`,
    );
  }
  const done = await deployRelease(ctx, r, imageByDigest(pushed.name, pushed.digest));
  return {action: done.state, service: r.service, release: r.release};
}

/** Records a build that ended without an image to deploy. */
export async function failBuild(ctx: Ctx, r: Release, code: string, message: string): Promise<Outcome> {
  const {deps, log} = ctx;
  log.error(message, {code});
  const failed = await (
    await deps.store()
  ).update(r.service, r.release, (cur) => markBuildFailed(cur, {code, message}, deps.now()).release);
  await publishPending(ctx, failed);
  return {action: 'build_failed', service: r.service, release: r.release};
}

function ignored(log: Ctx['log'], reason: string): Outcome {
  log.debug(`build status ignored: ${reason}`);
  return {action: 'ignored', detail: reason};
}
