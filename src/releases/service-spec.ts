/**
 * The Cloud Run (v2) service a release deploys: a new service with the configured defaults,
 * or an existing one with only its image and dropdeploy's own labels/annotations changed.
 */
import {createHash} from 'node:crypto';
import type {ServiceDefaults} from '../config';
import {PermanentError} from '../errors';
import {ENV_LIMITS, mergeEnv, type EnvChange, type RunEnvVar} from './env';
import {resolveEnvChange, type EnvChangeRecord} from './env-record';
import {isRolloutTag} from './rollout';
import {latestIsUnsafe, releaseRevision} from './traffic-safety';

/** The parts of a Cloud Run v2 `Service` that dropdeploy reads or writes; the rest passes through. */
export interface RunService {
  name?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ingress?: string;
  etag?: string;
  uri?: string;
  template?: RunTemplate;
  traffic?: Array<{type?: string; percent?: number; revision?: string; tag?: string}>;
  [field: string]: unknown;
}

/** The revision template of a service. */
export interface RunTemplate {
  revision?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers?: Array<{
    name?: string;
    image?: string;
    env?: RunEnvVar[];
    ports?: unknown[];
    resources?: {limits?: Record<string, string>};
    [f: string]: unknown;
  }>;
  serviceAccount?: string;
  scaling?: {maxInstanceCount?: number; [f: string]: unknown};
  [field: string]: unknown;
}

/** The parts of a Cloud Run v2 `Revision` that dropdeploy reads: its containers, as its template made them. */
export interface RunRevision {
  name?: string;
  containers?: RunTemplate['containers'];
  [field: string]: unknown;
}

/** The label that marks a service as dropdeploy's; without it dropdeploy never touches a service. */
export const MANAGED_LABEL = 'managed-by';
/** Its value. */
export const MANAGED_VALUE = 'dropdeploy';
/**
 * The label that names the installation (its Firestore database and root) a service belongs
 * to: an installation deploys only over services with its own value, never another's.
 */
export const INSTALLATION_LABEL = 'dropdeploy-installation';
/** The label that names the release a service (and its revision) runs. */
export const RELEASE_LABEL = 'dropdeploy-release';
/** Annotations dropdeploy writes (its own namespace). */
export const ANNOTATION_SOURCE = 'dropdeploy.dev/source';
/** The annotation that names the build the image came from. */
export const ANNOTATION_BUILD = 'dropdeploy.dev/build';

/**
 * The installation's label value: the Firestore root, prefixed by a named database. A label
 * value holds at most 63 lowercase letters, digits, `_` and `-`; a root that does not fit
 * (uppercase, too long) is named by a hash, so two installations never share a value.
 */
export function installationId(firestore: {databaseId: string; root: string}): string {
  // Only the default database's roots stand as they are: `db` + a root could spell another
  // database's root, so a named database is always hashed with it.
  if (firestore.databaseId === '(default)' && /^[a-z][a-z0-9_-]{0,62}$/.test(firestore.root)) return firestore.root;
  return `i-${createHash('sha256').update(`${firestore.databaseId}/${firestore.root}`).digest('hex').slice(0, 20)}`;
}

/** What a deploy of a release writes. */
export interface DeployRequest {
  /** The installation's label value ({@link installationId}). */
  installation: string;
  /**
   * The release this installation's store records as deployed on the service: a service
   * without an installation label (made by a dropdeploy from before the label) is this
   * installation's when its release label names exactly that release.
   */
  recordedRelease?: number;
  release: number;
  image: string;
  /** `gs://bucket/object#generation`, or the rollback note. */
  sourceNote?: string;
  buildId?: string;
  /**
   * A config release's environment change: its record, and the values the record leaves out
   * when the request that made it is the one deploying it (empty otherwise).
   */
  env?: {record: EnvChangeRecord; values: Record<string, string>};
  /**
   * The serving container's env to start from instead of the service template's: a rollback's
   * restored environment, or the serving revision's when the latest revision failed.
   */
  baseEnv?: RunEnvVar[];
}

