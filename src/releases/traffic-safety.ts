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
  const ready = existing.latestReadyRevision;
  const latest = typeof ready === 'string' ? ready.split('/').pop() : undefined;
  if (!latest) return false;
  const statuses = (existing.trafficStatuses ?? []) as Array<{revision?: string; percent?: number}>;
  const serving = statuses.filter((t) => (t.percent ?? 0) > 0);
  return !(serving.length > 0 && serving.every((t) => t.revision === latest));
}

/** The name a release's revision is given when it must be targeted by name (`hello-r7`; within Cloud Run's 63 characters). */
export function releaseRevision(service: string, release: number): string {
  return `${service}-r${release}`;
}
