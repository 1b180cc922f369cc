/**
 * Mode cloud-run-iam trusts tokens whose signature Cloud Run removed, so the API first reads its
 * own service's IAM policy (through the official client, from the local Cloud Run emulator) and
 * refuses to serve while anyone may invoke the service.
 */
import assert from 'node:assert/strict';
import type {AddressInfo} from 'node:net';
import type {Server} from 'node:http';
import {after, before, describe, it} from 'node:test';
import * as functions from '@google-cloud/functions-framework';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import {ServicesClient} from '@google-cloud/run';
import {createDeps} from '../../src/composition';
import {handleHttp} from '../../src/http/api';
import {PLATFORM_VERIFIED_SIGNATURE} from '../../src/http/auth';
import {Logger} from '../../src/log';
import {clientOptions} from '../../local/grpc/client-options';
import {startTokenIssuer, type TokenIssuer} from '../http/id-tokens';
import {Stack} from './stack';

describe('HTTP API in mode cloud-run-iam: its own service must be private', {timeout: 90_000}, () => {
  let stack: Stack;
  let issuer: TokenIssuer;
  let run: ServicesClient;
  let resource: string;
  const servers: Server[] = [];
  let n = 0;

  before(async () => {
    issuer = await startTokenIssuer();
    stack = await Stack.start({env: {DROPDEPLOY_API_AUTH: 'cloud-run-iam', K_SERVICE: 'dropdeploy-api'}});
    run = new ServicesClient(clientOptions(stack.run.port));
    const parent = `projects/${stack.config.projectId}/locations/${stack.config.region}`;
    resource = `${parent}/services/dropdeploy-api`;
    const [op] = await run.createService({
      parent,
      serviceId: 'dropdeploy-api',
      service: {template: {containers: [{image: 'europe-west1-docker.pkg.dev/p/r/api@sha256:' + 'a'.repeat(64)}]}},
    });
    await op.promise();
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await run?.close();
    await stack?.stop();
    await issuer?.close();
  });

  /** A token as Cloud Run hands it on: signature replaced. */
  const token = () => {
    const [h, b] = issuer.token({aud: 'https://dropdeploy-api.example', email: 'ops@example.com'}).split('.');
    return `${h}.${b}.${PLATFORM_VERIFIED_SIGNATURE}`;
  };
  const call = async (url: string) => {
    const res = await fetch(`${url}/v1/services`, {headers: {authorization: `Bearer ${token()}`}});
    return {status: res.status, json: (await res.json()) as {error?: {status: string; message: string}}};
  };
  /** Another instance of the API function: its own dependencies, so its own check. */
  async function instance(): Promise<string> {
    const deps = createDeps(stack.config);
    const name = `api_instance_${n++}_${stack.config.projectId.replace(/-/g, '_')}`;
    functions.http(name, (req, res) => handleHttp(deps, req, res, new Logger({format: 'json', write: () => {}})));
    const server = getTestServer(name);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const setInvokers = async (members: string[]) => {
    const [policy] = await run.getIamPolicy({resource});
    await run.setIamPolicy({resource, policy: {etag: policy.etag, bindings: members.length ? [{role: 'roles/run.invoker', members}] : []}});
  };

  it('public: 503 saying why and how to fix it; private again: 200; then the instance keeps its verdict', async () => {
    await setInvokers(['user:ops@example.com', 'allUsers']);
    const refused = await call(stack.apiUrl);
    assert.equal(refused.status, 503);
    assert.equal(refused.json.error?.status, 'UNAVAILABLE');
    assert.match(refused.json.error.message, /allUsers \(roles\/run\.invoker\).*remove-iam-policy-binding dropdeploy-api/);

    await setInvokers(['user:ops@example.com']);
    // A public verdict is re-read after a pause (5 s), so the instance heals without a redeploy.
    await stack.waitFor('the API to serve again', async () => (await call(stack.apiUrl)).status === 200, 20_000);

    // Checked once per instance: made public now, this instance serves on; a new one refuses.
    await setInvokers(['allAuthenticatedUsers']);
    assert.equal((await call(stack.apiUrl)).status, 200);
    const fresh = await call(await instance());
    assert.equal(fresh.status, 503);
    assert.match(fresh.json.error!.message, /allAuthenticatedUsers/);
    await setInvokers([]);
  });

  it('the invoker check switched off on the service: 503', async () => {
    const [svc] = await run.getService({name: resource});
    const [op] = await run.updateService({service: {...svc, invokerIamDisabled: true}});
    await op.promise();
    try {
      const r = await call(await instance());
      assert.equal(r.status, 503);
      assert.match(r.json.error!.message, /invokerIamDisabled.*--invoker-iam-check/);
    } finally {
      const [now] = await run.getService({name: resource});
      await (await run.updateService({service: {...now, invokerIamDisabled: false}}))[0].promise();
    }
  });

  it('a check that fails for a while: 503, and the next request checks again', async () => {
    const url = await instance();
    stack.run.injectFault({method: 'GetIamPolicy', code: 14, times: 1});
    const failed = await call(url);
    assert.equal(failed.status, 503);
    assert.match(failed.json.error!.message, /could not confirm that Cloud Run IAM guards it.*UNAVAILABLE/);
    assert.equal((await call(url)).status, 200);
  });
});
