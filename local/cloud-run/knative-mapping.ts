/**
 * Cloud Run Admin API v1 (Knative Serving `serving.knative.dev/v1`, what `gcloud run` speaks)
 * as a view of the v2 state the emulator keeps: v2 Service/Revision → Knative Service/Revision
 * JSON, and a Knative Service a client PUTs back → the v2 Service to send as UpdateService.
 * Pure functions; the HTTP side is knative-v1.ts.
 *
 * Only what maps onto a v2 field is read back; a v2 field v1 has no word for stays as it was,
 * so a gcloud round trip that changes the env changes the env only.
 */
import {timestampJson} from '../grpc/time';
import type {Condition, Container, EnvVar, Revision, Service, TrafficTarget} from './messages';
import {shortRevision} from './service-status';
import {LATEST} from './spec';

const API_VERSION = 'serving.knative.dev/v1';
const REVISION_TRAFFIC = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
/** The label Cloud Run v1 puts on every resource to tell its region. */
export const LOCATION_LABEL = 'cloud.googleapis.com/location';
const SERVICE_LABEL = 'serving.knative.dev/service';
const MAX_SCALE = 'autoscaling.knative.dev/maxScale';
const MIN_SCALE = 'autoscaling.knative.dev/minScale';
/** Annotation prefixes only the server (or gcloud's own bookkeeping) writes: never stored as v2 annotations. */
const SYSTEM_ANNOTATION = /^(serving\.knative\.dev|run\.googleapis\.com|client\.knative\.dev|autoscaling\.knative\.dev)\//;

/** Where the resources live: the v1 namespace is the project; `region` is the stack's own (a resource's name says its own). */
export interface KnativeContext {
  project: string;
  region: string;
}

/** The location of `projects/P/locations/L/…`, else the context's region. */
function locationOf(name: string | undefined, ctx: KnativeContext): string {
  return /^projects\/[^/]+\/locations\/([^/]+)\//.exec(name ?? '')?.[1] ?? ctx.region;
}

/** Kubernetes ObjectMeta, as Cloud Run v1 fills it. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  selfLink?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<Record<string, unknown>>;
}

/** A Knative container (the fields the v2 emulator has). */
export interface KnativeContainer {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{name?: string; value?: string; valueFrom?: {secretKeyRef?: {name?: string; key?: string}}}>;
  ports?: Array<{name?: string; containerPort?: number}>;
  resources?: {limits?: Record<string, string>};
}

/** RevisionSpec (a template's spec, and a Revision's). */
export interface RevisionSpec {
  containerConcurrency?: number;
  timeoutSeconds?: number;
  serviceAccountName?: string;
  containers?: KnativeContainer[];
}

/** A Knative traffic target (spec and status). */
export interface KnativeTraffic {
  revisionName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  url?: string;
}

/** A Knative condition. */
export interface KnativeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: string;
}

/** serving.knative.dev/v1 Service. */
export interface KnativeService {
  apiVersion: string;
  kind: 'Service';
  metadata: ObjectMeta;
  spec: {template: {metadata?: ObjectMeta; spec: RevisionSpec}; traffic?: KnativeTraffic[]};
  status?: {
    observedGeneration?: number;
    conditions?: KnativeCondition[];
    latestReadyRevisionName?: string;
    latestCreatedRevisionName?: string;
    url?: string;
    address?: {url?: string};
    traffic?: KnativeTraffic[];
  };
}

/** serving.knative.dev/v1 Revision. */
export interface KnativeRevision {
  apiVersion: string;
  kind: 'Revision';
  metadata: ObjectMeta;
  spec: RevisionSpec;
  status: {observedGeneration?: number; conditions: KnativeCondition[]; logUrl?: string; imageDigest?: string};
}

const STATUS: Record<string, KnativeCondition['status']> = {CONDITION_SUCCEEDED: 'True', CONDITION_FAILED: 'False'};

/** A v2 condition as Knative writes it: SUCCEEDED True, FAILED False, anything else (pending, reconciling) Unknown. */
export function knativeCondition(c: Condition): KnativeCondition {
  const out: KnativeCondition = {type: c.type ?? 'Ready', status: STATUS[c.state ?? ''] ?? 'Unknown'};
  const reason = c.reason ?? c.revisionReason;
  if (reason) out.reason = reason;
  if (c.message) out.message = c.message;
  if (c.lastTransitionTime) out.lastTransitionTime = timestampJson(c.lastTransitionTime);
  if (c.severity) out.severity = c.severity === 'ERROR' ? 'Error' : c.severity === 'WARNING' ? 'Warning' : 'Info';
  return out;
}

