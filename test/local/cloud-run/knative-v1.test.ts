/**
 * The Cloud Run v1 routes over a real CloudRunEmulator (in-process v2 calls), served by the
 * Cloud Run REST server beside v2: a PUT is an UpdateService (recorded, a new revision), a stale
 * resourceVersion is a 409 as a stale etag is, and every refusal says what was wrong.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator} from '../../../local/cloud-run/emulator';
import {knativeV1Routes, requestRegion} from '../../../local/cloud-run/knative-v1';
import {request} from 'node:http';
import type {KnativeService} from '../../../local/cloud-run/knative-mapping';
import {clientOptions} from '../../../local/grpc/client-options';
import {startRestServer, type RestServer} from '../../../local/grpc/rest-server';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PARENT = 'projects/p1/locations/us-central1';
const IMAGE = 'us-central1-docker.pkg.dev/p1/apps/web@sha256:' + '1'.repeat(64);
const V1 = '/apis/serving.knative.dev/v1/namespaces/p1';

describe('Cloud Run v1 routes over the v2 emulator', () => {
  const emu = new CloudRunEmulator();
  let server: RestServer;
  let services: ServicesClient;
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return {status: res.status, body: (await res.json()) as Record<string, unknown> & {error?: {message: string; status: string}}};
  };
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, {method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body)});
    return {status: res.status, body: (await res.json()) as Record<string, unknown> & {error?: {message: string; status: string}}};
  };
  const until = async (check: () => Promise<boolean>) => {
    const end = Date.now() + 10_000;
    while (!(await check())) {
      assert.ok(Date.now() < end, 'timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  before(async () => {
    const port = await emu.start();
    services = new ServicesClient(clientOptions(port));
    server = await startRestServer(emu, {
      extraRoutes: [knativeV1Routes((m, r) => emu.invokeMethod(m, r), {project: 'p1', region: 'us-central1'})],
    });
    const [op] = await services.createService({
      parent: PARENT,
      serviceId: 'web',
      service: {labels: {'managed-by': 'dropdeploy'}, template: {containers: [{image: IMAGE, env: [{name: 'A', value: '1'}]}]}},
    });
    await op.promise();
  });
  after(async () => {
    await services.close();
    await server.close();
    await emu.stop();
  });

  it('a PUT is an UpdateService: a new revision, the env in v2, Ready after the rollout', async () => {
    const read = (await get(`${V1}/services/web`)).body as unknown as KnativeService;
    read.spec.template.spec.containers![0].env!.push({name: 'B', value: '2'});
    const before = emu.callsTo('UpdateService').length;
    const answer = await put(`${V1}/services/web`, read);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(emu.callsTo('UpdateService').length, before + 1);
    const written = answer.body as unknown as KnativeService;
    assert.equal(written.metadata.generation, 2);
    assert.equal(written.status?.observedGeneration, 2);
    await until(
      async () => ((await get(`${V1}/services/web`)).body as unknown as KnativeService).status?.conditions?.[0].status === 'True',
    );
    const [v2] = await services.getService({name: `${PARENT}/services/web`});
    assert.deepEqual(
      v2.template?.containers?.[0].env?.map((e) => `${e.name}=${e.value}`),
      ['A=1', 'B=2'],
    );
    assert.match(v2.latestReadyRevision ?? '', /web-00002-/);
    const revisions = (await get(`${V1}/revisions?labelSelector=serving.knative.dev%2Fservice+%3D+web`)).body.items as Array<{
      metadata: {name: string};
    }>;
    assert.equal(revisions.length, 2);
    const one = await get(`${V1}/revisions/${revisions[1].metadata.name}`);
    assert.equal(one.status, 200);
    assert.equal((one.body as {metadata: {name: string}}).metadata.name, revisions[1].metadata.name);
  });

  it('a stale resourceVersion is refused with 409, as a stale etag: nothing changes', async () => {
    const read = (await get(`${V1}/services/web`)).body as unknown as KnativeService;
    read.metadata.resourceVersion = 'stale';
    const answer = await put(`${V1}/services/web`, read);
    assert.equal(answer.status, 409);
    assert.equal(answer.body.error?.status, 'ABORTED');
    assert.match(answer.body.error?.message ?? '', /etag stale is stale/);
    assert.equal(((await get(`${V1}/services/web`)).body as unknown as KnativeService).metadata.generation, read.metadata.generation);
  });

  const refusals: Array<{
    name: string;
    call: () => Promise<{status: number; body: {error?: {message: string}}}>;
    status: number;
    message: RegExp;
  }> = [
    {name: 'a missing service', call: () => get(`${V1}/services/nope`), status: 404, message: /Resource 'nope' of kind 'SERVICE'/},
    {
      name: 'another project',
      call: () => get('/apis/serving.knative.dev/v1/namespaces/other/services'),
      status: 404,
      message: /the local stack's project is 'p1'/,
    },
    {name: 'a PUT that is not JSON', call: () => put(`${V1}/services/web`, '{'), status: 400, message: /Invalid JSON payload/},
    {
      name: 'a PUT without containers',
      call: () => put(`${V1}/services/web`, {metadata: {name: 'web'}, spec: {template: {spec: {}}}}),
      status: 400,
      message: /spec\.template\.spec\.containers: at least one container is required/,
    },
    {
      name: 'a PUT onto a missing service',
      call: () => put(`${V1}/services/nope`, {metadata: {name: 'nope'}, spec: {template: {spec: {containers: [{image: IMAGE}]}}}}),
      status: 404,
      message: /Resource 'nope'/,
    },
    {
      name: 'a label selector that is not emulated',
      call: () => get(`${V1}/revisions?labelSelector=app%3Dx`),
      status: 400,
      message: /only 'serving\.knative\.dev\/service = NAME' is emulated/,
    },
    {
      name: 'a missing revision',
      call: () => get(`${V1}/revisions/web-99999-zzz`),
      status: 404,
      message: /Revision 'web-99999-zzz' not found/,
    },
    {name: 'a route not emulated', call: () => get(`${V1}/configurations`), status: 404, message: /was not found on this server/},
  ];
  for (const row of refusals) {
    it(`refuses ${row.name} (${row.status})`, async () => {
      const r = await row.call();
      assert.equal(r.status, row.status, JSON.stringify(r.body));
      assert.match(r.body.error?.message ?? '', row.message);
    });
  }

  it('regions: the Host names the region (as gcloud builds it), locations/- lists them all', async () => {
    const [op] = await services.createService({
      parent: 'projects/p1/locations/europe-west1',
      serviceId: 'eu',
      service: {template: {containers: [{image: IMAGE}]}},
    });
    await op.promise();
    const viaHost = (host: string, path: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const u = new URL(server.url);
        request({host: u.hostname, port: u.port, path, headers: {host}}, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
        })
          .on('error', reject)
          .end();
      });
    type Item = {metadata: {name: string; labels: Record<string, string>}};
    const names = (b: Record<string, unknown>) =>
      (b.items as Item[]).map((s) => `${s.metadata.name}@${s.metadata.labels['cloud.googleapis.com/location']}`);
    assert.deepEqual(names(await viaHost(`europe-west1-127.0.0.1:${new URL(server.url).port}`, `${V1}/services`)), ['eu@europe-west1']);
    assert.deepEqual(names((await get(`${V1}/services`)).body), ['web@us-central1'], 'any other host: the stack’s own region');
    const eu = await viaHost(`europe-west1-127.0.0.1:${new URL(server.url).port}`, `${V1}/services/eu`);
    assert.equal((eu.metadata as {name: string}).name, 'eu');
    assert.deepEqual(names((await get('/v1/projects/p1/locations/-/services')).body), ['web@us-central1', 'eu@europe-west1']);
    assert.deepEqual(names((await get('/v1/projects/p1/locations/europe-west1/services')).body), ['eu@europe-west1']);
    assert.deepEqual((await get('/v1/projects/p1/locations/asia-east1/services')).body.items, []);
  });

  const hosts: Array<[string | undefined, string]> = [
    ['us-central1-127.0.0.1:8080', 'us-central1'],
    ['europe-west1-localhost:1', 'europe-west1'],
    ['127.0.0.1:8080', 'home'],
    ['localhost', 'home'],
    [undefined, 'home'],
    ['run.googleapis.com', 'home'],
  ];
  for (const [host, want] of hosts) it(`region of Host ${host}: ${want}`, () => assert.equal(requestRegion(host, 'home'), want));
});
