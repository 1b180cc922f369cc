/**
 * Cloud Storage adapter: the {@link Objects} port on `@google-cloud/storage` (JSON API).
 */
import type {Storage} from '@google-cloud/storage';
import {classify, describeError, PermanentError, RetryableError} from '../errors';
import type {ObjectInfo, Objects} from '../ports';

const NOT_FOUND = 404;

/** {@link Objects} on the Cloud Storage JSON API. */
export class CloudStorageAdapter implements Objects {
  constructor(private readonly storage: Storage) {}

  async get(bucket: string, object: string, generation?: string): Promise<ObjectInfo | undefined> {
    try {
      const file = this.storage.bucket(bucket).file(object, generation ? {generation: Number(generation)} : {});
      const [m] = await file.getMetadata();
      const info: ObjectInfo = {bucket, name: object, generation: String(m.generation), metadata: {}};
      for (const [k, v] of Object.entries(m.metadata ?? {})) if (typeof v === 'string') info.metadata[k] = v;
      if (m.size !== undefined) info.size = String(m.size);
      if (m.md5Hash) info.md5Hash = m.md5Hash;
      if (m.crc32c) info.crc32c = m.crc32c;
      if (m.contentType) info.contentType = m.contentType;
      return info;
    } catch (err) {
      const status = (err as {code?: unknown}).code;
      const what = `Cloud Storage read of gs://${bucket}/${object}${generation ? '#' + generation : ''}`;
      if (status === NOT_FOUND) return undefined;
      // The JSON API answers HTTP statuses: map them as Google's own retry guidance does.
      if (status === 429 || (typeof status === 'number' && status >= 500)) {
        throw new RetryableError(`${what} failed with HTTP ${status}: ${describeError(err)}`, status === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE', {cause: err});
      }
      if (status === 401 || status === 403) {
        throw new PermanentError(`${what} was refused (HTTP ${status}): give the controller's service account roles/storage.objectViewer on gs://${bucket}`, 'PERMISSION_DENIED', {cause: err});
      }
      throw classify(err, what);
    }
  }
}
