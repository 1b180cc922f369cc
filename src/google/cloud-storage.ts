/**
 * Cloud Storage adapter: the {@link Objects} port on `@google-cloud/storage` (JSON API).
 */
import type {Storage} from '@google-cloud/storage';
import {classify} from '../errors';
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
      if ((err as {code?: unknown}).code === NOT_FOUND) return undefined;
      throw classify(err, `Cloud Storage read of gs://${bucket}/${object}${generation ? '#' + generation : ''}`);
    }
  }
}
