/**
 * The Cloud Run side of previews (pure): the service update that adds a preview's revision with
 * no traffic and its tag — the main line's traffic left exactly as it was — and the one that
 * takes a preview's tag away.
 */
import {PermanentError} from '../errors';
import {ingressContainer, notManagedReason, RELEASE_LABEL, type RunService, type RunTemplate} from './service-spec';
import {isLatestTarget, shortRevisionName} from './traffic-safety';

/** One Cloud Run v2 traffic target. */
type Target = NonNullable<RunService['traffic']>[number];

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';

/** What a preview deploy writes. */
export interface PreviewDeploy {
  /** The installation's label value (`installationId`). */
  installation: string;
  /** The main-line release the store records as deployed (for services from before the installation label). */
  recordedRelease?: number;
  release: number;
  image: string;
  /** The preview's name: its traffic tag. */
  name: string;
}

/** The revision a preview release creates: named, so the same update can tag it (`hello-p7`). */
export function previewRevisionName(service: string, release: number): string {
  return `${service}-p${release}`;
}

/** The release of a preview revision of `service` by its name, or undefined for any other revision. */
export function previewRevisionRelease(service: string, revision: string | undefined): number | undefined {
  if (!revision?.startsWith(`${service}-p`)) return undefined;
  const m = /^([1-9]\d{0,9})$/.exec(revision.slice(service.length + 2));
  return m ? Number(m[1]) : undefined;
}

/** The URL Cloud Run reports for traffic tag `tag` (`trafficStatuses[].uri`), if any. */
export function tagUrl(existing: RunService, tag: string): string | undefined {
  const statuses = (existing.trafficStatuses ?? []) as Array<{tag?: string; uri?: string}>;
  return statuses.find((s) => s.tag === tag && s.uri)?.uri;
}

/** What deploying a preview release comes to on the live service. */
export type PreviewPlan =
  | {kind: 'update'; spec: RunService; revision: string}
  /** The preview's tag is on this release's revision already (a deploy repeated after a crash). */
  | {kind: 'same'; revision: string; url?: string}
  /** The preview's tag is on a newer release of the same preview: newest wins. */
  | {kind: 'superseded'; by: number};

/**
 * A preview's deploy, from one read of the live service (its etag goes with the update): the
 * template gets the preview's image and a named revision; every LATEST target is pinned to the
 * revision it resolves to (the latest ready one), so the new revision takes no traffic; every
 * other target and percent stays exactly (a canary's split included); the tag `name` moves to
 * the new revision. The service's labels (the main line's `dropdeploy-release` fence) stay.
 */
export function planPreview(existing: RunService | undefined, d: PreviewDeploy, service: string): PreviewPlan {
  if (!existing)
    throw new PermanentError(
      `Cloud Run service "${service}" does not exist yet, and a preview only runs beside a main line; ` +
        `upload ${service}/<file>.tgz first, then upload the preview again`,
      'PREVIEW_WITHOUT_SERVICE',
    );
  const reason = notManagedReason(existing, service, d.installation, d.recordedRelease);
  if (reason) throw new PermanentError(reason, 'NOT_MANAGED');
  const revision = previewRevisionName(service, d.release);
  const current = (existing.traffic ?? []).find((t) => t.tag === d.name);
  if (current?.revision === revision) return {kind: 'same', revision, url: tagUrl(existing, d.name)};
  const newer = previewRevisionRelease(service, current?.revision);
  if (newer !== undefined && newer > d.release) return {kind: 'superseded', by: newer};
  const latest = shortRevisionName(existing.latestReadyRevision);
  const live: Target[] = existing.traffic?.length ? existing.traffic : [{type: LATEST, percent: 100}];
  const traffic = live.flatMap((t): Target[] => {
    let x: Target = {...t};
    if (isLatestTarget(t)) {
      if (!latest)
        throw new PermanentError(
          `Cloud Run service "${service}" has no ready revision to keep its traffic on; deploy the main line first, then the preview again`,
          'PREVIEW_WITHOUT_SERVICE',
        );
      x = {type: REVISION, revision: latest, percent: t.percent ?? 0, ...(t.tag ? {tag: t.tag} : {})};
    }
    if (x.tag !== d.name) return [x];
    // The preview's old revision: untagged; dropped unless someone gave it traffic by hand.
    const {tag: _t, ...untagged} = x;
    return (x.percent ?? 0) > 0 ? [untagged] : [];
  });
  traffic.push({type: REVISION, revision, percent: 0, tag: d.name});
  const template: RunTemplate = structuredClone(existing.template ?? {});
  const containers = template.containers?.length ? template.containers : [{}];
  ingressContainer(containers).image = d.image;
  template.containers = containers;
  template.revision = revision;
  // The revision's own label names its release; the service's labels stay the main line's.
  template.labels = {...template.labels, [RELEASE_LABEL]: `v${d.release}`};
  return {kind: 'update', revision, spec: {...structuredClone(existing), template, traffic}};
}

/** What removing a preview's tag comes to: the update, or nothing (no such tag). */
export type RemovalPlan = {kind: 'update'; spec: RunService} | {kind: 'none'};

/** The live service without the tag `name` (a target with traffic keeps its traffic, untagged); everything else stays. */
export function planPreviewRemoval(existing: RunService | undefined, name: string): RemovalPlan {
  if (!existing || !(existing.traffic ?? []).some((t) => t.tag === name)) return {kind: 'none'};
  const traffic = (existing.traffic ?? []).flatMap((t): Target[] => {
    if (t.tag !== name) return [t];
    const {tag: _t, ...untagged} = t;
    return (t.percent ?? 0) > 0 ? [untagged] : [];
  });
  return {kind: 'update', spec: {...structuredClone(existing), traffic}};
}
