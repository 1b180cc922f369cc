/**
 * The decisions the store makes for previews (pure): newest wins within one preview name, never
 * against the main line; previews take the service's deploy lock like any deploy; a removal is
 * recorded and covers every release of the preview claimed before it. Time comes in as an argument.
 */
import type {DeployLock, DeployResult} from './decisions';
import {markDeployFailed, markDeploying, markSuperseded, TERMINAL, transition, type Release} from './release';
import {ROLLOUT_STATES} from './states';

/** What the store keeps of one preview of a service. */
export interface PreviewState {
  /** The newest release claimed for the preview, and its source generation. */
  latest?: number;
  generation?: string;
  /** The newest release of the preview that started deploying (never decreases). */
  started?: number;
  /** What the preview's tag serves: release, revision, its own URL, since when. */
  release?: number;
  revision?: string;
  url?: string;
  time?: string;
  /** The preview was removed (object deleted, or the API): every release up to `through` is gone with it. */
  removed?: {through: number; time: string; actor: string};
}

/** True when the preview is removed and no release was claimed for it since. */
export function isRemoved(p: PreviewState | undefined): boolean {
  return !!p?.removed && p.removed.through >= (p.latest ?? 0);
}

/** The preview after release `n` (of source generation `generation`) was claimed for it. */
export function claimedPreview(p: PreviewState | undefined, n: number, generation: string): PreviewState {
  if (p?.latest !== undefined && p.latest >= n) return p;
  return {...p, latest: n, generation};
}

function liveOther(lock: DeployLock | null | undefined, holder: string, now: Date): DeployLock | undefined {
  return lock && lock.holder !== holder && lock.until > now.getTime() ? lock : undefined;
}

/** What taking the deploy lock for a preview release comes to. */
export type PreviewLeaseDecision =
  | {kind: 'done'; release: Release; write: boolean}
  | {kind: 'busy'; holder: number}
  | {kind: 'go'; release: Release; lock: DeployLock; preview: PreviewState};

/**
 * A preview release deploys unless the preview was removed after it was claimed, or a newer
 * release of the same preview started deploying (newest wins); the main line's releases never
 * count. One deploy of the service at a time: a live lock of anyone else is `busy`.
 */
export function decidePreviewLease(
  release: Release,
  lock: DeployLock | null | undefined,
  p: PreviewState | undefined,
  image: string,
  holder: string,
  now: Date,
  leaseMs: number,
): PreviewLeaseDecision {
  if (TERMINAL.has(release.state) || ROLLOUT_STATES.has(release.state)) return {kind: 'done', release, write: false};
  const n = release.release;
  const name = release.preview?.name ?? '';
  if (p?.removed && p.removed.through >= n) {
    const why = `the preview "${name}" was removed (${p.removed.actor}) before this release of it deployed`;
    return {kind: 'done', release: transition(release, 'superseded', {}, now, why).release, write: true};
  }
  const newer = Math.max(p?.started ?? 0, p?.release ?? 0);
  if (newer > n) return {kind: 'done', release: markSuperseded(release, newer, now).release, write: true};
  const other = liveOther(lock, holder, now);
  if (other) return {kind: 'busy', holder: other.release};
  return {
    kind: 'go',
    release: markDeploying(release, release.image ?? image, now).release,
    lock: {release: n, holder, until: now.getTime() + leaseMs},
    preview: {...p, started: Math.max(p?.started ?? 0, n)},
  };
}

/** What recording a preview deploy's end writes: the release, the preview (when its tag moved), whether the lock goes. */
export interface PreviewFinish {
  release: Release;
  preview?: PreviewState;
  unlock: boolean;
}

/**
 * Records a preview deploy's outcome (`result.url`: the preview's own URL). A success moves the
 * preview to this release when it is the newest deployed; a failure counts only from the lock's
 * holder (one whose lock was taken over saw its write refused, not the release fail).
 */
