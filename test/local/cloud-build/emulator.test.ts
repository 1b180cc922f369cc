import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {CloudBuildEmulator, type BuildJson} from '../../../local/cloud-build/emulator';
import {clientOptions, restClientOptions} from '../../../local/grpc/client-options';
import {startRestServer, type RestServer} from '../../../local/grpc/rest-server';
import {CLIENT_MODES, rejectsWithCode} from '../grpc/client-modes';
import {parseJson} from '../../json';
import {operationBuildId} from './cloud-build-client';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'demo-project';
const IMAGE = 'us-central1-docker.pkg.dev/demo-project/apps/hello:r1';

function buildRequest(tag: string) {
  return {
    projectId: PROJECT,
    build: {
      steps: [{name: 'gcr.io/k8s-skaffold/pack', args: ['build', IMAGE]}],
      images: [IMAGE],
      tags: ['dropdeploy', tag],
      substitutions: {_SERVICE: 'hello', _RELEASE: '1'},
      timeout: {seconds: 900},
      source: {storageSource: {bucket: 'src', object: 'hello/v1.tar.gz', generation: 42}},
    },
  };
}
// One contract, two transports: the official client over gRPC and in REST mode.
for (const mode of CLIENT_MODES) {
  describe(`CloudBuildEmulator with the official CloudBuildClient (${mode})`, () => {
    const statuses: BuildJson[] = [];
    const emu = new CloudBuildEmulator({onStatus: (b) => void statuses.push(b)});
    let client: CloudBuildClient;
    let rest: RestServer | undefined;

    before(async () => {
      const port = await emu.start();
      if (mode === 'rest') rest = await startRestServer(emu);
      client = new CloudBuildClient(rest ? restClientOptions(rest.port) : clientOptions(port));
    });
    after(async () => {
      await client.close();
      await rest?.close();
      await emu.stop();
    });

    it('runs a build from QUEUED to SUCCESS and resolves the operation with the Build', async () => {
      const [op] = await client.createBuild(buildRequest('svc-hello'));
      const metadata = op.metadata as {build?: {id?: string}};
      const id = metadata.build!.id!;
      assert.match(op.name!, new RegExp(`^operations/build/${PROJECT}/`));
      assert.equal(Buffer.from(op.name!.split('/').pop()!, 'base64').toString(), id);

      const [queued] = await client.getBuild({projectId: PROJECT, id});
      assert.equal(queued.status, 'QUEUED');
      assert.equal(queued.name, `projects/${PROJECT}/locations/global/builds/${id}`);
      assert.ok(queued.logUrl?.endsWith(`/builds/${id}`));

      await emu.setStatus(id, 'WORKING');
      await emu.setStatus(id, 'SUCCESS');
      const [done] = await client.getBuild({projectId: PROJECT, id});
      assert.equal(done.status, 'SUCCESS');
      assert.equal(done.results?.images?.[0]?.name, IMAGE);
      assert.match(done.results.images[0].digest!, /^sha256:[0-9a-f]{64}$/);
      assert.ok(done.startTime && done.finishTime);

      const [result] = await op.promise();
      assert.equal(result.id, id);
      assert.equal(result.results?.images?.[0]?.digest, done.results.images[0].digest);

      const mine = statuses.filter((s) => s.id === id);
      assert.deepEqual(
        mine.map((s) => s.status),
        ['QUEUED', 'WORKING', 'SUCCESS'],
      );
      const last = mine[2];
      assert.deepEqual(last.tags, ['dropdeploy', 'svc-hello']);
      assert.deepEqual(last.substitutions, {_SERVICE: 'hello', _RELEASE: '1'});
      assert.equal(last.timeout, '900s');
      assert.equal(last.projectId, PROJECT);
      assert.match(last.createTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.deepEqual((last.source as {storageSource?: unknown}).storageSource, {
        bucket: 'src',
        object: 'hello/v1.tar.gz',
        generation: '42',
      });
      assert.equal(parseJson<{status?: unknown}>(JSON.stringify(last)).status, 'SUCCESS');
    });

    it('records a failure with failureInfo and statusDetail', async () => {
      const [op] = await client.createBuild(buildRequest('svc-broken'));
      const id = operationBuildId(op);
      await emu.setStatus(id, 'FAILURE', {failureDetail: 'step 0 exited with 1'});
      const [build] = await client.getBuild({projectId: PROJECT, id});
      assert.equal(build.status, 'FAILURE');
      assert.equal(build.statusDetail, 'step 0 exited with 1');
      assert.deepEqual(build.failureInfo, {type: 'USER_BUILD_STEP', detail: 'step 0 exited with 1'});
      assert.equal(statuses.at(-1)!.status, 'FAILURE');
    });

    it('lists builds by tag and status, newest first', async () => {
      const [a] = await client.createBuild(buildRequest('svc-list'));
      const [b] = await client.createBuild(buildRequest('svc-list'));
      const idA = operationBuildId(a);
      const idB = operationBuildId(b);
      const [listed] = await client.listBuilds({projectId: PROJECT, filter: 'tags="svc-list"'});
      assert.deepEqual(
        listed.map((x) => x.id),
        [idB, idA],
      );
      await emu.setStatus(idA, 'SUCCESS');
      const [succeeded] = await client.listBuilds({projectId: PROJECT, filter: 'tags=svc-list AND status="SUCCESS"'});
      assert.deepEqual(
        succeeded.map((x) => x.id),
        [idA],
      );
    });

    it('cancels a running build and refuses to cancel a finished one', async () => {
      const [op] = await client.createBuild(buildRequest('svc-cancel'));
      const id = operationBuildId(op);
      const [cancelled] = await client.cancelBuild({projectId: PROJECT, id});
      assert.equal(cancelled.status, 'CANCELLED');
      assert.equal(emu.getBuild(id)!.status, 'CANCELLED');
      await rejectsWithCode(client.cancelBuild({projectId: PROJECT, id}), 9);
    });

    it('answers NOT_FOUND for an unknown build and INVALID_ARGUMENT for a build without steps', async () => {
      await rejectsWithCode(client.getBuild({projectId: PROJECT, id: 'nope'}), 5);
      await rejectsWithCode(client.createBuild({projectId: PROJECT, build: {images: [IMAGE]}}), 3);
      const noProject = client.createBuild({build: {steps: [{name: 'x'}]}});
      // Over REST no URL can name a build of no project: the client refuses before sending.
      if (mode === 'rest') await assert.rejects(noProject, /Cannot build HTTP request/);
      else await rejectsWithCode(noProject, 3);
    });

    it('fails one call with an injected UNAVAILABLE, without changing state, then serves again', async () => {
      const before = emu.builds().length;
      const creates = emu.callsTo('CreateBuild').length;
      emu.injectFault({method: 'CreateBuild', code: 14});
      await rejectsWithCode(client.createBuild(buildRequest('svc-fault'), {retry: null}), 14);
      assert.equal(emu.builds().length, before);
      assert.equal(emu.callsTo('CreateBuild').length, creates + 1);
      const [op] = await client.createBuild(buildRequest('svc-fault'));
      assert.ok(operationBuildId(op));

      emu.injectFault({method: 'GetBuild', code: 14});
      await rejectsWithCode(client.getBuild({projectId: PROJECT, id: 'x'}, {retry: null}), 14);
      emu.injectFault({code: 4, times: 1});
      await rejectsWithCode(client.listBuilds({projectId: PROJECT}, {retry: null}), 4);
      const [all] = await client.listBuilds({projectId: PROJECT}, {retry: null});
      assert.equal(all.length, emu.builds().length);
    });

    it('applies a fault only with its probability', async () => {
      emu.injectFault({method: 'ListBuilds', code: 14, probability: 0});
      await client.listBuilds({projectId: PROJECT}, {retry: null});
      emu.clearFaults();
      emu.injectFault({method: 'ListBuilds', code: 14, probability: 1, times: 2});
      await rejectsWithCode(client.listBuilds({projectId: PROJECT}, {retry: null}), 14);
      await rejectsWithCode(client.listBuilds({projectId: PROJECT}, {retry: null}), 14);
      await client.listBuilds({projectId: PROJECT}, {retry: null});
    });

    it('lets gax retry an idempotent call past a single UNAVAILABLE (over gRPC)', async () => {
      const id = emu.builds()[0].id;
      const calls = emu.callsTo('GetBuild').length;
      emu.injectFault({method: 'GetBuild', code: 14});
      if (mode === 'rest') {
        // google-gax 5's REST mode sees the HTTP status (503) as the code, which matches no
        // retry code (gax-nodejs#1803): the one UNAVAILABLE reaches the caller. Over gRPC it is retried.
        await rejectsWithCode(client.getBuild({projectId: PROJECT, id}), 14);
        assert.equal(emu.callsTo('GetBuild').length, calls + 1);
        return;
      }
      const [build] = await client.getBuild({projectId: PROJECT, id});
      assert.equal(build.id, id);
      assert.equal(emu.callsTo('GetBuild').length, calls + 2);
    });
  });
}

describe('CloudBuildEmulator with autoComplete', () => {
  it('drives builds to the terminal status by itself', async () => {
    const seen: string[] = [];
    const emu = new CloudBuildEmulator({
      projectId: PROJECT,
      autoComplete: {status: 'SUCCESS', afterMs: 10},
      onStatus: (b) => void seen.push(b.status),
    });
    const client = new CloudBuildClient(clientOptions(await emu.start()));
    try {
      const [op] = await client.createBuild(buildRequest('svc-auto'));
      const [build] = await op.promise();
      assert.equal(build.status, 3); // op.promise() gives protobufjs messages: enums as numbers
      await emu.flushNotifications();
      assert.deepEqual(seen, ['QUEUED', 'WORKING', 'SUCCESS']);
      await rejectsWithCode(client.createBuild({...buildRequest('x'), projectId: 'other'}), 7);
    } finally {
      await client.close();
      await emu.stop();
    }
  });
});
