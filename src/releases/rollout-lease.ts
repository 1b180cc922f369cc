/**
 * The store's decisions for rollout steps (pure): a step runs under the service's deploy lock,
 * so it never interleaves with a deploy or another step; a newer release that started
 * deploying ends the rollout (newest wins); only the lock's holder records a step.
 */
import {markSuperseded, type Release} from './release';
import type {DeployLock, ServiceState} from './decisions';
import {ROLLOUT_STATES} from './states';

/** What taking the lock for a rollout step comes to. */
export type StepLeaseDecision =
  /** Not rolling out (`write` false), or superseded now (`write` true: store `release`). */
  | {kind: 'done'; release: Release; write: boolean}
  /** Another live holder works on release `holder` of the service. */
  | {kind: 'busy'; holder: number}
  | {kind: 'go'; lock: DeployLock};

/** The lock for the next step of `release`'s rollout, from the service's state. */
export function decideStepLease(release: Release, svc: ServiceState, holder: string, now: Date, leaseMs: number): StepLeaseDecision {
  if (!ROLLOUT_STATES.has(release.state)) return {kind: 'done', release, write: false};
  const n = release.release;
  const newer = Math.max(svc.deployed ?? 0, svc.deployStarted ?? 0);
  if (newer > n) return {kind: 'done', release: markSuperseded(release, newer, now).release, write: true};
  const lock = svc.lock;
  if (lock && lock.holder !== holder && lock.until > now.getTime()) return {kind: 'busy', holder: lock.release};
  return {kind: 'go', lock: {release: n, holder, until: now.getTime() + leaseMs}};
}

/** What recording a step writes. */
export interface FinishStepDecision {
  /** The record to store, or undefined when this holder lost the lock (its successor records). */
  release?: Release;
  /** The service's new deployed release, when the rollout ended at 100 % and it is the newest. */
  deployed?: {release: number; image?: string; revision: string; url?: string; time: string};
  unlock: boolean;
}

/**
 * Records `next` (the step's outcome) if `holder` still holds the lock; `keepLock`: a write-ahead
 * record in the middle of the step, which goes on under the lock.
 */
export function decideFinishStep(next: Release, svc: ServiceState, holder: string, now: Date, keepLock = false): FinishStepDecision {
  if (svc.lock?.holder !== holder || svc.lock.release !== next.release) return {unlock: false};
  if (keepLock) return {release: next, unlock: false};
  const deployed =
    next.state === 'deployed' && next.revision && (svc.deployed ?? 0) < next.release
      ? {release: next.release, image: next.image, revision: next.revision, url: next.url, time: now.toISOString()}
      : undefined;
  return {release: next, ...(deployed ? {deployed} : {}), unlock: true};
}
