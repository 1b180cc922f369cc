/**
 * The Cloud Run traffic of a progressive rollout (pure): the no-traffic tagged revision a
 * deploy creates, each step's split between the stable and the new revision, and the way back.
 */
import {PermanentError} from '../errors';
import type {Release} from './release';
import {isRolloutTag} from './rollout';
import {liveRelease, type RunService} from './service-spec';
import {isLatestTarget} from './traffic-safety';

/** One Cloud Run v2 traffic target. */
export type TrafficTarget = NonNullable<RunService['traffic']>[number];

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';

/** Tags an operator added (previews, own names): kept, at the percent they had (0 after a deploy). */
function otherTags(existing: RunService, ownTag: string): TrafficTarget[] {
  return (existing.traffic ?? []).filter((t) => t.tag && t.tag !== ownTag && !isRolloutTag(t.tag)).map((t) => ({...t, percent: 0}));
}

/**
 * The traffic of a deploy that starts a rollout: everything stays on the stable revision, the
 * new revision (named by the deploy, so a revision that fails to start is never what the tag or
 * any traffic resolves to) gets none and the rollout's tag, so it has its own URL to be checked
 * at. Another rollout's tag goes (a newer release supersedes it).
 */
export function noTrafficTagged(existing: RunService, stableRevision: string, revision: string, tag: string): TrafficTarget[] {
  return [
    {type: REVISION, revision: stableRevision, percent: 100},
    {type: REVISION, revision, percent: 0, tag},
    ...otherTags(existing, tag),
  ];
}

/** The traffic with `percent` on the release's revision and the rest on the stable one (0: all back; 100: all on the new). */
export function splitTraffic(existing: RunService, r: Release, percent: number): TrafficTarget[] {
  const ro = r.rollout!;
  const others = otherTags(existing, ro.tag);
  if (percent >= 100) return [{type: REVISION, revision: r.revision, percent: 100}, ...others];
  if (percent <= 0) return [{type: REVISION, revision: ro.stable.revision, percent: 100}, ...others];
  return [
    {type: REVISION, revision: ro.stable.revision, percent: 100 - percent},
    {type: REVISION, revision: r.revision, percent, tag: ro.tag},
    ...others,
  ];
}

function key(t: TrafficTarget): string {
  const type = isLatestTarget(t) ? 'latest' : `rev:${t.revision ?? ''}`;
  return `${type}|${t.percent ?? 0}|${t.tag ?? ''}`;
}

/** True when two traffic lists send the same percents to the same targets with the same tags. */
export function sameTraffic(a: readonly TrafficTarget[], b: readonly TrafficTarget[]): boolean {
  const ka = a
    .filter((t) => (t.percent ?? 0) > 0 || t.tag)
    .map(key)
    .sort();
  const kb = b
    .filter((t) => (t.percent ?? 0) > 0 || t.tag)
    .map(key)
    .sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** What moving a rollout's traffic to `percent` comes to on the live service. */
export type TrafficPlan =
  | {kind: 'update'; spec: RunService}
  /** The live service has that traffic already (a step repeated after a crash). */
  | {kind: 'same'}
  /** The live service runs a newer release: the rollout is over. */
  | {kind: 'superseded'; by: number};

/**
 * The fenced traffic change of a rollout step: from one read of the live service (its etag
 * goes with the update), unless a newer release runs there; a service that runs neither this
 * release nor a newer one was changed by hand, and the rollout stops there rather than guess.
 */
export function planTraffic(existing: RunService | undefined, r: Release, percent: number): TrafficPlan {
  if (!existing) throw new PermanentError(`Cloud Run service "${r.service}" was deleted during the rollout of v${r.release}`, 'NOT_FOUND');
  const live = liveRelease(existing);
  if (live !== undefined && live > r.release) return {kind: 'superseded', by: live};
  if (live !== r.release)
    throw new PermanentError(
      `Cloud Run service "${r.service}" no longer runs release v${r.release} (its label says ${live === undefined ? 'none' : `v${live}`}): ` +
        'it was changed outside dropdeploy during the rollout; redeploy the release to roll it out again',
      'ROLLOUT_INTERRUPTED',
    );
  const traffic = splitTraffic(existing, r, percent);
  if (sameTraffic(existing.traffic ?? [], traffic)) return {kind: 'same'};
  return {kind: 'update', spec: {...structuredClone(existing), traffic}};
}
