/**
 * The reconciler, the level-triggered half of "reconcile, don't react": each run reads the
 * store for releases that have not moved for the grace period and drives each one step from
 * what Cloud Build and Cloud Run say, and claims bucket objects no event announced. It uses
 * the event path's own steps (leases, the exactly-once claim, newest wins), so running it
 * beside event deliveries, or twice at once, changes nothing; it never waits for a step
 * another holds.
 */
import {durations} from '../config';
import {describeError, DropdeployError} from '../errors';
import type {Logger} from '../log';
import type {ListedObject} from '../ports';
import {lostBehind, nextStep, uploadCandidates} from '../releases/reconcile-plan';
import {isTerminalBuildStatus} from '../releases/build-statuses';
import {markSuperseded, type Release, type Source} from '../releases/release';
import {failBuild, finishBuild} from './build-status';
import {deployRelease} from './deploy';
import {newCtx, type Ctx, type Deps} from './deps';
import {publishPending} from './outbox';
import {stepRollouts} from './rollout';
import {startBuild} from './start-build';
import {handleUpload} from './upload';

/** At most this many unfinished releases are driven per run (oldest first). */
export const MAX_RELEASES_PER_RUN = 50;
/** Objects listed per page, and at most this many pages per bucket and run; a larger bucket is walked over several runs. */
export const OBJECTS_PER_PAGE = 1000;
const MAX_PAGES_PER_RUN = 10;

/** What one run did: each release and upload it acted on, with why. */
export interface ReconcileReport {
  releases: Array<{service: string; release: number; state: string; action: string; detail?: string}>;
  uploads: Array<{bucket: string; object: string; generation: string; action: string; detail?: string}>;
  /** Steps that failed transiently; the next run tries again. */
  errors: number;
}

