/**
 * `GET` and `PATCH /v1/services/{service}/env` through the Functions Framework's server, against
 * the emulators: the change is a config release (same digest, a new revision), secret
 * references stay references, secret-looking values are never stored or published, and the
 * refusals name what is wrong.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {grpc} from 'google-gax';
import {RevisionsClient, ServicesClient} from '@google-cloud/run';
import {Stack} from './stack';
import type {ApiErrorBody, ApiRelease} from '../json';
import type {ServiceEnv} from '../../src/controller/env';

const DIGEST = (c: string) => 'sha256:' + c.repeat(64);
const SECRET_VALUE = 'sk-live-0123456789';

describe('HTTP API: a service environment', {timeout: 120_000}, () => {
  let stack: Stack;
  let client: ServicesClient;
  const name = () => `projects/${stack.config.projectId}/locations/europe-west1/services/web`;
  const container = () =>
    (stack.run.getService('web') as {template: {containers: Array<{image: string; env?: unknown[]}>}}).template.containers[0];
  const env = async () => {
    const r = await stack.api<ServiceEnv>('GET', '/v1/services/web/env');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json;
  };
  const patch = (body: unknown, headers: Record<string, string> = {}) =>
    stack.api<ApiRelease & ApiErrorBody>('PATCH', '/v1/services/web/env', body, headers);

  async function upload(n: number, digest?: string): Promise<void> {
    assert.equal(await stack.upload(`web/v${n}.zip`, `10${n}`), 204);
    if (!digest) return;
    await stack.build.setStatus(stack.buildIdOf('web', n), 'SUCCESS', {digest});
    await stack.waitFor(`web v${n} deployed`, () => stack.statesOf('web', n).includes('deployed'));
  }

  before(async () => {
    stack = await Stack.start({env: {DROPDEPLOY_CONTROLLER_SERVICES: 'dropdeploy-api'}});
    client = new ServicesClient({apiEndpoint: '127.0.0.1', port: stack.run.port, sslCreds: grpc.credentials.createInsecure()});
    await upload(1, DIGEST('1'));
    // An operator's secret reference, set with the official client as gcloud would.
    const [svc] = await client.getService({name: name()});
    svc.template!.containers![0].env = [{name: 'DB_PASSWORD', valueSource: {secretKeyRef: {secret: 'db-password', version: '3'}}}];
    const [op] = await client.updateService({service: svc});
    await op.promise();
  });
  after(async () => {
    await client?.close();
    await stack?.stop();
  });

  it('GET lists the env of the serving container; a secret reference as a reference', async () => {
    assert.deepEqual(await env(), {
      service: 'web',
      release: 1,
      env: [{name: 'DB_PASSWORD', valueSource: {secretKeyRef: {secret: 'db-password', version: '3'}}}],
    });
  });

  it('PATCH set: a config release with the same digest, a new revision, the reference kept, no secret value stored', async () => {
    const revisions = stack.run.revisions('web').length;
    const r = await patch({set: {GREETING: 'hello', API_KEY: SECRET_VALUE}});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.release, 2);
    assert.equal(r.json.trigger, 'config');
    assert.equal(r.json.state, 'deployed');
    assert.equal(r.json.actor, 'local');
    assert.match(r.json.image ?? '', /@sha256:1{64}$/);
    assert.deepEqual(r.json.env, {
      set: [
        {name: 'GREETING', value: 'hello'},
        {name: 'API_KEY', redacted: true},
      ],
      unset: [],
    });
    assert.equal(stack.run.revisions('web').length, revisions + 1, 'a new revision');
    assert.match(container().image, /@sha256:1{64}$/);
    assert.deepEqual((await env()).env, [
      {name: 'DB_PASSWORD', valueSource: {secretKeyRef: {secret: 'db-password', version: '3'}}},
      {name: 'GREETING', value: 'hello'},
      {name: 'API_KEY', value: SECRET_VALUE},
    ]);
    await stack.waitFor('v2 deployed event', () => stack.statesOf('web', 2).includes('deployed'));
    assert.deepEqual(stack.statesOf('web', 2), ['accepted', 'deploying', 'deployed']);
    const stored = JSON.stringify((await stack.api('GET', '/v1/services/web/releases/2')).json);
    const published = JSON.stringify(stack.events.filter((e) => e.subject === 'services/web/releases/2'));
    for (const [where, text] of Object.entries({stored, published, logs: stack.logs.join('\n')}))
      assert.ok(!text.includes(SECRET_VALUE), `the secret value is not in the ${where}`);
    assert.ok(published.includes('"trigger":"config"'));
  });

  it('PATCH set of a name that is a secret reference replaces it; unset removes', async () => {
    const r = await patch({set: {DB_PASSWORD: 'plain-now'}, unset: ['GREETING', 'NEVER_SET']});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.state, 'deployed');
    assert.deepEqual((await env()).env, [
      {name: 'DB_PASSWORD', value: 'plain-now'},
      {name: 'API_KEY', value: SECRET_VALUE},
    ]);
  });

  it('the next upload keeps the environment', async () => {
    await upload(4, DIGEST('4'));
    assert.match(container().image, /@sha256:4{64}$/);
    assert.deepEqual(
      (await env()).env.map((e) => e.name),
      ['DB_PASSWORD', 'API_KEY'],
    );
  });

  it('refused while an upload is still building (it would be superseded): 409, nothing changed', async () => {
    await upload(5);
    const r = await patch({set: {LATE: '1'}});
    assert.equal(r.status, 409, JSON.stringify(r.json));
    assert.match(r.json.error.message, /release v5 of "web" \(upload\) is building/);
    await stack.build.setStatus(stack.buildIdOf('web', 5), 'SUCCESS', {digest: DIGEST('5')});
    await stack.waitFor('web v5 deployed', () => stack.statesOf('web', 5).includes('deployed'));
    assert.ok(!(await env()).env.some((e) => e.name === 'LATE'));
  });

  it('bad names are 400 naming them; unknown services 404; other methods 405', async () => {
    const reserved = await patch({set: {PORT: '9000'}});
    assert.equal(reserved.status, 400);
    assert.match(reserved.json.error.message, /^set\.PORT: PORT is reserved/);
    const eq = await patch({unset: ['A=B']});
    assert.equal(eq.status, 400);
    assert.match(eq.json.error.message, /^unset\[0\]: .*"="/);
    assert.equal((await patch({})).status, 400);
    assert.equal((await stack.api('PATCH', '/v1/services/ghost/env', {set: {A: '1'}})).status, 404);
    assert.equal((await stack.api('GET', '/v1/services/ghost/env')).status, 404);
    assert.equal((await stack.api('DELETE', '/v1/services/web/env')).status, 405);
  });

  it("the controller's own services: 403, never read or changed", async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', {set: {A: '1'}}],
    ] as const) {
      const r = await stack.api<ApiErrorBody>(method, '/v1/services/dropdeploy-api/env', body);
      assert.equal(r.status, 403, JSON.stringify(r.json));
      assert.match(r.json.error.message, /service of the dropdeploy controller itself/);
    }
  });

  it('the same Idempotency-Key makes one release', async () => {
    const h = {'idempotency-key': 'env-web-once'};
    const a = await patch({set: {ONCE: '1'}}, h);
    const b = await patch({set: {ONCE: '1'}}, h);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.json.release, b.json.release);
    const c = await patch({set: {ONCE: '2'}}, h);
    assert.equal(c.status, 409);
  });

  it('a concurrent change of the service makes its etag stale: 503 with a key; repeated with it, both changes are kept', async () => {
    // The controller's UpdateService is held back while an operator changes the service.
    const before = stack.run.callsTo('UpdateService').length;
    stack.run.injectFault({method: 'UpdateService', delayMs: 2000, times: 1});
    const body = {set: {SESSION_SECRET: 'resumed-secret'}};
    const first = fetch(`${stack.apiUrl}/v1/services/web/env`, {
      method: 'PATCH',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify(body),
    });
    await stack.waitFor('the held UpdateService', () => stack.run.callsTo('UpdateService').length > before);
    const [svc] = await client.getService({name: name()});
    svc.template!.containers![0].env!.push({name: 'OPS_VAR', value: 'by hand'});
    await (await client.updateService({service: svc}))[0].promise();
    const answer = await first;
    assert.equal(answer.status, 503, await answer.clone().text());
    assert.match(((await answer.json()) as ApiErrorBody).error.message, /Etag mismatch/);
    const key = answer.headers.get('idempotency-key');
    assert.ok(key);
    const again = await patch(body, {'idempotency-key': key});
    assert.equal(again.status, 202, JSON.stringify(again.json));
    assert.equal(again.json.state, 'deployed');
    const names = (await env()).env.map((e) => ('value' in e ? `${e.name}=${e.value}` : e.name));
    assert.ok(names.includes('OPS_VAR=by hand'), names.join(' '));
    assert.ok(names.includes('SESSION_SECRET=resumed-secret'), names.join(' '));
  });
  it('a value set over a Secret Manager reference is recorded redacted, whatever its name', async () => {
    const [svc] = await client.getService({name: name()});
    svc.template!.containers![0].env!.push({name: 'UPSTREAM', valueSource: {secretKeyRef: {secret: 'upstream', version: '1'}}});
    await (await client.updateService({service: svc}))[0].promise();
    const r = await patch({set: {UPSTREAM: 'plain-upstream-value'}});
    assert.equal(r.json.state, 'deployed', JSON.stringify(r.json));
    assert.deepEqual(r.json.env?.set, [{name: 'UPSTREAM', redacted: true}]);
    assert.deepEqual(
      r.json.deployedEnv?.find((e) => e.name === 'UPSTREAM'),
      {name: 'UPSTREAM', redacted: true},
    );
    const stored = JSON.stringify((await stack.api('GET', `/v1/services/web/releases/${r.json.release}`)).json);
    const published = JSON.stringify(stack.events.filter((e) => e.subject === `services/web/releases/${r.json.release}`));
    assert.ok(!stored.includes('plain-upstream-value') && !published.includes('plain-upstream-value'));
  });

  it('the same Idempotency-Key with another secret value is another request: 409', async () => {
    const h = {'idempotency-key': 'env-web-secret-once'};
    const a = await patch({set: {API_KEY: 'sk-first-value-000'}}, h);
    assert.equal(a.status, 202, JSON.stringify(a.json));
    assert.equal((await patch({set: {API_KEY: 'sk-first-value-000'}}, h)).json.release, a.json.release);
    const c = await patch({set: {API_KEY: 'sk-other-value-111'}}, h);
    assert.equal(c.status, 409, JSON.stringify(c.json));
  });

  it('a rollback to a release whose revision is gone cannot restore its secret values: deploy_failed naming them', async () => {
    const v2 = (await stack.api<ApiRelease>('GET', '/v1/services/web/releases/2')).json;
    assert.deepEqual(
      v2.deployedEnv?.find((e) => e.name === 'API_KEY'),
      {name: 'API_KEY', redacted: true},
    );
    const revisions = new RevisionsClient({apiEndpoint: '127.0.0.1', port: stack.run.port, sslCreds: grpc.credentials.createInsecure()});
    try {
      const [op] = await revisions.deleteRevision({name: `${name()}/revisions/${v2.revision}`});
      await op.promise();
    } finally {
      await revisions.close();
    }
    const image = container().image;
    const r = await stack.api<ApiRelease>('POST', '/v1/services/web:rollback', {release: 2});
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.state, 'deploy_failed', JSON.stringify(r.json));
    assert.equal(r.json.error?.code, 'ENV_VALUES_NOT_STORED');
    assert.match(r.json.error?.message ?? '', /API_KEY.*revision .* that ran v2 is gone/);
    assert.equal(container().image, image, 'nothing deployed');
  });
});
