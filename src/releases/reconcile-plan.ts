/**
 * What the reconciler does with what it finds: the next step of an unfinished release, and
 * which listed objects may be uploads whose event never came. Pure: time comes in as an
 * argument.
 */
import {classifyObject, functionSettings, rolloutOverride} from './naming';
import {markBuildFailed, markDeployFailed, markRejected, type Release} from './release';

/** The next step of a release that has not moved for the grace period. */
export type NextStep =
  | {kind: 'build'}
  | {kind: 'check-build'; buildId: string}
  | {kind: 'deploy'; image: string}
  /** Nothing can ever move it: end it with this record (it would otherwise head every run's query). */
  | {kind: 'fail'; release: Release; reason: string}
  | {kind: 'none'; reason: string};

/** The step that drives `r` on, from what it records (`now` times a failure). */
export function nextStep(r: Release, now: Date): NextStep {
  const fail = (mark: typeof markRejected, code: string, reason: string): NextStep => ({
    kind: 'fail',
    release: mark(r, {code, message: `${reason}; nothing can move it on`}, now).release,
    reason,
  });
  switch (r.state) {
    case 'accepted':
      // A rollback carries its image and needs no build.
      if (r.image) return {kind: 'deploy', image: r.image};
      return r.source
        ? {kind: 'build'}
        : fail(markRejected, 'NOTHING_TO_DEPLOY', 'it has neither a source to build nor an image to deploy');
    case 'building':
      return r.buildId ? {kind: 'check-build', buildId: r.buildId} : fail(markBuildFailed, 'NO_BUILD', 'it records no build id');
    case 'deploying':
      return r.image ? {kind: 'deploy', image: r.image} : fail(markDeployFailed, 'NO_IMAGE', 'it records no image');
    default:
      return {kind: 'none', reason: `it is ${r.state}`};
  }
}

/**
 * Whether an upload no event announced came before the service's newest release, which then
 * superseded it while it was lost (it is recorded, never built over newer code): the newest
 * release's own upload time if it was an upload, or the time an operator made it.
 */
export function lostBehind(
  timeCreated: string | undefined,
  newest: Pick<Release, 'release' | 'createTime' | 'trigger' | 'source'> | undefined,
): number | undefined {
  if (!newest || !timeCreated) return undefined;
  const madeAt = newest.trigger === 'upload' ? (newest.source?.timeCreated ?? newest.createTime) : newest.createTime;
  return Date.parse(madeAt) > Date.parse(timeCreated) ? newest.release : undefined;
}

/** A listed object, as much as the choice needs. */
export interface Listed {
  name: string;
  timeCreated?: string;
  metadata: Record<string, string>;
}

/**
 * The listed objects that are sources and were created inside the window — older than the
 * grace period (their event had its chance), newer than the look-back (older ones were
 * claimed, superseded, or predate the installation) — oldest first, so a service's lost
 * uploads are numbered in the order they were made. Objects whose event would reject them
 * (bad function or rollout metadata) are left out: a rejection records nothing, so every run would
 * announce it again.
 */
export function uploadCandidates<T extends Listed>(
  objects: T[],
  now: Date,
  o: {graceMs: number; lookbackMs: number; prefix: string; controllerServices: readonly string[]},
): Array<T & {service: string}> {
  const newest = now.getTime() - o.graceMs;
  const oldest = now.getTime() - o.lookbackMs;
  return objects
    .flatMap((obj) => {
      const created = obj.timeCreated ? Date.parse(obj.timeCreated) : NaN;
      if (!Number.isFinite(created) || created > newest || created < oldest) return [];
      const named = classifyObject(obj.name, o.prefix, o.controllerServices);
      return named.kind === 'source' && functionSettings(obj.metadata).ok && rolloutOverride(obj.metadata).ok
        ? [{...obj, service: named.service}]
        : [];
    })
    .sort((a, b) => Date.parse(a.timeCreated!) - Date.parse(b.timeCreated!));
}
