// The Cloud Run Admin API v2 messages the emulator receives and keeps, in the protobufjs plain form the gRPC
// layer decodes to (camelCase, enum names as strings, int64 as strings, proto3 defaults left out). Only the
// fields the emulator reads or writes are declared; every other field passes through untouched.

import {isPlain} from '../grpc/fields';
import type {PlainMessage} from '../grpc/protos';
import type {Timestamp} from '../grpc/time';

export type {Timestamp} from '../grpc/time';

/** google.protobuf.Duration. */
export interface Duration {
  seconds?: string;
  nanos?: number;
}

/** google.cloud.run.v2.Condition (of a Service or a Revision). */
export interface Condition {
  type?: string;
  state?: string;
  message?: string;
  lastTransitionTime?: Timestamp;
  severity?: string;
  reason?: string;
  revisionReason?: string;
}

/** google.cloud.run.v2.EnvVar: a literal `value`, or a `valueSource` (a secret). */
export interface EnvVar {
  name?: string;
  value?: string;
  valueSource?: Record<string, unknown>;
}

/** google.cloud.run.v2.ContainerPort. */
export interface ContainerPort {
  name?: string;
  containerPort?: number;
}

/** google.cloud.run.v2.ResourceRequirements. */
export interface ResourceRequirements {
  limits?: Record<string, string>;
}

/** google.cloud.run.v2.Container. */
export interface Container {
  image?: string;
  /** Replaces the image's ENTRYPOINT. */
  command?: string[];
  /** Replaces the image's CMD. */
  args?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
}

/** google.cloud.run.v2.RevisionTemplate. */
export interface RevisionTemplate {
  revision?: string;
  containers?: Container[];
  timeout?: Duration;
  maxInstanceRequestConcurrency?: number;
}

/** A template that passed checkTemplate: it has containers, each with an image. */
export interface CheckedTemplate extends RevisionTemplate {
  containers: Array<Container & {image: string}>;
}

/** google.cloud.run.v2.TrafficTarget. */
export interface TrafficTarget {
  type?: string;
  percent?: number;
  revision?: string;
  tag?: string;
}

/** google.cloud.run.v2.TrafficTargetStatus. */
export interface TrafficTargetStatus extends TrafficTarget {
  uri?: string;
}

/** The condition fields of a Service, as a rollout step sets them. */
export interface ServiceConditions {
  reconciling?: boolean;
  terminalCondition?: Condition;
  conditions?: Condition[];
}

/** google.cloud.run.v2.Service, as a request carries it. */
export interface Service extends ServiceConditions {
  name?: string;
  uid?: string;
  generation?: string;
  observedGeneration?: string;
  labels?: Record<string, string>;
  createTime?: Timestamp;
  updateTime?: Timestamp;
  deleteTime?: Timestamp;
  creator?: string;
  lastModifier?: string;
  launchStage?: string;
  template?: RevisionTemplate;
  traffic?: TrafficTarget[];
  trafficStatuses?: TrafficTargetStatus[];
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
  uri?: string;
  urls?: string[];
  etag?: string;
}

/** A Service as the emulator stores it: named, with its URL, a checked template and traffic. */
export interface StoredService extends Service {
  name: string;
  uri: string;
  template: CheckedTemplate;
  traffic: TrafficTarget[];
}

/** google.cloud.run.v2.Revision, as the emulator stores it. */
export interface Revision {
  name: string;
  containers: Array<Container & {image: string}>;
  labels?: Record<string, string>;
  service?: string;
  launchStage?: string;
  creator?: string;
  etag?: string;
  logUri?: string;
  reconciling?: boolean;
  updateTime?: Timestamp;
  conditions?: Condition[];
}

/** google.iam.v1.Binding. */
export interface Binding {
  role?: string;
  members?: string[];
}

/** google.iam.v1.Policy. */
export interface Policy {
  version?: number;
  bindings?: Binding[];
  etag?: Uint8Array;
}

/** A Policy as the emulator stores it: it always has a version and an etag. */
export interface StoredPolicy extends Policy {
  version: number;
  etag: Uint8Array;
}

/** google.protobuf.FieldMask. */
export interface FieldMask {
  paths?: string[];
}

/** The requests of the Services and Revisions RPCs, with the fields the emulator reads. */
export interface CreateServiceRequest {
  parent?: string;
  serviceId?: string;
  service?: Service;
  validateOnly: boolean;
}

export interface UpdateServiceRequest {
  service?: Service;
  updateMask?: FieldMask;
  validateOnly: boolean;
  allowMissing: boolean;
}

/** Get, List, Delete (Services and Revisions) and GetIamPolicy: a name, a parent or a resource. */
export interface ResourceRequest {
  name?: string;
  parent?: string;
  resource?: string;
  etag?: string;
  validateOnly: boolean;
}

export interface SetIamPolicyRequest {
  resource?: string;
  policy?: Policy;
}

type Fields = PlainMessage;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A message field of a decoded request. The gRPC layer decoded it with protobufjs against the
 * request's descriptor, so an object here has the message's shape; only its presence is checked.
 */
function message<T extends object>(v: unknown): T | undefined {
  return isPlain(v) ? (v as T) : undefined;
}

/** The own fields of a plain object, with values of unknown type. */
export function entries(value: object): Array<[string, unknown]> {
  return Object.entries(value);
}

/** The names of a message's fields that are set (so deleting one is typed). */
export function keysOf<T extends object>(value: T): Array<keyof T & string> {
  return Object.keys(value).filter((k): k is keyof T & string => k in value);
}

export function parseCreateServiceRequest(req: Fields): CreateServiceRequest {
  return {
    parent: str(req.parent),
    serviceId: str(req.serviceId),
    service: message<Service>(req.service),
    validateOnly: req.validateOnly === true,
  };
}

export function parseUpdateServiceRequest(req: Fields): UpdateServiceRequest {
  const service = message<Service>(req.service);
  const updateMask = message<FieldMask>(req.updateMask);
  return {service, updateMask, validateOnly: req.validateOnly === true, allowMissing: req.allowMissing === true};
}

export function parseResourceRequest(req: Fields): ResourceRequest {
  return {
    name: str(req.name),
    parent: str(req.parent),
    resource: str(req.resource),
    etag: str(req.etag),
    validateOnly: req.validateOnly === true,
  };
}

export function parseSetIamPolicyRequest(req: Fields): SetIamPolicyRequest {
  return {resource: str(req.resource), policy: message<Policy>(req.policy)};
}
