/**
 * Cloud Storage adapter: the {@link Objects} port on `@google-cloud/storage` (JSON API).
 */
import type {Storage} from '@google-cloud/storage';
import {asDropdeployError, describeError, PermanentError, RetryableError} from '../errors';
import type {ListedObject, ObjectInfo, Objects} from '../ports';

const NOT_FOUND = 404;

/** {@link Objects} on the Cloud Storage JSON API. */
export class CloudStorageAdapter implements Objects {
  constructor(private readonly storage: Storage) {}

  async get(bucket: string, object: string, generation?: string): Promise<ObjectInfo | undefined> {
    try {
      const file = this.storage.bucket(bucket).file(object, generation ? {generation: Number(generation)} : {});
      const [m] = await file.getMetadata();
      return toInfo(bucket, object, m);
    } catch (err) {
      if ((err as {code?: unknown}).code === NOT_FOUND) return undefined;
      throw storageError(err, `Cloud Storage read of gs://${bucket}/${object}${generation ? '#' + generation : ''}`, bucket);
    }
  }

  async list(bucket: string, prefix: string, pageSize: number, pageToken?: string): Promise<{objects: ListedObject[]; next?: string}> {
    try {
      const [files, next] = await this.storage
        .bucket(bucket)
        .getFiles({prefix, maxResults: pageSize, autoPaginate: false, ...(pageToken ? {pageToken} : {})});
      const objects = files.map((f): ListedObject => {
        const info: ListedObject = toInfo(bucket, f.name, f.metadata);
        if (f.metadata.timeCreated) info.timeCreated = String(f.metadata.timeCreated);
        return info;
      });
      const token = (next as {pageToken?: string} | null)?.pageToken;
      return token ? {objects, next: token} : {objects};
    } catch (err) {
      throw storageError(err, `Cloud Storage list of gs://${bucket}/${prefix}`, bucket);
    }
  }
}

type Metadata = {
  generation?: string | number;
  metadata?: Record<string, unknown> | null;
  size?: string | number;
  md5Hash?: string;
  crc32c?: string;
  contentType?: string;
};

function toInfo(bucket: string, name: string, m: Metadata): ObjectInfo {
  const info: ObjectInfo = {bucket, name, generation: String(m.generation), metadata: {}};
  for (const [k, v] of Object.entries(m.metadata ?? {})) if (typeof v === 'string') info.metadata[k] = v;
  if (m.size !== undefined) info.size = String(m.size);
  if (m.md5Hash) info.md5Hash = m.md5Hash;
  if (m.crc32c) info.crc32c = m.crc32c;
  if (m.contentType) info.contentType = m.contentType;
  return info;
}

/** A JSON API error as the project's error class (the API answers HTTP statuses, mapped as Google's retry guidance does). */
function storageError(err: unknown, what: string, bucket: string): Error {
  const status = (err as {code?: unknown}).code;
  if (status === 429 || (typeof status === 'number' && status >= 500)) {
    return new RetryableError(
      `${what} failed with HTTP ${status}: ${describeError(err)}`,
      status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
      {cause: err},
    );
  }
  if (status === 401 || status === 403) {
    return new PermanentError(
      `${what} was refused (HTTP ${status}): give the controller's service account roles/storage.objectViewer on gs://${bucket}`,
      'PERMISSION_DENIED',
      {cause: err},
    );
  }
  return asDropdeployError(err, what);
}