function timeJson(t: Service['createTime']): string | undefined {
  return t ? timestampJson(t) : undefined;
}

function nonEmpty<T extends object>(o: T): T | undefined {
  return Object.keys(o).length ? o : undefined;
}

function knativeContainer(c: Container & {name?: string}): KnativeContainer {
  const out: KnativeContainer = {image: c.image};
  if (c.name) out.name = c.name;
  if (c.command?.length) out.command = [...c.command];
  if (c.args?.length) out.args = [...c.args];
  if (c.env?.length) out.env = c.env.map(knativeEnv);
  if (c.ports?.length) out.ports = c.ports.map((p) => ({...(p.name ? {name: p.name} : {}), containerPort: p.containerPort ?? 8080}));
  if (c.resources?.limits) out.resources = {limits: {...c.resources.limits}};
  return out;
}

function knativeEnv(e: EnvVar): NonNullable<KnativeContainer['env']>[number] {
  const ref = e.valueSource?.secretKeyRef as {secret?: string; version?: string} | undefined;
  if (ref) return {name: e.name, valueFrom: {secretKeyRef: {name: ref.secret, key: ref.version ?? 'latest'}}};
  return {name: e.name, value: e.value ?? ''};
}

/** A v2 Service with the fields v1 maps that the emulator's types leave out. */
export type V2Service = Omit<Service, 'template'> & {annotations?: Record<string, string>; template?: V2Template};

type V2Template = NonNullable<Service['template']> & {
  serviceAccount?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  scaling?: {minInstanceCount?: number; maxInstanceCount?: number};
};

function revisionSpec(t: {
  containers?: Container[];
  timeout?: {seconds?: string};
  maxInstanceRequestConcurrency?: number;
  serviceAccount?: string;
}): RevisionSpec {
  const spec: RevisionSpec = {};
  if (t.maxInstanceRequestConcurrency !== undefined) spec.containerConcurrency = t.maxInstanceRequestConcurrency;
  if (t.timeout?.seconds !== undefined) spec.timeoutSeconds = Number(t.timeout.seconds);
  if (t.serviceAccount) spec.serviceAccountName = t.serviceAccount;
  spec.containers = (t.containers ?? []).map(knativeContainer);
  return spec;
}

function knativeTraffic(t: TrafficTarget & {uri?: string}, status: boolean): KnativeTraffic {
  const out: KnativeTraffic = {};
  if (t.type === LATEST) out.latestRevision = true;
  if (t.revision) out.revisionName = t.revision;
  out.percent = t.percent ?? 0;
  if (t.tag) out.tag = t.tag;
  if (status && t.uri) out.url = t.uri;
  return out;
}

/** The v1 selfLink of a service or revision. */
export function selfLink(ctx: KnativeContext, kind: 'services' | 'revisions', name: string): string {
  return `/apis/${API_VERSION}/namespaces/${ctx.project}/${kind}/${name}`;
}

