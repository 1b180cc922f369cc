/**
 * Eventarc's direct delivery of a bucket's `finalized` events, for the local bucket folder:
 * one CloudEvent in binary HTTP mode per new generation, retried while the function fails.
 */
import type {StoredObject} from './object-store';

/** POSTs the `finalized` CloudEvent as Eventarc does, retrying with backoff while the function fails. */
export async function deliverFinalized(url: string, o: StoredObject, log: (line: string) => void): Promise<void> {
  const body = JSON.stringify(o);
  for (let attempt = 1, delay = 500; attempt <= 8; attempt++, delay = Math.min(delay * 2, 10_000)) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': `${o.bucket}/${o.name}/${o.generation}`,
          'ce-source': `//storage.googleapis.com/projects/_/buckets/${o.bucket}`,
          'ce-type': 'google.cloud.storage.object.v1.finalized',
          'ce-subject': `objects/${o.name}`,
          'ce-time': o.updated,
        },
        body,
      });
      await res.arrayBuffer();
      if (res.ok) return;
      log(`eventarc: delivery of ${o.name} answered ${res.status}; retrying in ${delay} ms (attempt ${attempt})`);
    } catch (err) {
      log(`eventarc: delivery of ${o.name} failed: ${(err as Error).message}; retrying in ${delay} ms`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  log(`eventarc: gave up delivering ${o.name} after 8 attempts`);
}
