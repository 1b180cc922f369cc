/**
 * Several regions in one local Cloud Run: the region (and project) is in every resource name, so a
 * service of the same id in two regions is two services, each with its own URL, revisions and
 * processes — even with the same revision name in both, as a dropdeploy deploy gives them.
 */
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator} from '../../../local/cloud-run/emulator';
import {createProcessRevisionRunner} from '../../../local/cloud-run/process-revision-runner';
import type {RequestRecord} from '../../../local/cloud-run/request-log';
import {ServiceRouter} from '../../../local/cloud-run/router';
import {servingTarget} from '../../../local/cloud-run/serving-target';
import {clientOptions} from '../../../local/grpc/client-options';
import {LocalRegistry} from '../../../local/build/registry';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const US = 'projects/demo-project/locations/us-central1';
const EU = 'projects/demo-project/locations/europe-west1';
const OTHER = 'projects/other-project/locations/us-central1';
const app = (text: string) =>
  `require('node:http').createServer((req, res) => res.end(${JSON.stringify(text)} + ' ' + process.env.K_REVISION)).listen(Number(process.env.PORT), '127.0.0.1');`;

describe('the local Cloud Run in several regions and projects', () => {
  const root = mkdtempSync(join(tmpdir(), 'dropdeploy-regions-'));
  const registry = new LocalRegistry(join(root, 'registry'));
  const records: RequestRecord[] = [];
  const runner = createProcessRevisionRunner({registry, logDir: join(root, 'logs'), startupTimeoutMs: 5000});
  const router: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(emu, route), onRequest: (r) => records.push(r)});
  const emu: CloudRunEmulator = new CloudRunEmulator({
    runner,
    home: {project: 'demo-project', location: 'us-central1'},
    serviceUri: ({service, project, location}) => router.urlFor(service, undefined, {project, location}),
  });
  let services: ServicesClient;
  const image: Record<string, string> = {};

  async function push(text: string): Promise<string> {
    const dir = mkdtempSync(join(root, 'src-'));
    writeFileSync(join(dir, 'server.js'), app(text));
    return `repo/web@${await registry.push(`repo/web:${text}`, dir, {entrypoint: ['node', 'server.js'], env: {}})}`;
  }
  async function create(parent: string, img: string): Promise<string> {
    const [op] = await services.createService({
      parent,
      serviceId: 'web',
      service: {template: {revision: 'web-r1', containers: [{image: img}]}},
    });
    return (await op.promise())[0].uri!;
  }
  const body = async (url: string) => (await fetch(url)).text();

  before(async () => {
    image.us = await push('us');
    image.eu = await push('eu');
    image.other = await push('other');
    services = new ServicesClient(clientOptions(await emu.start()));
  });
  after(async () => {
    await services.close();
    await emu.stop();
    await runner.stopAll();
    await router.close();
    rmSync(root, {recursive: true, force: true});
  });

  it('one service id in two regions and another project: three services, three URLs, each its own revision', async () => {
    const us = await create(US, image.us);
    const eu = await create(EU, image.eu);
    const other = await create(OTHER, image.other);
    assert.equal(new Set([us, eu, other]).size, 3);
    assert.equal(await body(us), 'us web-r1');
    assert.equal(await body(eu), 'eu web-r1', 'the same revision name in another region runs its own process');
    assert.equal(await body(other), 'other web-r1');
    assert.deepEqual(
      records.map((r) => [r.location, r.project]),
      [
        ['us-central1', 'demo-project'],
        ['europe-west1', 'demo-project'],
        ['us-central1', 'other-project'],
      ],
    );
  });

  it('the runner knows the home region’s revisions by their id, others qualified by their region', () => {
    assert.ok(runner.pidOf('web-r1'));
    assert.ok(runner.pidOf('web-r1.europe-west1'));
    assert.ok(runner.pidOf('web-r1.other-project.us-central1'));
    assert.notEqual(runner.pidOf('web-r1'), runner.pidOf('web-r1.europe-west1'));
  });

  it('each region lists only its own services, and a missing one is NOT_FOUND naming its region', async () => {
    const [eu] = await services.listServices({parent: EU});
    assert.deepEqual(
      eu.map((s) => s.name),
      [`${EU}/services/web`],
    );
    await assert.rejects(services.getService({name: 'projects/demo-project/locations/asia-east1/services/web'}), (err: Error) => {
      assert.match(err.message, /in region 'asia-east1'/);
      return true;
    });
  });

  it('a fault scripted for one region hits only that region’s calls', async () => {
    emu.injectFault({method: 'UpdateService', resource: 'locations/europe-west1/', code: 9, message: 'no capacity in europe-west1'});
    const update = (parent: string) =>
      services.updateService({service: {name: `${parent}/services/web`, template: {revision: 'web-r2', containers: [{image: image.us}]}}});
    const [op] = await update(US);
    await op.promise();
    await assert.rejects(update(EU), /no capacity in europe-west1/);
    assert.equal(await body((await services.getService({name: `${US}/services/web`}))[0].uri!), 'us web-r2');
  });

  it('traffic moved back to a revision that scaled to zero starts it again', async () => {
    assert.equal(emu.revisionUrl('web-r1', `${US}/services/web`), undefined, 'web-r1 lost its traffic: retired');
    const [svc] = await services.getService({name: `${US}/services/web`});
    const traffic = [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' as const, revision: 'web-r1', percent: 100}];
    const [op] = await services.updateService({service: {name: svc.name, template: svc.template, traffic}});
    await op.promise();
    assert.equal(await body(svc.uri!), 'us web-r1');
  });

  it('a restart brings every region’s services back, each at its own URL', async () => {
    const runner2 = createProcessRevisionRunner({registry, logDir: join(root, 'logs2'), startupTimeoutMs: 5000});
    const router2: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(emu2, route)});
    const emu2: CloudRunEmulator = new CloudRunEmulator({runner: runner2, home: {project: 'demo-project', location: 'us-central1'}});
    try {
      await emu2.start();
      const report = await emu2.restore(emu.snapshot(), (service, _saved, where) => router2.urlFor(service, undefined, where));
      assert.deepEqual(report.revisions.map((r) => [r.service, r.revision, r.ready]).sort(), [
        ['web', 'web-r1', true],
        ['web', 'web-r1', true],
        ['web', 'web-r1', true],
      ]);
      const uri = (parent: string) => emu2.getService(`${parent}/services/web`)!.uri;
      assert.deepEqual(await Promise.all([US, EU, OTHER].map(async (p) => body(uri(p)))), ['us web-r1', 'eu web-r1', 'other web-r1']);
    } finally {
      await emu2.stop();
      await runner2.stopAll();
      await router2.close();
    }
  });

  it('deleting one region’s service stops only its revision', async () => {
    const [op] = await services.deleteService({name: `${EU}/services/web`});
    await op.promise();
    assert.equal(runner.pidOf('web-r1.europe-west1'), undefined);
    assert.ok(runner.pidOf('web-r1'), 'the home region’s revision still runs');
  });
});