/** A v2 Service as Cloud Run v1 shows it: metadata (generation, resourceVersion = etag), spec (template, traffic) and status. */
export function knativeService(s: V2Service, ctx: KnativeContext): KnativeService {
  const id = s.name?.split('/').pop() ?? '';
  const template: V2Template = s.template ?? {};
  const annotations: Record<string, string> = {...s.annotations};
  if (s.creator) annotations['serving.knative.dev/creator'] = s.creator;
  if (s.lastModifier) annotations['serving.knative.dev/lastModifier'] = s.lastModifier;
  const templateAnnotations: Record<string, string> = {...template.annotations};
  if (template.scaling?.maxInstanceCount) templateAnnotations[MAX_SCALE] = String(template.scaling.maxInstanceCount);
  if (template.scaling?.minInstanceCount) templateAnnotations[MIN_SCALE] = String(template.scaling.minInstanceCount);
  const templateMeta: ObjectMeta = {};
  if (template.revision) templateMeta.name = template.revision;
  if (template.labels && Object.keys(template.labels).length) templateMeta.labels = {...template.labels};
  if (Object.keys(templateAnnotations).length) templateMeta.annotations = templateAnnotations;
  const ready = s.terminalCondition ? [knativeCondition(s.terminalCondition)] : [];
  const others = (s.conditions ?? []).map(knativeCondition);
  const out: KnativeService = {
    apiVersion: API_VERSION,
    kind: 'Service',
    metadata: {
      name: id,
      namespace: ctx.project,
      selfLink: selfLink(ctx, 'services', id),
      uid: s.uid,
      resourceVersion: s.etag,
      generation: Number(s.generation ?? 0),
      creationTimestamp: timeJson(s.createTime),
      labels: {...s.labels, [LOCATION_LABEL]: locationOf(s.name, ctx)},
      annotations: nonEmpty(annotations),
    },
    spec: {
      template: {...(Object.keys(templateMeta).length ? {metadata: templateMeta} : {}), spec: revisionSpec(template)},
      traffic: (s.traffic ?? []).map((t) => knativeTraffic(t, false)),
    },
    status: {
      observedGeneration: Number(s.observedGeneration ?? 0),
      // Ready first, then ConfigurationsReady and RoutesReady, as Cloud Run lists them.
      conditions: [...ready, ...others.sort((a, b) => (a.type < b.type ? -1 : 1))],
      latestReadyRevisionName: shortRevision(s.latestReadyRevision),
      latestCreatedRevisionName: shortRevision(s.latestCreatedRevision),
      url: s.uri,
      address: s.uri ? {url: s.uri} : undefined,
      traffic: (s.trafficStatuses ?? []).map((t) => knativeTraffic(t, true)),
    },
  };
  return dropUndefined(out);
}

/** A v2 Revision as Cloud Run v1 shows it, labelled with its service and configuration. */
export function knativeRevision(
  r: Revision & {uid?: string; createTime?: Service['createTime']; serviceAccount?: string},
  ctx: KnativeContext,
  serving: boolean,
): KnativeRevision {
  const id = r.name.split('/').pop()!;
  const service = r.service?.split('/').pop() ?? r.name.split('/')[5];
  const conditions = (r.conditions ?? []).map(knativeCondition);
  // gcloud's ACTIVE column: whether the revision receives traffic (a tag counts).
  conditions.push({type: 'Active', status: serving ? 'True' : 'False', ...(serving ? {} : {reason: 'Reserve'})});
  const out: KnativeRevision = {
    apiVersion: API_VERSION,
    kind: 'Revision',
    metadata: {
      name: id,
      namespace: ctx.project,
      selfLink: selfLink(ctx, 'revisions', id),
      uid: r.uid,
      resourceVersion: r.etag,
      generation: 1,
      creationTimestamp: timeJson(r.createTime),
      labels: {
        ...r.labels,
        [SERVICE_LABEL]: service,
        'serving.knative.dev/configuration': service,
        // Knative labels only the revisions a route sends requests to.
        ...(serving ? {'serving.knative.dev/route': service} : {}),
        [LOCATION_LABEL]: locationOf(r.name, ctx),
      },
      annotations: r.creator ? {'serving.knative.dev/creator': r.creator} : undefined,
      ownerReferences: [{apiVersion: API_VERSION, kind: 'Configuration', name: service, controller: true, blockOwnerDeletion: true}],
    },
    spec: revisionSpec(r),
    status: {
      observedGeneration: 1,
      conditions,
      logUrl: r.logUri,
      imageDigest: r.containers[0]?.image,
    },
  };
  return dropUndefined(out);
}

/** Why a Knative Service cannot be applied (a message naming the field), or undefined. */
export function knativeServiceProblem(k: unknown, name: string): string | undefined {
  if (!k || typeof k !== 'object') return 'the request body must be a serving.knative.dev/v1 Service as JSON';
  const s = k as Partial<KnativeService>;
  if (s.metadata?.name !== undefined && s.metadata.name !== name)
    return `metadata.name '${s.metadata.name}' does not match the service '${name}' in the URL`;
  const containers = s.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return 'spec.template.spec.containers: at least one container is required';
  const bad = containers.findIndex((c) => !c || typeof c.image !== 'string' || !c.image);
  if (bad >= 0) return `spec.template.spec.containers[${bad}].image: image is required`;
  for (const t of s.spec?.traffic ?? []) {
    if (!t.latestRevision && !t.revisionName) return 'spec.traffic: each target needs latestRevision: true or a revisionName';
  }
  return undefined;
}

