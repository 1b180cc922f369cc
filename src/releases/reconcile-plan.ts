/**
 * What the reconciler does with what it finds: the next step of an unfinished release, and
 * which listed objects may be uploads whose event never came. Pure: time comes in as an
 * argument.
 */
import {classifyObject} from './naming';
import type {Release} from './release';

/** The next step of a release that has not moved for the grace period. */
export type NextStep =
  | {kind: 'build'}
  | {kind: 'check-build'; buildId: string}
  | {kind: 'deploy'; image: string}
  | {kind: 'none'; reason: string};

/** The step that drives `r` on, from what it records. */
export function nextStep(r: Release): NextStep {
  switch (r.state) {
    case 'accepted':
      // A rollback carries its image and needs no build.
      if (r.image) return {kind: 'deploy', image: r.image};
      return r.source ? {kind: 'build'} : {kind: 'none', reason: 'it has neither a source to build nor an image to deploy'};
    case 'building':
      return r.buildId ? {kind: 'check-build', buildId: r.buildId} : {kind: 'none', reason: 'it records no build id'};
    case 'deploying':
      return r.image ? {kind: 'deploy', image: r.image} : {kind: 'none', reason: 'it records no image'};
    default:
      return {kind: 'none', reason: `it is ${r.state}`};
  }
}

/** A listed object, as much as the choice needs. */
export interface Listed {
  name: string;
  timeCreated?: string;
}

/**
 * The listed objects that are sources and were created inside the window: older than the
 * grace period (their event had its chance) and newer than the look-back (older ones were
 * claimed, superseded, or predate the installation).
 */
export function uploadCandidates<T extends Listed>(objects: T[], now: Date, o: {graceMs: number; lookbackMs: number; prefix: string; controllerServices: readonly string[]}): T[] {
  const newest = now.getTime() - o.graceMs;
  const oldest = now.getTime() - o.lookbackMs;
  return objects.filter((obj) => {
    const created = obj.timeCreated ? Date.parse(obj.timeCreated) : NaN;
    if (!Number.isFinite(created) || created > newest || created < oldest) return false;
    return classifyObject(obj.name, o.prefix, o.controllerServices).kind === 'source';
  });
}
