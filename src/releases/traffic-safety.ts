/**
 * Which revision a deploy's traffic names (pure): `LATEST`, or the new revision by name when
 * `LATEST` could resolve to a revision that must not take traffic.
 */
import type {RunService} from './service-spec';

/**
 * Whether `LATEST` is unsafe for the next deploy: Cloud Run resolves it to the latest *ready*
 * revision, so when the new revision fails to start, traffic on LATEST goes to whatever revision
 * became ready last — and that is not what serves now when a canary, a rolled-back or a preview
 * revision came after it. Such a deploy names its revision and targets it by name instead.
 */
export function latestIsUnsafe(existing: RunService): boolean {
  const latest = shortRevisionName(existing.latestReadyRevision);
  if (!latest) return false;
  const statuses = (existing.trafficStatuses ?? []) as Array<{revision?: string; percent?: number}>;
  const serving = statuses.filter((t) => (t.percent ?? 0) > 0);
  return !(serving.length > 0 && serving.every((t) => t.revision === latest));
}

/** The name a release's revision is given when it must be targeted by name (`hello-r7`; within Cloud Run's 63 characters). */
export function releaseRevision(service: string, release: number): string {
  return `${service}-r${release}`;
}

/** A revision's short name from its resource name (`…/revisions/hello-r7` → `hello-r7`), or undefined. */
export function shortRevisionName(name: unknown): string | undefined {
  return typeof name === 'string' && name ? name.split('/').pop() : undefined;
}

/** Whether a traffic target is LATEST: its enum arrives as the name or, from some client paths, the number 1. */
export function isLatestTarget(t: {type?: unknown}): boolean {
  return t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' || t.type === 1;
}