export function decideFinishPreview(
  release: Release,
  lock: DeployLock | null | undefined,
  p: PreviewState | undefined,
  result: DeployResult,
  holder: string,
  now: Date,
): PreviewFinish {
  const ownLock = lock?.holder === holder;
  const name = release.preview?.name ?? '';
  if ('error' in result) return {release: ownLock ? markDeployFailed(release, result.error, now).release : release, unlock: ownLock};
  if ('supersededBy' in result) return {release: markSuperseded(release, result.supersededBy, now).release, unlock: ownLock};
  const at = result.url ? ` at ${result.url}` : '';
  const next = transition(
    release,
    'deployed',
    {revision: result.revision, url: result.url, preview: {name, ...(result.url ? {url: result.url} : {})}},
    now,
    `revision ${result.revision} is the preview "${name}"${at}, with no traffic`,
  ).release;
  if ((p?.release ?? 0) >= release.release) return {release: next, unlock: ownLock};
  const preview: PreviewState = {...p, release: release.release, revision: result.revision, time: now.toISOString()};
  if (result.url) preview.url = result.url;
  else delete preview.url;
  return {release: next, preview, unlock: ownLock};
}

/** What removing a preview comes to. */
export type RemovalDecision =
  /** The store knows no such preview. */
  | {kind: 'unknown'}
  /** A newer generation of the preview's object was claimed: the deleted one was an overwritten generation. */
  | {kind: 'kept'; reason: string}
  /** Removed already, and nothing claimed since. */
  | {kind: 'done'; removed: NonNullable<PreviewState['removed']>}
  | {kind: 'busy'; holder: number}
  | {kind: 'go'; lock: DeployLock; through: number};

/**
 * A removal takes the service's deploy lock (it changes the service's traffic) and covers every
 * release claimed for the preview so far. A deleted object (`generation`) removes the preview
 * only when it is the newest generation claimed for it: Cloud Storage also sends `deleted` for
 * the generation an upload replaced.
 */
export function decidePreviewRemoval(
  p: PreviewState | undefined,
  lock: DeployLock | null | undefined,
  holder: string,
  now: Date,
  leaseMs: number,
  generation?: string,
): RemovalDecision {
  if (!p || p.latest === undefined) return {kind: 'unknown'};
  if (generation !== undefined && p.generation !== undefined && BigInt(p.generation) > BigInt(generation))
    return {kind: 'kept', reason: `generation ${generation} was replaced by generation ${p.generation}, which is the preview now`};
  if (isRemoved(p)) return {kind: 'done', removed: p.removed!};
  const other = liveOther(lock, holder, now);
  if (other) return {kind: 'busy', holder: other.release};
  return {kind: 'go', lock: {release: p.latest, holder, until: now.getTime() + leaseMs}, through: p.latest};
}

/** The preview once its tag is gone: removed through `through`, by `actor`; what it served is no longer reachable. */
export function removedPreview(p: PreviewState, through: number, actor: string, now: Date): PreviewState {
  const {url: _u, ...rest} = p;
  return {...rest, removed: {through, time: now.toISOString(), actor}};
}

/** A preview as listed: its name, the release and revision its tag serves, its URL, the newest release claimed for it. */
export interface PreviewView {
  name: string;
  latestRelease: number;
  release?: number;
  revision?: string;
  url?: string;
  time?: string;
}

/** The previews that are not removed, by name. */
export function listedPreviews(all: Record<string, PreviewState> | undefined): PreviewView[] {
  return Object.entries(all ?? {})
    .filter(([, p]) => p.latest !== undefined && !isRemoved(p))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => {
      const v: PreviewView = {name, latestRelease: p.latest!};
      if (p.release !== undefined && !(p.removed && p.removed.through >= p.release)) {
        v.release = p.release;
        if (p.revision) v.revision = p.revision;
        if (p.url) v.url = p.url;
        if (p.time) v.time = p.time;
      }
      return v;
    });
}
