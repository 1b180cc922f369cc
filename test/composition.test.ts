import {strict as assert} from 'node:assert';
import {describe, it} from 'node:test';
import {createDeps, preloadClients} from '../src/composition';
import {parseConfig} from '../src/config';

const config = parseConfig({
  DROPDEPLOY_PROJECT: 'my-project',
  DROPDEPLOY_REGION: 'europe-west1',
  DROPDEPLOY_REPOSITORY: 'dropdeploy',
  DROPDEPLOY_STATUS_TOPIC: 'dropdeploy-status',
  DROPDEPLOY_BUCKETS: 'my-sources',
  DROPDEPLOY_API_AUTH: 'none',
  // Clients are constructed, never called: nothing listens on these.
  DROPDEPLOY_CLOUD_BUILD_ENDPOINT: '127.0.0.1:9',
  DROPDEPLOY_CLOUD_RUN_ENDPOINT: '127.0.0.1:9',
  DROPDEPLOY_STORAGE_ENDPOINT: 'http://127.0.0.1:9',
});

/** Whether a client library has been loaded into this process (each test file runs in its own). */
const loaded = (pkg: string) => Object.keys(require.cache).some((f) => f.includes(`/node_modules/${pkg}/`));
const LIBRARIES = [
  '@google-cloud/firestore',
  '@google-cloud/cloudbuild',
  '@google-cloud/run',
  '@google-cloud/pubsub',
  '@google-cloud/storage',
];

describe('preloadClients', () => {
  it('loads every client library before any handler runs, and the handlers then get those same instances', async () => {
    const deps = createDeps(config);
    try {
      assert.deepEqual(LIBRARIES.filter(loaded), [], 'createDeps alone loads no client library (cold start)');
      await preloadClients(deps);
      assert.deepEqual(
        LIBRARIES.filter((l) => !loaded(l)),
        [],
      );
      const first = await Promise.all([deps.store(), deps.builds(), deps.services(), deps.publisher(), deps.objects()]);
      const again = await Promise.all([deps.store(), deps.builds(), deps.services(), deps.publisher(), deps.objects()]);
      first.forEach((port, i) => assert.equal(port, again[i]));
      for (const port of first) assert.ok(port);
    } finally {
      await deps.close();
    }
  });
});