const LATEST_100 = [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}];

function ownLabels(d: DeployRequest): Record<string, string> {
  return {[MANAGED_LABEL]: MANAGED_VALUE, [INSTALLATION_LABEL]: d.installation, [RELEASE_LABEL]: `v${d.release}`};
}

function ownAnnotations(d: DeployRequest): Record<string, string> {
  const a: Record<string, string> = {};
  if (d.sourceNote) a[ANNOTATION_SOURCE] = d.sourceNote;
  if (d.buildId) a[ANNOTATION_BUILD] = d.buildId;
  return a;
}

/** A new service running `d.image`, with the configured defaults and 100% of traffic on the latest revision. */
export function newService(defaults: ServiceDefaults, d: DeployRequest): RunService {
  const container: NonNullable<RunTemplate['containers']>[number] = {image: d.image};
  if (d.baseEnv) container.env = structuredClone(d.baseEnv);
  if (d.env) container.env = mergeEnv(container.env, envChangeOf(d, false));
  const limits: Record<string, string> = {};
  if (defaults.memory) limits.memory = defaults.memory;
  if (defaults.cpu) limits.cpu = defaults.cpu;
  if (Object.keys(limits).length) container.resources = {limits};
  const template: RunTemplate = {labels: ownLabels(d), containers: [container]};
  if (defaults.serviceAccount) template.serviceAccount = defaults.serviceAccount;
  if (defaults.maxInstances !== undefined) template.scaling = {maxInstanceCount: defaults.maxInstances};
  return {labels: ownLabels(d), annotations: ownAnnotations(d), ingress: defaults.ingress, template, traffic: LATEST_100};
}

/**
 * The environment change a deploy applies. Values the release did not record and the request
 * did not bring can only be left as they are when the live service runs this release already
 * (`applied`: a repeated deploy); otherwise the change is lost and must be made again.
 */
function envChangeOf(d: DeployRequest, applied: boolean): EnvChange {
  const resolved = resolveEnvChange(d.env!.record, d.env!.values, applied);
  if (resolved.ok) return resolved.change;
  throw new PermanentError(
    `the values of ${resolved.missing.join(', ')} were not stored (the names look secret) and the request that set them is gone; ` +
      'set them again with `dropdeploy env <service> set NAME=VALUE`',
    'ENV_VALUES_NOT_STORED',
  );
}

/** The container that serves requests: the one with ports; with a single container, that one. */
export function ingressContainer<C extends {ports?: unknown[]}>(containers: C[]): C {
  return containers.find((c) => Array.isArray(c.ports) && c.ports.length > 0) ?? containers[0];
}

/** Why installation `installation` may not update `existing`, or undefined when it manages it. */
export function notManagedReason(
  existing: RunService,
  service: string,
  installation: string,
  recordedRelease?: number,
): string | undefined {
  const labels = existing.labels ?? {};
  const own = `${MANAGED_LABEL}=${MANAGED_VALUE} and ${INSTALLATION_LABEL}=${installation}`;
  if (labels[MANAGED_LABEL] !== MANAGED_VALUE) {
    return (
      `Cloud Run service "${service}" exists and is not managed by dropdeploy; ` +
      `to let this dropdeploy deploy it, add the labels ${own} to the service, or upload under another service name`
    );
  }
  // Made before services carried the installation label: ours if it runs what our store says
  // we deployed there (the update then writes the label).
  if (labels[INSTALLATION_LABEL] === undefined && recordedRelease !== undefined && liveRelease(existing) === recordedRelease)
    return undefined;
  if (labels[INSTALLATION_LABEL] !== installation) {
    const other = labels[INSTALLATION_LABEL]
      ? `another dropdeploy installation ("${labels[INSTALLATION_LABEL]}")`
      : 'a dropdeploy installation that did not name itself';
    return (
      `Cloud Run service "${service}" is managed by ${other}, not by this one ("${installation}"); ` +
      `upload under another service name, or set its label ${INSTALLATION_LABEL}=${installation} to hand it over`
    );
  }
  return undefined;
}