function v2Env(e: NonNullable<KnativeContainer['env']>[number]): EnvVar {
  const ref = e.valueFrom?.secretKeyRef;
  if (ref) return {name: e.name, valueSource: {secretKeyRef: {secret: ref.name, version: ref.key ?? 'latest'}}};
  return {name: e.name, value: e.value ?? ''};
}

/** Sets `key` on `out` to `value`, or removes it when `value` is undefined (v1 left it out: it is unset). */
function put<T extends object, K extends keyof T>(out: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete out[key];
  else out[key] = value;
}

function v2Container(current: Container & {name?: string}, k: KnativeContainer): Container & {name?: string} {
  const out: Container & {name?: string} = {...current};
  put(out, 'name', k.name || undefined);
  put(out, 'image', k.image);
  put(out, 'command', k.command?.length ? [...k.command] : undefined);
  put(out, 'args', k.args?.length ? [...k.args] : undefined);
  put(out, 'env', k.env?.length ? k.env.map(v2Env) : undefined);
  put(
    out,
    'ports',
    k.ports?.length ? k.ports.map((p) => ({...(p.name ? {name: p.name} : {}), containerPort: p.containerPort ?? 8080})) : undefined,
  );
  put(out, 'resources', k.resources?.limits ? {...current.resources, limits: {...k.resources.limits}} : current.resources);
  return out;
}

function userAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  const out = Object.fromEntries(Object.entries(a ?? {}).filter(([key]) => !SYSTEM_ANNOTATION.test(key)));
  return Object.keys(out).length ? out : undefined;
}

function scaleCount(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * The v2 Service to send as UpdateService (no mask: the whole settable service) for a Knative
 * Service PUT over `current`: labels, annotations, template (revision name, containers, env,
 * ports, limits, concurrency, timeout, service account, scaling) and traffic come from `k`;
 * every other v2 field stays as it is. `resourceVersion` becomes the etag, so a PUT of a stale
 * read is refused as v2 refuses one.
 */
export function v2ServiceFromKnative(current: V2Service, k: KnativeService): V2Service {
  const out: V2Service = {...current};
  const labels = {...k.metadata?.labels};
  delete labels[LOCATION_LABEL];
  put(out, 'labels', Object.keys(labels).length ? labels : undefined);
  put(out, 'annotations', userAnnotations(k.metadata?.annotations));
  put(out, 'etag', k.metadata?.resourceVersion || undefined);
  const t = k.spec.template;
  const spec = t.spec;
  const prev: V2Template = current.template ?? {};
  const template: V2Template = {...prev};
  put(template, 'revision', t.metadata?.name || undefined);
  const tLabels = {...t.metadata?.labels};
  // gcloud's nonce that ties a request to the revision it makes: not a setting of the revision.
  delete tLabels['client.knative.dev/nonce'];
  put(template, 'labels', Object.keys(tLabels).length ? tLabels : undefined);
  put(template, 'annotations', userAnnotations(t.metadata?.annotations));
  const prevContainers = prev.containers ?? [];
  template.containers = (spec.containers ?? []).map((c, i) => v2Container(prevContainers[i] ?? {}, c));
  put(template, 'maxInstanceRequestConcurrency', spec.containerConcurrency);
  put(template, 'timeout', spec.timeoutSeconds !== undefined ? {seconds: String(spec.timeoutSeconds)} : undefined);
  put(template, 'serviceAccount', spec.serviceAccountName || undefined);
  const scaling = {
    ...prev.scaling,
    minInstanceCount: scaleCount(t.metadata?.annotations?.[MIN_SCALE]),
    maxInstanceCount: scaleCount(t.metadata?.annotations?.[MAX_SCALE]),
  };
  put(template, 'scaling', dropUndefined(scaling));
  if (!Object.keys(template.scaling ?? {}).length) delete template.scaling;
  out.template = template;
  const traffic = (k.spec.traffic ?? []).map((tt): TrafficTarget => ({
    type: tt.latestRevision ? LATEST : REVISION_TRAFFIC,
    ...(tt.latestRevision ? {} : {revision: tt.revisionName}),
    percent: tt.percent ?? 0,
    ...(tt.tag ? {tag: tt.tag} : {}),
  }));
  put(out, 'traffic', traffic.length ? traffic : undefined);
  return out;
}

/** `value` without its undefined fields, deeply (what JSON.stringify would leave out anyway). */
function dropUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
