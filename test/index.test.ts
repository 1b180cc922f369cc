/**
 * The entry point: both targets are registered with the Functions Framework, configuration is
 * parsed at load, and the heavy client libraries stay unloaded until a path needs them.
 */
import assert from 'node:assert/strict';
import {before, describe, it} from 'node:test';
import type {Server} from 'node:http';
import type {AddressInfo} from 'node:net';

const HEAVY = ['@google-cloud/pubsub', '@google-cloud/firestore', '@google-cloud/cloudbuild', '@google-cloud/run', 'google-gax'];

function loadedHeavy(): string[] {
  const paths = Object.keys(require.cache);
  return HEAVY.filter((m) => paths.some((p) => p.includes(`/node_modules/${m}/`)));
}

async function serve(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('src/index.ts', () => {
  before(async () => {
    Object.assign(process.env, {
      DROPDEPLOY_PROJECT: 'index-test',
      DROPDEPLOY_REGION: 'europe-west1',
      DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'status',
      DROPDEPLOY_BUCKETS: 'dd-sources',
      DROPDEPLOY_LOG_FORMAT: 'json',
      // The default auth, google-id-token, starts only with both.
      DROPDEPLOY_API_AUDIENCE: 'https://dd-api.example',
      DROPDEPLOY_ADMIN_PRINCIPALS: 'user:ops@example.com',
    });
    await import('../src/index');
  });

  it('loads no Google client library at start', () => {
    assert.deepEqual(loadedHeavy(), []);
  });

  it('serves the event target; an event that needs no API call loads no client either', async () => {
    const {getTestServer} = await import('@google-cloud/functions-framework/testing');
    const server = getTestServer('dropdeployEvents');
    const url = await serve(server);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': '1',
          'ce-source': '//x',
          'ce-type': 'google.cloud.storage.object.v1.finalized',
        },
        body: JSON.stringify({bucket: 'dd-sources', name: 'hello/readme.txt', generation: '1'}),
      });
      assert.equal(res.status, 204);
      assert.deepEqual(loadedHeavy(), []);
    } finally {
      server.close();
    }
  });

  it('serves the HTTP target', async () => {
    const {getTestServer} = await import('@google-cloud/functions-framework/testing');
    const server = getTestServer('dropdeployApi');
    const url = await serve(server);
    try {
      // Auth is on by default: no token, no answer — and still no client library loaded.
      const res = await fetch(url + '/v1/services');
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as {error: {status: string}}).error.status, 'UNAUTHENTICATED');
      assert.deepEqual(loadedHeavy(), []);
      const missing = await fetch(url + '/v1/nothing');
      assert.equal(missing.status, 404);
      assert.deepEqual(Object.keys(((await missing.json()) as {error: object}).error), ['code', 'status', 'message']);
    } finally {
      server.close();
    }
  });

  it('refuses to start with an invalid configuration, naming the variable', async () => {
    const {parseConfig} = await import('../src/config');
    assert.throws(() => parseConfig({...process.env, DROPDEPLOY_REGION: ''}), /DROPDEPLOY_REGION is not set/);
  });
});
