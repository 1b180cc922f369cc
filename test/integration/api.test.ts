/**
 * The HTTP API through the Functions Framework's server, against the emulators: every
 * route's success and error paths, rollback without a build, idempotency.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {grpc} from 'google-gax';
import {Stack} from './stack';
import type {StoredBuild} from '../../local/cloud-build/emulator';
import type {ApiErrorBody, ApiRelease, ReleasePage, ServiceList} from '../json';
import type {Release} from '../../src/releases/release';

const DIGEST = (c: string) => 'sha256:' + c.repeat(64);

describe('HTTP API', {timeout: 120_000}, () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start();
  });
  after(async () => {
    await stack?.stop();
  });

  /** Uploads `object` and completes its build with `digest`, or FAILURE. */
  async function release(service: string, n: number, object: string, generation: string, digest?: string): Promise<void> {
    assert.equal(await stack.upload(object, generation), 204);
    const id = stack.buildIdOf(service, n);
    await stack.build.setStatus(id, digest ? 'SUCCESS' : 'FAILURE', digest ? {digest} : {failureDetail: 'boom'});
    await stack.waitFor(`${service} v${n} terminal`, () =>
      stack.statesOf(service, n).some((s) => ['deployed', 'build_failed', 'superseded', 'deploy_failed'].includes(s)),
    );
  }
  const image = () => (stack.run.getService('web') as {template: {containers: Array<{image: string}>}}).template.containers[0].image;

  before(async () => {
    await release('web', 1, 'web/v1.zip', '101', DIGEST('1'));
    await release('web', 2, 'web/v2.zip', '102', DIGEST('2'));
    await release('web', 3, 'web/v3.zip', '103');
    await release('web', 4, 'web/v4.zip', '104', DIGEST('4'));
  });

  it('GET /v1/services lists managed services with their deployed release', async () => {
    const {status, json} = await stack.api<ServiceList>('GET', '/v1/services');
    assert.equal(status, 200);
    const web = json.services.find((s) => s.service === 'web');
    assert.ok(web, 'web is listed');
    assert.equal(web.lastRelease, 4);
    assert.equal(web.deployed?.release, 4);
    assert.match(web.deployed?.image ?? '', /@sha256:4{64}$/);
  });

  it('GET releases: newest first, paginated', async () => {
    const first = await stack.api<ReleasePage>('GET', '/v1/services/web/releases?pageSize=3');
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.json.releases.map((r) => r.release),
      [4, 3, 2],
    );
    assert.equal(first.json.releases[1].state, 'build_failed');
    assert.equal((first.json.releases[0] as Partial<Release>).published, undefined);
    assert.ok(first.json.nextPageToken);
    const second = await stack.api<ReleasePage>('GET', `/v1/services/web/releases?pageSize=3&pageToken=${first.json.nextPageToken}`);
    assert.deepEqual(
      second.json.releases.map((r) => r.release),
      [1],
    );
    assert.equal(second.json.nextPageToken, undefined);
    assert.equal((await stack.api('GET', '/v1/services/web/releases?pageSize=0')).status, 400);
    assert.match((await stack.api<ApiErrorBody>('GET', '/v1/services/web/releases?pageToken=garbage')).json.error.message, /^pageToken:/);
  });

  it('GET one release; 404 for an unknown release or service', async () => {
    const {status, json} = await stack.api<ApiRelease>('GET', '/v1/services/web/releases/2');
    assert.equal(status, 200);
    assert.equal(json.state, 'deployed');
    assert.deepEqual(
      json.history.map((h) => h.state),
      ['accepted', 'building', 'deploying', 'deployed'],
    );
    const missing = await stack.api<ApiErrorBody>('GET', '/v1/services/web/releases/99');
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(missing.json.error), ['code', 'status', 'message']);
    assert.equal(missing.json.error.status, 'NOT_FOUND');
    assert.match(missing.json.error.message, /the newest is 4/);
    assert.equal((await stack.api('GET', '/v1/services/nothing-here/releases')).status, 404);
  });

  it("rollback to v1 after v4: a new release with v1's digest, no build started", async () => {
    const builds = stack.build.callsTo('CreateBuild').length;
    const {status, json} = await stack.api<ApiRelease>('POST', '/v1/services/web:rollback', {release: 1});
    assert.equal(status, 202, JSON.stringify(json));
    assert.equal(json.release, 5);
    assert.equal(json.trigger, 'rollback');
    assert.equal(json.rollbackOf, 1);
    assert.equal(json.actor, 'local');
    assert.equal(json.state, 'deployed');
    assert.match(image(), /@sha256:1{64}$/);
    assert.equal(stack.build.callsTo('CreateBuild').length, builds, 'no build');
    await stack.waitFor('rollback events', () => stack.statesOf('web', 5).includes('deployed'));
    assert.deepEqual(stack.statesOf('web', 5), ['accepted', 'deploying', 'deployed']);
  });

  it('after a rollback, the next upload takes all the traffic again', async () => {
    await release('web', 6, 'web/v6.zip', '106', DIGEST('6'));
    assert.match(image(), /@sha256:6{64}$/);
    const svc = stack.run.getService('web') as {traffic: Array<{type: string; percent: number}>};
    assert.deepEqual(
      svc.traffic.map((t) => [t.type, t.percent]),
      [['TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', 100]],
    );
  });

  it('rollback errors: a failed release 409, unknown release or service 404, bad body 400', async () => {
    const failed = await stack.api<ApiErrorBody>('POST', '/v1/services/web:rollback', {release: 3});
    assert.equal(failed.status, 409);
    assert.match(failed.json.error.message, /never deployed \(it is build_failed\)/);
    assert.equal((await stack.api('POST', '/v1/services/web:rollback', {release: 77})).status, 404);
    assert.equal((await stack.api('POST', '/v1/services/ghost:rollback', {release: 1})).status, 404);
    const noField = await stack.api<ApiErrorBody>('POST', '/v1/services/web:rollback', {});
    assert.equal(noField.status, 400);
    assert.match(noField.json.error.message, /^release: is required/);
    const unknown = await stack.api<ApiErrorBody>('POST', '/v1/services/web:rollback', {release: 1, force: true});
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error.message, /^force: unknown field/);
    assert.equal((await stack.api('POST', '/v1/services/web:rollback', {release: -1})).status, 400);
    assert.equal((await stack.api('POST', '/v1/services/web:rollback', [1])).status, 400);
  });

  it('redeploy {}: rebuilds the newest source as a new release', async () => {
    const {status, json} = await stack.api<ApiRelease>('POST', '/v1/services/web:redeploy', {});
    assert.equal(status, 202, JSON.stringify(json));
    assert.equal(json.trigger, 'redeploy');
    assert.equal(json.state, 'building');
    assert.equal(json.source?.object, 'web/v6.zip');
    assert.equal(json.source?.generation, '106');
    assert.ok(json.buildId, 'a build was started');
    const build = stack.build.getBuild(json.buildId) as StoredBuild & {source: {storageSource: {generation: string}}};
    assert.equal(build.source.storageSource.generation, '106');
  });

  it('redeploy of an exact archive: must exist, be in an allowed bucket, belong to the service', async () => {
    stack.putObject('web/hotfix.zip', '555', 'zip bytes', {'function-target': 'helloHttp'});
    const ok = await stack.api<ApiRelease>('POST', '/v1/services/web:redeploy', {
      source: {bucket: 'dd-sources', object: 'web/hotfix.zip', generation: '555'},
    });
    assert.equal(ok.status, 202, JSON.stringify(ok.json));
    assert.equal(ok.json.source?.generation, '555');
    assert.equal(ok.json.source?.size, '9');
    assert.equal(ok.json.source?.functionTarget, 'helloHttp');
    const missing = await stack.api<ApiErrorBody>('POST', '/v1/services/web:redeploy', {
      source: {bucket: 'dd-sources', object: 'web/hotfix.zip', generation: '556'},
    });
    assert.equal(missing.status, 404);
    assert.match(missing.json.error.message, /does not exist/);
    const outside = await stack.api<ApiErrorBody>('POST', '/v1/services/web:redeploy', {
      source: {bucket: 'someone-else', object: 'web/hotfix.zip', generation: '555'},
    });
    assert.equal(outside.status, 400);
    assert.match(outside.json.error.message, /^source\.bucket:/);
    const other = await stack.api<ApiErrorBody>('POST', '/v1/services/web:redeploy', {
      source: {bucket: 'dd-sources', object: 'api/x.zip', generation: '1'},
    });
    assert.equal(other.status, 400);
    assert.match(other.json.error.message, /source of service "api", not "web"/);
    const noGen = await stack.api<ApiErrorBody>('POST', '/v1/services/web:redeploy', {
      source: {bucket: 'dd-sources', object: 'web/hotfix.zip'},
    });
    assert.match(noGen.json.error.message, /^source\.generation:/);
    assert.equal((await stack.api('POST', '/v1/services/ghost:redeploy', {})).status, 404);
  });

  it('the same Idempotency-Key starts no second release; reused for another request → 409', async () => {
    const h = {'idempotency-key': 'rollback-web-to-2'};
    const a = await stack.api<ApiRelease>('POST', '/v1/services/web:rollback', {release: 2}, h);
    const b = await stack.api<ApiRelease>('POST', '/v1/services/web:rollback', {release: 2}, h);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(a.json.release, b.json.release);
    const c = await stack.api<ApiErrorBody>('POST', '/v1/services/web:rollback', {release: 1}, h);
    assert.equal(c.status, 409);
    assert.match(c.json.error.message, /already used for a different request/);
  });

  it('a rollback that fails transiently answers 503 with a key; repeating with it resumes the same release', async () => {
    stack.run.injectFault({method: 'UpdateService', code: grpc.status.UNAVAILABLE, times: 1});
    const first = await fetch(`${stack.apiUrl}/v1/services/web:rollback`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({release: 2}),
    });
    assert.equal(first.status, 503);
    const key = first.headers.get('idempotency-key');
    assert.ok(key, 'the answer names the key to resume with');
    assert.match(((await first.json()) as {error: {message: string}}).error.message, /same Idempotency-Key/);
    const stuck = (await stack.api<ReleasePage>('GET', '/v1/services/web/releases')).json.releases[0];
    assert.equal(stuck.trigger, 'rollback');
    assert.equal(stuck.state, 'deploying');
    const again = await stack.api<ApiRelease>('POST', '/v1/services/web:rollback', {release: 2}, {'idempotency-key': key});
    assert.equal(again.status, 202, JSON.stringify(again.json));
    assert.equal(again.json.release, stuck.release, 'the same release, resumed');
    assert.equal(again.json.state, 'deployed');
    assert.match(image(), /@sha256:2{64}$/);
  });

  it('malformed, huge, wrongly typed requests and bad service names', async () => {
    assert.equal((await stack.api('POST', '/v1/services/web:rollback', '{"release": ')).status, 400, 'malformed JSON');
    const huge = await stack.api('POST', '/v1/services/web:rollback', JSON.stringify({release: 1, pad: 'x'.repeat(100_000)}));
    assert.equal(huge.status, 413);
    const text = await stack.api('POST', '/v1/services/web:rollback', 'release=1', {'content-type': 'text/plain'});
    assert.equal(text.status, 415);
    const method = await stack.api('GET', '/v1/services/web:rollback');
    assert.equal(method.status, 405);
    assert.equal((await stack.api('DELETE', '/v1/services/web/releases/1')).status, 405);
    assert.equal((await stack.api('POST', '/v1/services/web:explode', {})).status, 404);
    // A broken percent-encoding is refused by the Functions Framework's router itself (400, HTML body).
    assert.equal((await stack.api('POST', '/v1/services/%E0%A4%A:redeploy', {})).status, 400);
    for (const bad of ['a%2Fb', 'a/b', '..', 'Web', 'x'.repeat(50)]) {
      const r = await stack.api<Partial<ApiErrorBody> | undefined>('POST', `/v1/services/${bad}:redeploy`, {});
      assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.json)}`);
      assert.match(r.json?.error?.message ?? '', /^service:/, `${bad}: ${JSON.stringify(r.json)}`);
      // A client normalises /v1/services/../releases itself (to /v1/releases): 404, never a service.
      assert.equal((await stack.api('GET', `/v1/services/${bad}/releases`)).status, bad === '..' ? 404 : 400, bad);
    }
    assert.equal((await stack.api('GET', '/v1/services/web/releases/0')).status, 400);
    assert.equal((await stack.api('GET', '/v1/services/web/releases/1e3')).status, 400);
    assert.equal((await stack.api('GET', '/v2/anything')).status, 404);
  });
});
