import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {MetricServiceClient} from '@google-cloud/monitoring';
import {ServicesClient} from '@google-cloud/run';
import {LocalRegistry} from '../../local/build/registry';
import {CloudRunEmulator} from '../../local/cloud-run/emulator';
import {createProcessRevisionRunner, type ProcessRevisionRunner} from '../../local/cloud-run/process-revision-runner';
import {RequestLog} from '../../local/cloud-run/request-log';
import {ServiceRouter} from '../../local/cloud-run/router';
import {servingTarget} from '../../local/cloud-run/serving-target';
import {clientOptions, restClientOptions} from '../../local/grpc/client-options';
import {startRestServer} from '../../local/grpc/rest-server';
import {MonitoringEmulator} from '../../local/monitoring/emulator';
import {CloudMonitoringMetrics} from '../../src/google/monitoring';
import {DropdeployError} from '../../src/errors';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'demo-project';
const REGION = 'us-central1';
// Answers 500 on /fail, after 30 ms on /slow, at once otherwise.
const APP = `require('node:http').createServer((req, res) => {
  if (req.url === '/fail') { res.statusCode = 500; return res.end('no'); }
  setTimeout(() => res.end('ok'), req.url === '/slow' ? 30 : 0);
}).listen(Number(process.env.PORT), '127.0.0.1');`;

describe('the Metrics adapter through the official MetricServiceClient, against the local Monitoring API fed by the router', () => {
  const root = mkdtempSync(join(tmpdir(), 'dropdeploy-monitoring-'));
  const registry = new LocalRegistry(join(root, 'registry'));
  const requests = new RequestLog();
  const runner: ProcessRevisionRunner = createProcessRevisionRunner({
    ...{registry, logDir: join(root, 'logs'), secretsDir: join(root, 'secrets'), startupTimeoutMs: 5000},
  });
  const router: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(run, route), onRequest: (r) => requests.add(r)});
  const run: CloudRunEmulator = new CloudRunEmulator({runner, serviceUri: ({service}) => router.urlFor(service)});
  const monitoring = new MonitoringEmulator({projectId: PROJECT, location: REGION, records: (from, to) => requests.between(from, to)});
  let services: ServicesClient;
  let client: MetricServiceClient;
  let metrics: CloudMonitoringMetrics;
  let revision: string;
  let start: Date;

  before(async () => {
    const dir = mkdtempSync(join(root, 'src-'));
    writeFileSync(join(dir, 'server.js'), APP);
    const image = `repo/hello@${await registry.push('repo/hello:v1', dir, {entrypoint: ['node', 'server.js'], env: {}})}`;
    services = new ServicesClient(clientOptions(await run.start()));
    client = new MetricServiceClient(clientOptions(await monitoring.start()));
    metrics = new CloudMonitoringMetrics(client, PROJECT, REGION);
    start = new Date();
    const [op] = await services.createService({
      parent: `projects/${PROJECT}/locations/${REGION}`,
      serviceId: 'hello',
      service: {template: {containers: [{image}]}},
    });
    const [svc] = await op.promise();
    revision = svc.latestReadyRevision!.split('/').pop()!;
    // 40 requests, of which 4 answer 500 and 4 take 30 ms.
    for (let i = 0; i < 40; i++) {
      const path = i % 10 === 3 ? '/fail' : i % 10 === 7 ? '/slow' : '/';
      const res = await fetch(`${svc.uri}${path}`);
      await res.text();
    }
  });
  after(async () => {
    await Promise.all([services.close(), client.close()]);
    await Promise.all([run.stop(), monitoring.stop()]);
    await runner.stopAll();
    await router.close();
    rmSync(root, {recursive: true, force: true});
  });

  it("reports the revision's requests, its 5xx and a p99 latency", async () => {
    const got = await metrics.revision('hello', revision, start, new Date());
    assert.equal(got.requests, 40);
    assert.equal(got.errors5xx, 4);
    assert.ok(got.p99Ms !== undefined && got.p99Ms >= 30 && got.p99Ms < 2000, `p99 ${got.p99Ms} ms: at least the slow requests' 30 ms`);
  });

  it('reports nothing for a window before the requests, or another revision', async () => {
    assert.deepEqual(await metrics.revision('hello', revision, new Date(start.getTime() - 60_000), start), {requests: 0, errors5xx: 0});
    assert.deepEqual(await metrics.revision('hello', 'hello-00009-xyz', start, new Date()), {requests: 0, errors5xx: 0});
  });

  it('pages, and leaves points out in view HEADERS', async () => {
    const request = {
      name: `projects/${PROJECT}`,
      filter: `metric.type = "run.googleapis.com/request_count" AND resource.labels.service_name = "hello"`,
      interval: {startTime: {seconds: Math.floor(start.getTime() / 1000) - 1}, endTime: {seconds: Math.ceil(Date.now() / 1000)}},
      view: 'HEADERS' as const,
      pageSize: 1,
    };
    const [first, next] = await client.listTimeSeries(request, {autoPaginate: false});
    assert.equal(first.length, 1);
    assert.deepEqual(first[0].points, []);
    assert.equal(first[0].metric?.labels?.response_code, '200');
    assert.ok(next?.pageToken, 'a second page');
    const [second, last] = await client.listTimeSeries({...request, pageToken: next.pageToken}, {autoPaginate: false});
    assert.equal(second[0].metric?.labels?.response_code, '500');
    assert.equal(last, null, 'no third page');
  });

  it('answers INVALID_ARGUMENT naming what is not supported, and UNIMPLEMENTED for other methods', async () => {
    const bad = {
      name: `projects/${PROJECT}`,
      filter: `metric.type = "run.googleapis.com/request_count" OR resource.labels.service_name = "hello"`,
      interval: {endTime: {seconds: Math.ceil(Date.now() / 1000)}},
    };
    await assert.rejects(client.listTimeSeries(bad), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 3);
      assert.match(err.message!, /operator OR .* not supported/);
      return true;
    });
    await assert.rejects(client.listMetricDescriptors({name: `projects/${PROJECT}`}), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 12);
      assert.match(err.message!, /ListMetricDescriptors is not emulated.*only ListTimeSeries/);
      return true;
    });
  });

  it('reports the same over REST, with the client in REST mode against the REST server', async () => {
    const rest = await startRestServer(monitoring);
    const restClient = new MetricServiceClient(restClientOptions(rest.port));
    try {
      const end = new Date();
      const overRest = await new CloudMonitoringMetrics(restClient, PROJECT, REGION).revision('hello', revision, start, end);
      assert.deepEqual(overRest, await metrics.revision('hello', revision, start, end));
      assert.equal(overRest.requests, 40);
    } finally {
      await restClient.close();
      await rest.close();
    }
  });

  it('maps an SDK error to the project errors', async () => {
    // PERMISSION_DENIED, as a controller without roles/monitoring.viewer gets (UNAVAILABLE the client retries itself).
    monitoring.injectFault({method: 'ListTimeSeries', code: 7, message: 'Permission monitoring.timeSeries.list denied'});
    await assert.rejects(metrics.revision('hello', revision, start, new Date()), (err: unknown) => {
      assert.ok(err instanceof DropdeployError);
      assert.equal(err.retryable, false);
      assert.match(err.message, /Cloud Monitoring ListTimeSeries .* failed with PERMISSION_DENIED: .*monitoring\.timeSeries\.list denied/);
      return true;
    });
  });
});