/** The release a live service runs by its label (`v7` → 7), or undefined. */
export function liveRelease(existing: RunService): number | undefined {
  const m = /^v([1-9]\d{0,9})$/.exec(existing.labels?.[RELEASE_LABEL] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** What deploying a release to the live service comes to. */
export type DeployPlan =
  | {kind: 'create'; spec: RunService}
  | {kind: 'update'; spec: RunService}
  /** The live service already runs a newer release of this installation: deploy nothing. */
  | {kind: 'superseded'; by: number};

/**
 * The fenced deploy: from one read of the live service, create it, or update it with that
 * read's etag — unless it already runs a newer release (a handler that outlived its lock
 * must never put older code back). Refuses a service this installation does not manage.
 */
export function planDeploy(existing: RunService | undefined, defaults: ServiceDefaults, d: DeployRequest, service: string): DeployPlan {
  if (!existing) return {kind: 'create', spec: newService(defaults, d)};
  const reason = notManagedReason(existing, service, d.installation, d.recordedRelease);
  if (reason) throw new PermanentError(reason, 'NOT_MANAGED');
  const live = liveRelease(existing);
  if (live !== undefined && live > d.release) return {kind: 'superseded', by: live};
  const spec = updatedService(existing, d, service);
  if (latestIsUnsafe(existing)) {
    // Target the new revision by name: if it fails to start, traffic stays where it is.
    const revision = releaseRevision(service, d.release);
    spec.template = {...spec.template, revision};
    spec.traffic = [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision, percent: 100}, ...(spec.traffic ?? []).slice(1)];
  }
  return {kind: 'update', spec};
}

/**
 * `existing` with the image of its serving container replaced and dropdeploy's labels and
 * annotations set; every other setting stays. Traffic goes 100% to the latest revision, which
 * also ends a split pinned by a rollback or by hand (tagged targets stay, at 0%). A fixed
 * revision name is dropped, since Cloud Run refuses to reuse it.
 */
export function updatedService(existing: RunService, d: DeployRequest, service: string): RunService {
  const reason = notManagedReason(existing, service, d.installation, d.recordedRelease);
  if (reason) throw new PermanentError(reason, 'NOT_MANAGED');
  const template: RunTemplate = structuredClone(existing.template ?? {});
  const containers = template.containers?.length ? template.containers : [{}];
  const target = ingressContainer(containers);
  target.image = d.image;
  if (d.baseEnv) target.env = structuredClone(d.baseEnv);
  if (d.env) {
    // The ingress container's env: the one `dropdeploy env` lists. Started from another env than
    // the template's, it is not the one this release may already have written.
    target.env = mergeEnv(target.env, envChangeOf(d, !d.baseEnv && liveRelease(existing) === d.release));
    if (target.env.length > ENV_LIMITS.perContainer)
      throw new PermanentError(
        `the change would give the container ${target.env.length} environment variables; Cloud Run takes at most ${ENV_LIMITS.perContainer}`,
        'INVALID_ARGUMENT',
      );
  }
  template.containers = containers;
  template.labels = {...template.labels, ...ownLabels(d)};
  delete template.revision;
  const annotations = {...existing.annotations, ...ownAnnotations(d)};
  // A rollback has no build: the previous release's build annotation would be wrong. A config
  // release runs the same image, so what it was built from stays true.
  if (!d.buildId && !d.env) delete annotations[ANNOTATION_BUILD];
  // Tagged targets (preview URLs an operator added) stay, at 0%; all traffic goes to the latest.
  // An unfinished rollout's tag goes: this newer release supersedes it.
  const tagged = (existing.traffic ?? []).filter((t) => t.tag && !isRolloutTag(t.tag)).map((t) => ({...t, percent: 0}));
  return {
    ...structuredClone(existing),
    labels: {...existing.labels, ...ownLabels(d)},
    annotations,
    template,
    traffic: [...LATEST_100, ...tagged],
  };
}
