import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {RevisionsClient, ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator, type RevisionToStart} from '../../../local/cloud-run/emulator';
import type {ClientOptions} from 'google-gax';
import {clientOptions, restClientOptions} from '../../../local/grpc/client-options';
import {startRestServer, type RestServer} from '../../../local/grpc/rest-server';
import {CLIENT_MODES, rejectsWithCode} from '../grpc/client-modes';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PARENT = 'projects/demo-project/locations/us-central1';
const IMAGE_V1 = 'us-central1-docker.pkg.dev/demo-project/apps/hello@sha256:' + '1'.repeat(64);
const IMAGE_V2 = 'us-central1-docker.pkg.dev/demo-project/apps/hello@sha256:' + '2'.repeat(64);
const NO_RETRY = {retry: null};

function serviceSpec(image: string) {
  return {
    labels: {'managed-by': 'dropdeploy'},
    template: {
      containers: [
        {
          image,
          env: [{name: 'GREETING', value: 'hi'}],
          resources: {limits: {memory: '1Gi', cpu: '1'}},
        },
      ],
    },
  };
}

const shortName = (name: string | null | undefined) => name?.split('/').pop();

// One contract, two transports: the official clients over gRPC, and in REST mode against the
// emulator's REST server (what gcloud and the clients' `fallback` mode send).
for (const mode of CLIENT_MODES) {
  describe(`CloudRunEmulator with the official ServicesClient and RevisionsClient (${mode})`, () => {
    const emu = new CloudRunEmulator();
    let services: ServicesClient;
    let revisions: RevisionsClient;
    let rest: RestServer | undefined;

    before(async () => {
      const port = await emu.start();
      if (mode === 'rest') rest = await startRestServer(emu);
      const options: ClientOptions = rest ? restClientOptions(rest.port) : clientOptions(port);
      services = new ServicesClient(options);
      revisions = new RevisionsClient(options);
    });
    after(async () => {
      await services.close();
      await revisions.close();
      await rest?.close();
      await emu.stop();
    });

    async function create(id: string, image = IMAGE_V1) {
      const [op] = await services.createService({parent: PARENT, serviceId: id, service: serviceSpec(image)});
      return op;
    }

    it('creates a service whose operation resolves once the first revision is ready', async () => {
      const op = await create('hello');
      assert.equal((op.metadata as {name?: string}).name, `${PARENT}/services/hello`);
      const [svc] = await op.promise();
      assert.match(svc.uri!, /^https:\/\/hello-[a-z0-9]+-uc\.a\.run\.app$/);
      assert.match(shortName(svc.latestReadyRevision)!, /^hello-00001-[a-z]{3}$/);
      assert.equal(svc.latestCreatedRevision, svc.latestReadyRevision);

      const [got] = await services.getService({name: `${PARENT}/services/hello`});
      assert.equal(got.generation, '1');
      assert.equal(got.reconciling, false);
      assert.equal(got.terminalCondition?.type, 'Ready');
      assert.equal(got.terminalCondition?.state, 'CONDITION_SUCCEEDED');
      assert.deepEqual(
        got.trafficStatuses?.map((t) => [t.type, t.revision, t.percent]),
        [['TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', shortName(got.latestReadyRevision), 100]],
      );
      assert.ok(got.etag && got.uid && got.createTime && got.creator);
    });

    it('answers ALREADY_EXISTS, NOT_FOUND and INVALID_ARGUMENT like Cloud Run', async () => {
      await rejectsWithCode(create('hello'), 6);
      await rejectsWithCode(services.getService({name: `${PARENT}/services/missing`}), 5);
      await rejectsWithCode(create('Bad_Name'), 3);
      await rejectsWithCode(services.createService({parent: PARENT, serviceId: 'empty', service: {template: {}}}), 3);
      await rejectsWithCode(services.updateService({service: {name: `${PARENT}/services/missing`, ...serviceSpec(IMAGE_V1)}}), 5);
    });

    it('rejects an update carrying a stale etag with ABORTED', async () => {
      const [read] = await services.getService({name: `${PARENT}/services/hello`});
      const [op] = await services.updateService({service: {...read, labels: {...read.labels, touched: 'yes'}}});
      await op.promise();
      await rejectsWithCode(services.updateService({service: {...read, labels: {other: 'x'}}}), 10);
      assert.equal((emu.getService('hello')!.labels as Record<string, string>).touched, 'yes');
      assert.equal(emu.revisions('hello').length, 1); // labels alone make no revision
    });

    it('applies only the masked fields when an update mask is given', async () => {
      const revisionsBefore = emu.revisions('hello').length;
      const [op] = await services.updateService({
        service: {name: `${PARENT}/services/hello`, labels: {masked: 'yes'}},
        updateMask: {paths: ['labels']},
      });
      const [svc] = await op.promise();
      assert.deepEqual(svc.labels, {masked: 'yes'});
      assert.equal(svc.template?.containers?.[0]?.env?.[0]?.value, 'hi');
      assert.equal(emu.revisions('hello').length, revisionsBefore);
    });

    it('keeps operator settings that are sent back and rolls out a new revision for a new image', async () => {
      const [read] = await services.getService({name: `${PARENT}/services/hello`});
      const template = {...read.template, containers: [{...read.template!.containers![0], image: IMAGE_V2}]};
      const [op] = await services.updateService({service: {...read, template}});
      const [svc] = await op.promise();
      assert.match(shortName(svc.latestReadyRevision)!, /^hello-00004-[a-z]{3}$/);
      const [got] = await services.getService({name: read.name!});
      const container = got.template!.containers![0];
      assert.equal(container.image, IMAGE_V2);
      assert.deepEqual(
        container.env?.map((e) => [e.name, e.value]),
        [['GREETING', 'hi']],
      );
      assert.equal(container.resources?.limits?.memory, '1Gi');
      assert.equal(got.uri, read.uri);
      assert.equal(got.generation, '4');
      assert.equal(got.trafficStatuses![0].revision, shortName(got.latestReadyRevision));
    });

    it('leaves traffic on the last good revision when a new one crashes', async () => {
      const [read] = await services.getService({name: `${PARENT}/services/hello`});
      const good = read.latestReadyRevision;
      const template = {...read.template, containers: [{...read.template!.containers![0], image: 'example/crash:1'}]};
      const [op] = await services.updateService({service: {...read, template}});
      await assert.rejects(op.promise(), (err: {code?: number; message?: string}) => {
        assert.equal(err.code, 9);
        assert.match(err.message!, /Revision 'hello-00005-[a-z]{3}' is not ready and cannot serve traffic/);
        return true;
      });
      const [got] = await services.getService({name: read.name!});
      assert.equal(got.latestReadyRevision, good);
      assert.match(shortName(got.latestCreatedRevision)!, /^hello-00005-/);
      assert.equal(got.trafficStatuses![0].revision, shortName(good));
      assert.equal(got.terminalCondition?.state, 'CONDITION_FAILED');
      assert.match(got.terminalCondition.message!, /failed to start and listen on the port/);
    });

    it('lists, gets and deletes revisions, refusing to delete one that serves traffic', async () => {
      const [list] = await revisions.listRevisions({parent: `${PARENT}/services/hello`});
      assert.deepEqual(
        list.map((r) => shortName(r.name)!.slice(0, 11)),
        ['hello-00005', 'hello-00004', 'hello-00001'],
      );
      const [failed] = await revisions.getRevision({name: list[0].name!});
      assert.equal(failed.conditions?.[0]?.state, 'CONDITION_FAILED');
      assert.equal(failed.containers?.[0]?.image, 'example/crash:1');
      await rejectsWithCode(revisions.deleteRevision({name: list[1].name!}), 9);
      const [op] = await revisions.deleteRevision({name: list[2].name!});
      const [deleted] = await op.promise();
      assert.equal(deleted.name, list[2].name);
      assert.equal(emu.revisions('hello').length, 2);
      await rejectsWithCode(revisions.getRevision({name: list[2].name!}), 5);
    });

    it('serves injected faults without changing state, then recovers', async () => {
      const before = emu.getService('hello') as {name: string; generation: unknown};
      emu.injectFault({method: 'UpdateService', code: 14});
      const [read] = await services.getService({name: before.name});
      await rejectsWithCode(services.updateService({service: {...read, labels: {x: 'y'}}}, NO_RETRY), 14);
      assert.equal(emu.getService('hello')!.generation, before.generation);
      assert.equal(emu.callsTo('UpdateService').at(-1)!.method, 'UpdateService');

      emu.injectFault({method: 'GetService', code: 4, times: 2});
      await rejectsWithCode(services.getService({name: before.name}, NO_RETRY), 4);
      await rejectsWithCode(services.getService({name: before.name}, NO_RETRY), 4);
      const [ok] = await services.getService({name: before.name}, NO_RETRY);
      assert.equal(ok.name, before.name);

      emu.injectFault({method: 'GetService', delayMs: 150});
      const started = Date.now();
      await services.getService({name: before.name});
      assert.ok(Date.now() - started >= 140);
    });

    it("keeps a service's IAM policy: GetIamPolicy / SetIamPolicy with etags, as Cloud Run does", async () => {
      await (await create('iam-svc')).promise();
      const resource = `${PARENT}/services/iam-svc`;
      const [empty] = await services.getIamPolicy({resource}, NO_RETRY);
      assert.deepEqual(empty.bindings, []);
      assert.ok(empty.etag && empty.etag.length > 0, 'a fresh policy has an etag');
      const bindings = [{role: 'roles/run.invoker', members: ['allUsers', 'user:ops@example.com']}];
      const [set] = await services.setIamPolicy({resource, policy: {bindings, etag: empty.etag}}, NO_RETRY);
      assert.deepEqual(
        set.bindings?.map((b) => ({role: b.role, members: b.members})),
        bindings,
      );
      assert.notDeepEqual(Buffer.from(set.etag as Uint8Array), Buffer.from(empty.etag as Uint8Array), 'a new etag');
      const [got] = await services.getIamPolicy({resource}, NO_RETRY);
      assert.deepEqual(
        got.bindings?.map((b) => b.members),
        [['allUsers', 'user:ops@example.com']],
      );
      // A stale etag loses (concurrent policy changes); no etag overwrites.
      await rejectsWithCode(services.setIamPolicy({resource, policy: {bindings: [], etag: empty.etag}}, NO_RETRY), 10);
      const [cleared] = await services.setIamPolicy({resource, policy: {bindings: []}}, NO_RETRY);
      assert.deepEqual(cleared.bindings, []);
      await rejectsWithCode(services.getIamPolicy({resource: `${PARENT}/services/nobody`}, NO_RETRY), 5);
      await rejectsWithCode(
        services.setIamPolicy({resource, policy: {bindings: [{role: 'roles/run.invoker', members: ['not a member']}]}}, NO_RETRY),
        3,
      );
      const [del] = await services.deleteService({name: resource});
      await del.promise();
    });

    it('lists and deletes services', async () => {
      await (await create('second')).promise();
      const [list] = await services.listServices({parent: PARENT});
      assert.deepEqual(list.map((s) => shortName(s.name)).sort(), ['hello', 'second']);
      const [op] = await services.deleteService({name: `${PARENT}/services/second`});
      const [deleted] = await op.promise();
      assert.equal(shortName(deleted.name), 'second');
      await rejectsWithCode(services.getService({name: `${PARENT}/services/second`}), 5);
    });
  });
}

