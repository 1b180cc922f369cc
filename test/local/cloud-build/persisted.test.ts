/**
 * The Cloud Build emulator's builds survive a restart through a state file: the next emulator
 * answers GetBuild and ListBuilds for them, and a build that was running ends INTERNAL_ERROR
 * with a clear detail, published when asked.
 */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {CloudBuildEmulator, type BuildJson, type StoredBuild} from '../../../local/cloud-build/emulator';
import {BUILDS_FORMAT, INTERRUPTED_DETAIL, restoredBuild} from '../../../local/cloud-build/persisted';
import {clientOptions} from '../../../local/grpc/client-options';
import {decodeState, encodeState, StateFileError} from '../../../local/state/state-file';
import {operationBuildId} from './cloud-build-client';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'demo-project';
const request = (tag: string) => ({
  projectId: PROJECT,
  build: {steps: [{name: 'gcr.io/k8s-skaffold/pack', args: ['build']}], images: ['img'], tags: ['dropdeploy', tag]},
});
const NOW = {seconds: '1800000000', nanos: 0};
const build = (status: string): StoredBuild => ({
  name: `projects/p/locations/global/builds/b-${status}`,
  id: `b-${status}`,
  projectId: 'p',
  status,
  createTime: {seconds: '1', nanos: 0},
  logUrl: 'http://127.0.0.1:1/builds/b',
});

describe('saved Cloud Build builds', () => {
  const table: Array<{status: string; interrupted: boolean}> = [
    {status: 'QUEUED', interrupted: true},
    {status: 'PENDING', interrupted: true},
    {status: 'WORKING', interrupted: true},
    {status: 'SUCCESS', interrupted: false},
    {status: 'FAILURE', interrupted: false},
    {status: 'CANCELLED', interrupted: false},
    {status: 'INTERNAL_ERROR', interrupted: false},
  ];
  for (const c of table) {
    it(`a ${c.status} build comes back ${c.interrupted ? 'INTERNAL_ERROR, interrupted' : 'as it was'}`, () => {
      const got = restoredBuild(build(c.status), NOW);
      assert.equal(got.interrupted, c.interrupted);
      if (c.interrupted)
        assert.deepEqual(got.build, {...build(c.status), status: 'INTERNAL_ERROR', statusDetail: INTERRUPTED_DETAIL, finishTime: NOW});
      else assert.deepEqual(got.build, build(c.status));
    });
  }

  const damaged: Array<{name: string; body: unknown; want: RegExp}> = [
    {name: 'builds missing', body: {}, want: /builds is not a list/},
    {name: 'a build without status', body: {builds: [{...build('SUCCESS'), status: undefined}]}, want: /builds\[0\]\.status/},
    {name: 'a build twice', body: {builds: [build('SUCCESS'), build('SUCCESS')]}, want: /build b-SUCCESS is listed twice/},
  ];
  for (const c of damaged) {
    it(`a damaged builds file is refused: ${c.name}`, () => {
      const text = JSON.stringify({version: 1, ...(c.body as object)});
      assert.throws(
        () => decodeState('cloud-build.json', text, BUILDS_FORMAT),
        (err: unknown) => err instanceof StateFileError && c.want.test(err.message),
      );
    });
  }

  const emulators: CloudBuildEmulator[] = [];
  const clients: CloudBuildClient[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    for (const e of emulators) await e.stop();
  });

  it('a new emulator answers for the saved builds; the one that was running ends INTERNAL_ERROR and is announced', async () => {
    let changes = 0;
    const first = new CloudBuildEmulator({onChange: () => changes++});
    emulators.push(first);
    const c1 = new CloudBuildClient(clientOptions(await first.start()));
    clients.push(c1);
    const [opDone] = await c1.createBuild(request('done'));
    const [opRunning] = await c1.createBuild(request('running'));
    const done = operationBuildId(opDone);
    const running = operationBuildId(opRunning);
    await first.setStatus(done, 'WORKING');
    await first.setStatus(done, 'SUCCESS', {digest: 'sha256:' + 'a'.repeat(64)});
    await first.setStatus(running, 'WORKING');
    assert.equal(changes, 5, 'every change is told: two creates, three statuses');
    const text = encodeState(BUILDS_FORMAT.version, {builds: first.snapshot()});
    await first.stop();

    const announced: BuildJson[] = [];
    const second = new CloudBuildEmulator({onStatus: (b) => void announced.push(b)});
    emulators.push(second);
    const interrupted = second.restore(decodeState('f', text, BUILDS_FORMAT).builds);
    assert.deepEqual(interrupted, [running]);
    const c2 = new CloudBuildClient(clientOptions(await second.start()));
    clients.push(c2);
    const [old] = await c2.getBuild({projectId: PROJECT, id: done});
    assert.equal(old.status, 'SUCCESS');
    assert.equal(old.results?.images?.[0]?.digest, 'sha256:' + 'a'.repeat(64));
    const [cut] = await c2.getBuild({projectId: PROJECT, id: running});
    assert.equal(cut.status, 'INTERNAL_ERROR');
    assert.equal(cut.statusDetail, INTERRUPTED_DETAIL);
    const [listed] = await c2.listBuilds({projectId: PROJECT, filter: 'tags="running"'});
    assert.deepEqual(
      listed.map((b) => b.id),
      [running],
    );
    const progress = await c2.checkCreateBuildProgress(opRunning.name!);
    assert.equal(progress.done, true, "the restored build's operation is done");
    assert.equal(announced.length, 0, 'nothing is published before it is asked for');
    await second.announce(running);
    assert.deepEqual(
      announced.map((b) => [b.id, b.status, b.statusDetail]),
      [[running, 'INTERNAL_ERROR', INTERRUPTED_DETAIL]],
    );
  });
});