/** One instance's reconciler: it keeps where it is in each bucket's listing between runs. */
export class Reconciler {
  private readonly cursors = new Map<string, string>();
  /** Where the last full page of unfinished releases ended: releases that do not move (long builds) do not hold back the rest. */
  private staleAfter: string | undefined;
  /** The same for rollouts: where the last full page of them ended. */
  private rolloutsAfter: string | undefined;
  private running: Promise<ReconcileReport> | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly log: Logger,
  ) {}

  /** One run; a run asked for while one is under way in this instance joins it. */
  run(): Promise<ReconcileReport> {
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runOnce(): Promise<ReconcileReport> {
    // Never wait for a step another delivery holds: it is alive, or its lease will end.
    const deps: Deps = {...this.deps, config: {...this.deps.config, waitSeconds: 0}};
    const ctx = newCtx(deps, this.log.with({component: 'reconciler'}));
    const report: ReconcileReport = {releases: [], uploads: [], errors: 0};
    const stale = await (
      await deps.store()
    ).listStale(new Date(deps.now().getTime() - durations(deps.config).graceMs), MAX_RELEASES_PER_RUN, this.staleAfter);
    this.staleAfter = stale.length === MAX_RELEASES_PER_RUN ? stale[stale.length - 1].updateTime : undefined;
    for (const r of stale) {
      if (deps.now().getTime() >= ctx.deadline) break;
      report.releases.push(await this.drive(ctx, r, report));
    }
    // Progressive rollouts move on every run: each step whose interval is over, each check due.
    const rollouts = await stepRollouts(ctx, MAX_RELEASES_PER_RUN, this.rolloutsAfter);
    this.rolloutsAfter = rollouts.next;
    for (const {failed, ...step} of rollouts.steps) {
      report.releases.push({...step, action: failed ? 'rollout step failed' : 'rollout step'});
      if (failed) report.errors++;
    }
    for (const bucket of deps.config.buckets) {
      if (deps.now().getTime() >= ctx.deadline) break;
      await this.claimLost(ctx, bucket, report);
    }
    const acted = report.releases.length + report.uploads.length;
    if (acted || report.errors)
      ctx.log.notice(
        `reconcile: ${report.releases.length} unfinished releases driven, ${report.uploads.length} unannounced uploads claimed, ${report.errors} transient errors`,
        {report},
      );
    else ctx.log.debug('reconcile: nothing to do');
    return report;
  }

  /** Drives one release a step, logging what and why. */
  private async drive(ctx: Ctx, r: Release, report: ReconcileReport): Promise<ReconcileReport['releases'][number]> {
    const log = ctx.log.with({service: r.service, release: r.release});
    const c: Ctx = {...ctx, log};
    const step = nextStep(r, ctx.deps.now());
    const entry = (action: string, detail?: string) => ({
      service: r.service,
      release: r.release,
      state: r.state,
      action,
      ...(detail ? {detail} : {}),
    });
    const why = `${r.service} v${r.release} has been ${r.state} since ${r.updateTime}`;
    try {
      // States reached but never announced (a publish failed and its redelivery was lost).
      await publishPending(c, r);
      switch (step.kind) {
        case 'none':
          return entry('none', step.reason);
        case 'fail': {
          log.error(`reconcile: ${why}, and nothing can move it (${step.reason}): ending it ${step.release.state}`);
          const ended = await (await ctx.deps.store()).update(r.service, r.release, (cur) => (cur.state === r.state ? step.release : cur));
          await publishPending(c, ended);
          return entry(ended.state, step.reason);
        }
        case 'build': {
          log.notice(`reconcile: ${why}: starting (or finding) its build`);
          const after = await startBuild(c, r);
          return entry('build', after.state);
        }
        case 'deploy': {
          log.notice(`reconcile: ${why}: deploying ${step.image}`);
          const after = await deployRelease(c, r, step.image);
          return entry('deploy', after.state);
        }
        case 'check-build': {
          const build = await (await ctx.deps.builds()).get(step.buildId).catch((err: unknown) => {
            if (err instanceof DropdeployError && err.code === 'NOT_FOUND') return undefined;
            throw err;
          });
          if (!build) {
            log.notice(`reconcile: ${why}, and Cloud Build has no build ${step.buildId}`);
            const out = await failBuild(
              c,
              r,
              'BUILD_NOT_FOUND',
              `build ${step.buildId} does not exist in Cloud Build; redeploy the service to build it again`,
            );
            return entry('build_failed', out.detail);
          }
          if (!isTerminalBuildStatus(build.status)) return entry('wait', `build ${build.id} is ${build.status}`);
          log.notice(`reconcile: ${why}: build ${build.id} ended ${build.status} and its status never arrived`);
          const out = await finishBuild(c, r, build);
          return entry(out.action, out.detail);
        }
      }
    } catch (err) {
      const {action, detail} = failure(err, report, log, why);
      return entry(action, detail);
    }
  }

  /** Lists up to a few pages of `bucket` and claims each source generation no event announced. */
  private async claimLost(ctx: Ctx, bucket: string, report: ReconcileReport): Promise<void> {
    const {deps} = ctx;
    const {config} = deps;
    try {
      for (let page = 0; page < MAX_PAGES_PER_RUN && deps.now().getTime() < ctx.deadline; page++) {
        const listed = await (await deps.objects()).list(bucket, config.prefix, OBJECTS_PER_PAGE, this.cursors.get(bucket));
        if (listed.next) this.cursors.set(bucket, listed.next);
        else this.cursors.delete(bucket);
        const candidates = uploadCandidates(listed.objects, deps.now(), {
          ...durations(config),
          prefix: config.prefix,
          controllerServices: config.controllerServices,
        });
        const claimed = await (await deps.store()).claimed(candidates.map((o) => ({bucket, object: o.name, generation: o.generation})));
        for (const [i, o] of candidates.entries()) {
          if (claimed[i] || deps.now().getTime() >= ctx.deadline) continue;
          report.uploads.push(await this.claimOne(ctx, bucket, o, report));
        }
        if (!listed.next) break;
      }
    } catch (err) {
      report.errors++;
      ctx.log.warn(`reconcile: listing gs://${bucket} failed; the next run tries again: ${describeError(err)}`);
    }
  }

  /** Claims one unannounced generation: built as an upload, or recorded superseded if a newer release came meanwhile. */
  private async claimOne(
    ctx: Ctx,
    bucket: string,
    o: ListedObject & {service: string},
    report: ReconcileReport,
  ): Promise<ReconcileReport['uploads'][number]> {
    const {deps} = ctx;
    const source: Source = {bucket, object: o.name, generation: o.generation};
    for (const k of ['size', 'md5Hash', 'crc32c', 'contentType', 'timeCreated'] as const) if (o[k]) source[k] = o[k];
    const log = ctx.log.with({bucket, object: o.name, generation: o.generation});
    const entry = (action: string, detail?: string) => ({
      bucket,
      object: o.name,
      generation: o.generation,
      action,
      ...(detail ? {detail} : {}),
    });
    const what = `gs://${bucket}/${o.name}#${o.generation} was created at ${o.timeCreated} and no event announced it`;
    try {
      const store = await deps.store();
      const known = await store.getService(o.service);
      const newest = known?.lastRelease ? await store.get(o.service, known.lastRelease) : undefined;
      const behind = lostBehind(o.timeCreated, newest);
      if (behind === undefined) {
        log.notice(`reconcile: ${what}: claiming it`);
        const out = await handleUpload({...ctx, log}, {kind: 'upload', via: 'reconciler', source, metadata: o.metadata});
        return entry(out.action, out.detail);
      }
      // v{behind} was made after this upload while its event was lost: it must not replace it.
      log.notice(`reconcile: ${what}, and v${behind} of ${o.service} came after it: recording it superseded, not building it`);
      const holder = deps.newId();
      const {release, created} = await store.claimSource(
        o.service,
        source,
        {trigger: 'upload', actor: `gs://${bucket}/${o.name}#${o.generation} (reconciler: no event arrived)`},
        deps.now(),
        {holder, leaseMs: durations(deps.config).leaseMs},
      );
      if (!created) return entry('duplicate', release.state);
      const ended = await store.update(o.service, release.release, (cur) => markSuperseded(cur, behind, deps.now()).release);
      await store.releaseLease(o.service, release.release, holder);
      await publishPending({...ctx, log}, ended);
      return entry('superseded', `v${behind} came after it`);
    } catch (err) {
      const {action, detail} = failure(err, report, log, `claiming gs://${bucket}/${o.name}#${o.generation}`);
      return entry(action, detail);
    }
  }
}

/**
 * A step that threw: `busy` when another delivery holds its lease (it is alive, or its lease
 * will end), otherwise a transient error, counted and logged; the next run tries again.
 */
function failure(err: unknown, report: ReconcileReport, log: Logger, what: string): {action: string; detail: string} {
  if (err instanceof DropdeployError && err.code === 'BUSY') return {action: 'busy', detail: 'another delivery holds its lease'};
  report.errors++;
  log.warn(`reconcile: ${what}; the step failed and the next run tries again: ${describeError(err)}`);
  return {action: 'error', detail: describeError(err)};
}
