/**
 * `GET` and `PATCH /v1/services/{service}/policy` through the Functions Framework's server,
 * against the emulators: the effective policy (configured default ← stored), a PATCH with and
 * without a field mask, who and when, "same value → no change", and refusals that name the field.
 * A policy may be set before the first upload without making the service known.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {Stack} from './stack';
import type {ApiErrorBody, ServiceList} from '../json';
import type {PolicyView} from '../../src/controller/policy';
import {DEFAULT_POLICY, type RolloutPolicy} from '../../src/releases/rollout-policy';

/** The configured default of this stack: DROPDEPLOY_ROLLOUT_POLICY over the built-in one. */
const CONFIGURED: RolloutPolicy = {...DEFAULT_POLICY, check: {...DEFAULT_POLICY.check, path: '/healthz'}};

describe('HTTP API: a service rollout policy', {timeout: 60_000}, () => {
  let stack: Stack;
  const get = (service: string) => stack.api<PolicyView & ApiErrorBody>('GET', `/v1/services/${service}/policy`);
  const patch = (service: string, body: unknown, query = '') =>
    stack.api<PolicyView & ApiErrorBody>('PATCH', `/v1/services/${service}/policy${query}`, body);

  before(async () => {
    stack = await Stack.start({
      env: {DROPDEPLOY_CONTROLLER_SERVICES: 'dropdeploy-api', DROPDEPLOY_ROLLOUT_POLICY: '{"check": {"path": "/healthz"}}'},
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('GET of a service with no policy: the configured default', async () => {
    const r = await get('fresh');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, {service: 'fresh', policy: CONFIGURED, stored: null, source: 'default', updateTime: null, updatedBy: null});
  });

  it('PATCH before the first upload: the body fields over the default, stored with who and when', async () => {
    const r = await patch('early', {strategy: 'canary', steps: [20, 100], check: {attempts: 5}});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const want: RolloutPolicy = {...CONFIGURED, strategy: 'canary', steps: [20, 100], check: {...CONFIGURED.check, attempts: 5}};
    assert.deepEqual(
      {...r.json, updateTime: undefined},
      {service: 'early', policy: want, stored: want, source: 'service', updateTime: undefined, updatedBy: 'local'},
    );
    assert.ok(Date.parse(r.json.updateTime!) > Date.now() - 60_000);
    assert.deepEqual((await get('early')).json, r.json);
  });

  it('a service known only by its policy is still unknown to the rest of the API', async () => {
    const list = await stack.api<ServiceList>('GET', '/v1/services');
    assert.equal(list.status, 200);
    assert.equal(
      list.json.services.some((s) => s.service === 'early'),
      false,
    );
    for (const [method, path, body] of [
      ['GET', '/v1/services/early/releases', undefined],
      ['GET', '/v1/services/early/releases/1', undefined],
      ['POST', '/v1/services/early:redeploy', {}],
    ] as const) {
      const r = await stack.api<ApiErrorBody>(method, path, body);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.error.message, /manages no service "early"/);
    }
  });

  it('updateMask: only the masked fields change; body fields outside it are ignored', async () => {
    const r = await patch('early', {strategy: 'immediate', steps: [50, 100]}, '?updateMask=steps');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual([r.json.policy.strategy, r.json.policy.steps], ['canary', [50, 100]]);
  });

  it('update_mask naming a field the body leaves out: back to the configured default', async () => {
    const r = await patch('early', {}, '?update_mask=check.attempts,check.expect_status');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.policy.check, CONFIGURED.check);
  });

  it('the same values again: no change, who and when stay', async () => {
    const before = (await get('early')).json;
    await new Promise((r) => setTimeout(r, 5));
    const r = await patch('early', {strategy: 'canary', steps: [50, 100]});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, before);
  });

  it('PATCH with what the default is already, on a service with none: nothing stored', async () => {
    const r = await patch('follower', {strategy: 'immediate'});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual([r.json.source, r.json.stored, r.json.updateTime], ['default', null, null]);
  });

  it('the first upload after it makes release 1 of the service, the policy kept', async () => {
    assert.equal(await stack.upload('early/v1.zip', '11'), 204);
    await stack.waitFor('early v1 building', () => stack.statesOf('early', 1).includes('building'));
    const list = await stack.api<ServiceList>('GET', '/v1/services');
    assert.ok(list.json.services.some((s) => s.service === 'early' && s.lastRelease === 1));
    assert.equal((await get('early')).json.policy.strategy, 'canary');
  });

  it("an upload's dropdeploy-rollout metadata is recorded on its release; a bad one rejects the upload", async () => {
    const rollout = '{"strategy": "verified", "check": {"path": "/ready"}}';
    assert.equal(await stack.upload('meta/v1.zip', '21', {metadata: {'dropdeploy-rollout': rollout}}), 204);
    await stack.waitFor('meta v1 building', () => stack.statesOf('meta', 1).includes('building'));
    const r = await stack.api<{source: {rollout?: unknown}}>('GET', '/v1/services/meta/releases/1');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.source.rollout, {strategy: 'verified', check: {path: '/ready'}});
    assert.equal(await stack.upload('meta/v2.zip', '22', {metadata: {'dropdeploy-rollout': 'fastest'}}), 204);
    await stack.waitFor('the rejection', () => stack.events.find((e) => e.type === 'dev.dropdeploy.release.v1.rejected'));
    const rejected = stack.events.find((e) => e.type === 'dev.dropdeploy.release.v1.rejected')!;
    assert.equal(rejected.subject, 'objects/meta/v2.zip');
    assert.match(JSON.stringify(rejected.data), /metadata dropdeploy-rollout is \\"fastest\\", neither a strategy/);
    assert.equal((await stack.api('GET', '/v1/services/meta/releases/2')).status, 404);
  });

  it('upload metadata that sets deploy targets is rejected at accept time, naming the field and the policy API', async () => {
    const rollout = '{"targets":[{"region":"us-central1"},{"region":"asia-east1","project":"someone-elses"}]}';
    assert.equal(await stack.upload('meta/v3.zip', '23', {metadata: {'dropdeploy-rollout': rollout}}), 204);
    const subject = 'objects/meta/v3.zip';
    const find = () => stack.events.find((e) => e.type === 'dev.dropdeploy.release.v1.rejected' && e.subject === subject);
    await stack.waitFor('the rejection of meta/v3.zip', find);
    assert.match(
      JSON.stringify(find()!.data),
      /metadata dropdeploy-rollout may not set targets: .*PATCH \/v1\/services\/<service>\/policy/,
    );
    assert.equal((await stack.api('GET', '/v1/services/meta/releases/2')).status, 404, 'no release was made');
  });

  const refusals: Array<{name: string; service?: string; body: unknown; query?: string; status: number; want: RegExp[]}> = [
    {
      name: 'every bad field is named',
      body: {strategy: 'fast', steps: [50, 10], interval: '5m', check: {path: 'healthz'}},
      status: 400,
      want: [
        /strategy: must be one of immediate, verified, canary/,
        /steps\[1\]: must be above/,
        /interval: must be a Google JSON Duration/,
        /check\.path: must be a URL path/,
      ],
    },
    {name: 'an unknown field', body: {strategy: 'canary', colour: 'blue'}, status: 400, want: [/colour: is not a policy field/]},
    {name: 'an empty body', body: {}, status: 400, want: [/body: names nothing to change/]},
    {name: 'not an object', body: [1, 2], status: 400, want: [/policy: must be a JSON object/]},
    {
      name: 'unknown mask paths, named',
      body: {},
      query: '?updateMask=steps,check.port,colour',
      status: 400,
      want: [/updateMask: unknown path "check.port", "colour"/],
    },
    {
      name: 'both mask spellings',
      body: {},
      query: '?updateMask=steps&update_mask=steps',
      status: 400,
      want: [/updateMask: is given twice/],
    },
    {name: 'a bad service name', service: 'Bad_Name', body: {strategy: 'canary'}, status: 400, want: [/^service: /]},
    {
      name: "the controller's own service",
      service: 'dropdeploy-api',
      body: {strategy: 'canary'},
      status: 403,
      want: [/dropdeploy controller itself/],
    },
  ];
  for (const r of refusals) {
    it(`refused: ${r.name}`, async () => {
      const got = await patch(r.service ?? 'early', r.body, r.query);
      assert.equal(got.status, r.status, JSON.stringify(got.json));
      for (const re of r.want) assert.match(got.json.error.message, re);
    });
  }
  it('refusals changed nothing', async () => assert.deepEqual((await get('early')).json.policy.steps, [50, 100]));

  it('DELETE is not a method of the policy', async () => {
    const r = await stack.api<ApiErrorBody>('DELETE', '/v1/services/early/policy');
    assert.equal(r.status, 405);
  });
});
