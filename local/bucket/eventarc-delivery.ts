/**
 * Eventarc's direct deliveries for the local stack: a bucket's `finalized` and `deleted` events,
 * and Cloud Build's `statusChanged` events. One CloudEvent in binary HTTP mode each, retried with
 * backoff while the function fails.
 */
import type {BuildJson} from '../cloud-build/build-json';
import type {StoredObject} from './object-store';

/** POSTs the `finalized` CloudEvent of a new generation as Eventarc does. */
export function deliverFinalized(url: string, o: StoredObject, log: (line: string) => void): Promise<void> {
  return deliverObject(url, o, 'finalized', log);
}

/** POSTs the `deleted` CloudEvent (data: the object as it was) as Eventarc does. */
export function deliverDeleted(url: string, o: StoredObject, log: (line: string) => void): Promise<void> {
  return deliverObject(url, o, 'deleted', log);
}

function deliverObject(url: string, o: StoredObject, kind: 'finalized' | 'deleted', log: (line: string) => void): Promise<void> {
  return deliver(url, `${o.name}${kind === 'deleted' ? ' (deleted)' : ''}`, JSON.stringify(o), log, {
    'ce-id': `${o.bucket}/${o.name}/${o.generation}${kind === 'deleted' ? '/deleted' : ''}`,
    'ce-source': `//storage.googleapis.com/projects/_/buckets/${o.bucket}`,
    'ce-type': `google.cloud.storage.object.v1.${kind}`,
    'ce-subject': `objects/${o.name}`,
    'ce-time': kind === 'deleted' ? new Date().toISOString() : o.updated,
  });
}

/** POSTs the `statusChanged` CloudEvent of a build's new status as Eventarc does (data: the Build as JSON). */
export function deliverBuildStatus(url: string, build: BuildJson, log: (line: string) => void): Promise<void> {
  return deliver(url, `the ${build.status} status of build ${build.id}`, JSON.stringify(build), log, {
    'ce-id': `projects/${build.projectId}/builds/${build.id}/${build.status}`,
    'ce-source': `//cloudbuild.googleapis.com/projects/${build.projectId}/locations/global/builds/${build.id}`,
    'ce-type': 'google.cloud.cloudbuild.build.v1.statusChanged',
    'ce-subject': `builds/${build.id}`,
    'ce-time': new Date().toISOString(),
  });
}

async function deliver(url: string, what: string, body: string, log: (line: string) => void, ce: Record<string, string>): Promise<void> {
  for (let attempt = 1, delay = 500; attempt <= 8; attempt++, delay = Math.min(delay * 2, 10_000)) {
    try {
      const res = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json', 'ce-specversion': '1.0', ...ce}, body});
      await res.arrayBuffer();
      if (res.ok) return;
      log(`eventarc: delivery of ${what} answered ${res.status}; retrying in ${delay} ms (attempt ${attempt})`);
    } catch (err) {
      log(`eventarc: delivery of ${what} failed: ${(err as Error).message}; retrying in ${delay} ms`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  log(`eventarc: gave up delivering ${what} after 8 attempts`);
}
