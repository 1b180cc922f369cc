/**
 * Decodes the four event shapes of DESIGN.md "Inputs" into typed inputs. Total: a malformed
 * event becomes an `invalid` input with the reason, never an exception.
 */
import type {MessagePublishedData} from '@google/events/cloud/pubsub/v1/MessagePublishedData';
import type {StorageObjectData} from '@google/events/cloud/storage/v1/StorageObjectData';
import type {BuildEventData} from '@google/events/cloud/cloudbuild/v1/BuildEventData';
import type {BuildInput, Input, UploadInput} from './input';
import {asInt64String, asObject, asString, asStringArray, asStringMap, dataObject, decodeBase64, parseJson} from './json';
import {BUILD_STATUS_BY_NUMBER} from '../releases/build-statuses';

/** CloudEvent types dropdeploy understands. */
export const EVENT_TYPES = {
  storageFinalized: 'google.cloud.storage.object.v1.finalized',
  storageDeleted: 'google.cloud.storage.object.v1.deleted',
  pubsubPublished: 'google.cloud.pubsub.topic.v1.messagePublished',
  buildStatusChanged: 'google.cloud.cloudbuild.build.v1.statusChanged',
} as const;

const OTHER_STORAGE_TYPES = /^google\.cloud\.storage\.object\.v1\.(archived|metadataUpdated)$/;

/** The CloudEvent context fields decoding looks at. */
export interface EventLike {
  type?: string;
  data?: unknown;
}

/** Decodes one CloudEvent. */
export function decodeEvent(event: EventLike): Input {
  const type = event.type;
  if (!type) return invalid('the request is not a CloudEvent (no type); send a CloudEvent or a Pub/Sub push message');
  if (type === EVENT_TYPES.storageFinalized) return decodeStorageObject(dataObject(event.data), 'storage');
  if (type === EVENT_TYPES.storageDeleted) return asDeleted(decodeStorageObject(dataObject(event.data), 'storage'));
  if (type === EVENT_TYPES.pubsubPublished) return decodePubsub(dataObject(event.data));
  if (type === EVENT_TYPES.buildStatusChanged) return decodeBuild(dataObject(event.data), undefined, 'eventarc');
  if (OTHER_STORAGE_TYPES.test(type)) return {kind: 'ignored', reason: `${type} events need no action`};
  return invalid(`unsupported event type "${type}"; dropdeploy handles ${Object.values(EVENT_TYPES).join(', ')}`);
}

function invalid(reason: string): Input {
  return {kind: 'invalid', reason};
}

/** A Cloud Storage object resource (JSON API) as an upload. */
export function decodeStorageObject(
  obj: (Partial<StorageObjectData> & Record<string, unknown>) | undefined,
  via: UploadInput['via'],
  attributes: Record<string, string> = {},
): Input {
  const bucket = asString(obj?.bucket) ?? attributes.bucketId;
  const name = asString(obj?.name) ?? attributes.objectId;
  const generation = asInt64String(obj?.generation) ?? asInt64String(attributes.objectGeneration);
  const missing = [!bucket && 'bucket', !name && 'name', !generation && 'generation'].filter(Boolean);
  if (missing.length) return invalid(`the storage object has no valid ${missing.join(', ')}`);
  const source: UploadInput['source'] = {bucket, object: name, generation: generation!};
  const size = asInt64String(obj?.size);
  if (size !== undefined) source.size = size;
  for (const f of ['md5Hash', 'crc32c', 'contentType'] as const) {
    const v = asString(obj?.[f]);
    if (v) source[f] = v;
  }
  const created = asString(obj?.timeCreated);
  if (created && Number.isFinite(Date.parse(created))) source.timeCreated = created;
  return {kind: 'upload', via, source, metadata: asStringMap(obj?.metadata)};
}

/** The deleted generation an object resource names (a deletion carries the resource as it was). */
function asDeleted(decoded: Input): Input {
  if (decoded.kind !== 'upload') return decoded;
  const {bucket, object, generation} = decoded.source;
  return {kind: 'deleted', via: decoded.via === 'pubsub' ? 'pubsub' : 'storage', bucket, object, generation};
}

function decodePubsub(data: Partial<MessagePublishedData> | undefined): Input {
  const message = asObject(data?.message);
  if (!message) return invalid('the Pub/Sub event has no message');
  const attributes = asStringMap(message.attributes);
  const raw = asString(message.data);
  let body: Record<string, unknown> | undefined;
  if (raw !== undefined) {
    const text = decodeBase64(raw);
    if (text === undefined) return invalid('the Pub/Sub message data is not valid base64');
    body = parseJson(text);
    if (body === undefined && text.length > 0) return invalid('the Pub/Sub message data is not a JSON object');
  }
  if (attributes.eventType) {
    if (attributes.eventType === 'OBJECT_DELETE') return asDeleted(decodeStorageObject(body, 'pubsub', attributes));
    if (attributes.eventType !== 'OBJECT_FINALIZE') {
      return {kind: 'ignored', reason: `Cloud Storage notification ${attributes.eventType} needs no action`};
    }
    return decodeStorageObject(body, 'pubsub', attributes);
  }
  if (attributes.buildId || attributes.status) return decodeBuild(body, attributes, 'pubsub');
  return invalid('the Pub/Sub message is neither a Cloud Storage notification (eventType) nor a Cloud Build status (buildId)');
}

function decodeBuild(
  build: (Partial<BuildEventData> & Record<string, unknown>) | undefined,
  attributes: Record<string, string> | undefined,
  via: BuildInput['via'],
): Input {
  const buildId = attributes?.buildId ?? asString(build?.id);
  const rawStatus: unknown = attributes?.status ?? build?.status;
  const status = typeof rawStatus === 'number' ? BUILD_STATUS_BY_NUMBER[rawStatus] : asString(rawStatus);
  if (!buildId) return invalid('the Cloud Build status has no build id');
  if (!status) return invalid(`the Cloud Build status of build ${buildId} has no status`);
  return {kind: 'build', via, buildId, status, tags: asStringArray(build?.tags), substitutions: asStringMap(build?.substitutions)};
}