describe('CloudRunEmulator with a custom runner', () => {
  it('asks the runner to start each new revision and records where it listens', async () => {
    const started: RevisionToStart[] = [];
    const stopped: string[] = [];
    const emu = new CloudRunEmulator({
      runner: {
        start: (rev) => {
          started.push(rev);
          return Promise.resolve({ready: true, url: `http://127.0.0.1:9${started.length}00`});
        },
        stop: (name) => {
          stopped.push(name);
          return Promise.resolve();
        },
      },
      serviceUri: ({service}) => `http://127.0.0.1:8080/${service}`,
    });
    const services = new ServicesClient(clientOptions(await emu.start()));
    try {
      const [op] = await services.createService({parent: PARENT, serviceId: 'fn', service: serviceSpec(IMAGE_V1)});
      const [svc] = await op.promise();
      assert.equal(svc.uri, 'http://127.0.0.1:8080/fn');
      assert.equal(started.length, 1);
      assert.deepEqual(started[0].env, {GREETING: 'hi'});
      assert.equal(started[0].image, IMAGE_V1);
      assert.equal(started[0].port, 8080);
      assert.equal(emu.revisionUrl(started[0].name), 'http://127.0.0.1:9100');
    } finally {
      await services.close();
      await emu.stop();
    }
    assert.deepEqual(stopped, [started[0].name]);
  });
});
