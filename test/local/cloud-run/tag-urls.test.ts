import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator} from '../../../local/cloud-run/emulator';
import {createProcessRevisionRunner, type ProcessRevisionRunner} from '../../../local/cloud-run/process-revision-runner';
import type {RequestRecord} from '../../../local/cloud-run/request-log';
import {ServiceRouter} from '../../../local/cloud-run/router';
import {servingTarget} from '../../../local/cloud-run/serving-target';
import type {SavedService} from '../../../local/cloud-run/persisted';
import {clientOptions} from '../../../local/grpc/client-options';
import {LocalRegistry} from '../../../local/build/registry';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PARENT = 'projects/demo-project/locations/us-central1';
const NAME = `${PARENT}/services/hello`;
const app = (version: string) =>
  `require('node:http').createServer((req, res) => res.end(${JSON.stringify(version)})).listen(Number(process.env.PORT), '127.0.0.1');`;
const portOf = (uri: string) => Number(new URL(uri).port);

async function get(url: string): Promise<{status: number; body: string}> {
  const res = await fetch(url);
  return {status: res.status, body: await res.text()};
}

/** The local Cloud Run as the stack wires it: emulator, process runner, router with tag URLs. */
function localRun(registry: LocalRegistry, root: string, records: RequestRecord[]) {
  const runner: ProcessRevisionRunner = createProcessRevisionRunner({
    ...{registry, logDir: join(root, 'logs'), secretsDir: join(root, 'secrets'), startupTimeoutMs: 5000},
  });
  const router: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(emu, route), onRequest: (r) => records.push(r)});
  const emu: CloudRunEmulator = new CloudRunEmulator({
    runner,
    serviceUri: ({service}) => router.urlFor(service),
    tagUri: ({service, tag}) => router.tagUrlFor(service, tag),
  });
  return {
    runner,
    router,
    emu,
    async stop() {
      await emu.stop();
      await runner.stopAll();
      await router.close();
    },
  };
}

describe('tag URLs of the local Cloud Run', () => {
  const root = mkdtempSync(join(tmpdir(), 'dropdeploy-tags-'));
  const registry = new LocalRegistry(join(root, 'registry'));
  const records: RequestRecord[] = [];
  let run = localRun(registry, root, records);
  let services: ServicesClient;
  const images: Record<string, string> = {};
  let uri: string;
  let tagUri: string;

  async function push(tag: string): Promise<string> {
    const dir = mkdtempSync(join(root, 'src-'));
    writeFileSync(join(dir, 'server.js'), app(tag));
    return `repo/hello@${await registry.push(`repo/hello:${tag}`, dir, {entrypoint: ['node', 'server.js'], env: {}})}`;
  }
  const template = (image: string, revision: string) => ({revision, containers: [{image}]});
  const stored = () => run.emu.getService('hello')!;

  before(async () => {
    images.v1 = await push('v1');
    images.v2 = await push('v2');
    services = new ServicesClient(clientOptions(await run.emu.start()));
  });
  after(async () => {
    await services.close();
    await run.stop();
    rmSync(root, {recursive: true, force: true});
  });

  it('gives a tagged 0 % revision its own URL, while the service URL serves the other', async () => {
    const [create] = await services.createService({
      parent: PARENT,
      serviceId: 'hello',
      service: {template: template(images.v1, 'hello-v1')},
    });
    uri = (await create.promise())[0].uri!;
    const traffic = [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const, revision: 'hello-v1', percent: 100},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const, revision: 'hello-v2', percent: 0, tag: 'candidate'},
    ];
    const [update] = await services.updateService({service: {name: NAME, template: template(images.v2, 'hello-v2'), traffic}});
    const [svc] = await update.promise();
    const tagged = svc.trafficStatuses!.find((t) => t.tag === 'candidate')!;
    tagUri = tagged.uri!;
    assert.match(tagUri, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(tagUri, uri);
    assert.deepEqual(svc.urls, [uri], "Service.urls lists the service's own URLs, as Cloud Run's does");
    records.length = 0;
    for (let i = 0; i < 5; i++) assert.deepEqual(await get(uri), {status: 200, body: 'v1'});
    assert.deepEqual(await get(tagUri), {status: 200, body: 'v2'});
    assert.deepEqual(
      records.map((r) => r.revision),
      ['hello-v1', 'hello-v1', 'hello-v1', 'hello-v1', 'hello-v1', 'hello-v2'],
      "a request through the tag URL is the tagged revision's",
    );
    assert.ok(run.runner.pidOf('hello-v2'), 'the 0 % tagged revision keeps running');
  });

  it('keeps the tag URL across a restart, at the same port', async () => {
    const saved: SavedService[] = run.emu.snapshot();
    await run.stop();
    run = localRun(registry, root, records);
    await run.emu.start();
    const report = await run.emu.restore(
      saved,
      (service, savedUri) => run.router.urlFor(service, portOf(savedUri)),
      (service, tag, savedUri) => run.router.tagUrlFor(service, tag, portOf(savedUri)),
    );
    assert.deepEqual(report.moved, []);
    assert.equal(stored().trafficStatuses?.find((t) => t.tag === 'candidate')?.uri, tagUri);
    assert.deepEqual(await get(tagUri), {status: 200, body: 'v2'});
    assert.deepEqual(await get(uri), {status: 200, body: 'v1'});
  });

  it('answers 404 at the tag URL once the tag is removed', async () => {
    await services.close();
    services = new ServicesClient(clientOptions(run.emu.port));
    const traffic = [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const, revision: 'hello-v1', percent: 100}];
    const [current] = await services.getService({name: NAME});
    const [update] = await services.updateService({service: {...current, traffic}});
    await update.promise();
    const gone = await get(tagUri);
    assert.equal(gone.status, 404);
    assert.match(gone.body, /no traffic target tagged 'candidate'/);
    assert.deepEqual(await get(uri), {status: 200, body: 'v1'});
  });
});
