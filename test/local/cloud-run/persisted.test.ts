/**
 * The Cloud Run emulator's services survive a restart through a state file: the next emulator
 * has the same services (template, traffic, generation, etag, policy) and runs their serving
 * revisions again, at the URL it is given.
 */
import assert from 'node:assert/strict';
import {after, describe, it} from 'node:test';
import {ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator, type RevisionToStart} from '../../../local/cloud-run/emulator';
import type {Revision, StoredService} from '../../../local/cloud-run/messages';
import {revisionsToRestart, SERVICES_FORMAT, withUri, type SavedService} from '../../../local/cloud-run/persisted';
import {clientOptions} from '../../../local/grpc/client-options';
import {decodeState, encodeState, StateFileError} from '../../../local/state/state-file';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PARENT = 'projects/p/locations/us-central1';
const NAME = `${PARENT}/services/hello`;
const rev = (n: number, state: string): Revision => ({
  name: `${NAME}/revisions/hello-0000${n}-abc`,
  containers: [{image: `img${n}`}],
  conditions: [{type: 'Ready', state}],
});
const service = (over: Partial<StoredService>): StoredService => ({
  name: NAME,
  uri: 'http://127.0.0.1:4000',
  template: {containers: [{image: 'img2'}]},
  traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}],
  ...over,
});
const OK = 'CONDITION_SUCCEEDED';

describe('saved Cloud Run services', () => {
  const table: Array<{name: string; saved: SavedService; want: string[]}> = [
    {
      name: 'the latest ready revision serves',
      saved: {
        service: service({
          latestCreatedRevision: rev(2, OK).name,
          latestReadyRevision: rev(2, OK).name,
          trafficStatuses: [{percent: 100, revision: 'hello-00002-abc'}],
        }),
        revisions: [rev(1, OK), rev(2, OK)],
      },
      want: ['hello-00002-abc'],
    },
    {
      name: 'a split and a tagged preview',
      saved: {
        service: service({
          latestCreatedRevision: rev(3, OK).name,
          trafficStatuses: [
            {percent: 90, revision: 'hello-00001-abc'},
            {percent: 10, revision: 'hello-00002-abc'},
            {percent: 0, revision: 'hello-00003-abc', tag: 'preview'},
          ],
        }),
        revisions: [rev(1, OK), rev(2, OK), rev(3, OK)],
      },
      want: ['hello-00001-abc', 'hello-00002-abc', 'hello-00003-abc'],
    },
    {
      name: 'the latest failed: the older one that still serves',
      saved: {
        service: service({
          latestCreatedRevision: rev(2, 'CONDITION_FAILED').name,
          trafficStatuses: [{percent: 100, revision: 'hello-00001-abc'}],
        }),
        revisions: [rev(1, OK), rev(2, 'CONDITION_FAILED')],
      },
      want: ['hello-00001-abc'],
    },
    {
      name: 'the latest was still starting: it starts again beside the one serving',
      saved: {
        service: service({
          latestCreatedRevision: rev(2, 'CONDITION_RECONCILING').name,
          trafficStatuses: [{percent: 100, revision: 'hello-00001-abc'}],
        }),
        revisions: [rev(1, OK), rev(2, 'CONDITION_RECONCILING')],
      },
      want: ['hello-00001-abc', 'hello-00002-abc'],
    },
    {
      name: 'the first revision never got ready: nothing to run',
      saved: {
        service: service({latestCreatedRevision: rev(1, 'CONDITION_FAILED').name, trafficStatuses: [{percent: 100}]}),
        revisions: [rev(1, 'CONDITION_FAILED')],
      },
      want: [],
    },
  ];
  for (const c of table) {
    it(`revisions to run again: ${c.name}`, () => assert.deepEqual(revisionsToRestart(c.saved), c.want));
  }

  it('a service moved to another URL has its tag URLs moved too', () => {
    const moved = withUri(
      service({urls: ['http://127.0.0.1:4000'], trafficStatuses: [{tag: 'p', uri: 'http://127.0.0.1:4000/p'}, {percent: 100}]}),
      'http://127.0.0.1:5000',
    );
    assert.equal(moved.uri, 'http://127.0.0.1:5000');
    assert.deepEqual(moved.urls, ['http://127.0.0.1:5000']);
    assert.deepEqual(moved.trafficStatuses, [{tag: 'p', uri: 'http://127.0.0.1:5000/p'}, {percent: 100}]);
  });

  const damaged: Array<{name: string; services: unknown; want: RegExp}> = [
    {
      name: 'no image',
      services: [{service: service({template: {containers: [{}]}} as never), revisions: []}],
      want: /template.containers\[0\].image/,
    },
    {
      name: 'a revision of another service',
      services: [{service: service({}), revisions: [{...rev(1, OK), name: 'projects/p/locations/us-central1/services/other/revisions/x'}]}],
      want: /is not one of its revisions/,
    },
    {
      name: 'a service twice',
      services: [
        {service: service({}), revisions: []},
        {service: service({}), revisions: []},
      ],
      want: /listed twice/,
    },
    {
      name: 'a policy etag that is not bytes',
      services: [{service: service({}), revisions: [], policy: {version: 1, etag: 'x'}}],
      want: /policy.etag is not bytes/,
    },
  ];
  for (const c of damaged) {
    it(`a damaged services file is refused: ${c.name}`, () => {
      const text = JSON.stringify({version: 1, services: c.services});
      assert.throws(
        () => decodeState('cloud-run.json', text, SERVICES_FORMAT),
        (err: unknown) => err instanceof StateFileError && c.want.test(err.message),
      );
    });
  }

  const emulators: CloudRunEmulator[] = [];
  const clients: ServicesClient[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    for (const e of emulators) await e.stop();
  });

  it('a new emulator has the same services and runs their serving revisions again', async () => {
    let uris = 0;
    const first = new CloudRunEmulator({serviceUri: () => `http://127.0.0.1:${4000 + uris++}`});
    emulators.push(first);
    const c1 = new ServicesClient(clientOptions(await first.start()));
    clients.push(c1);
    for (const image of ['img1', 'img2']) {
      const [op] = await c1.updateService({service: {name: NAME, template: {containers: [{image}]}}, allowMissing: true});
      await op.promise();
    }
    await c1.setIamPolicy({resource: NAME, policy: {bindings: [{role: 'roles/run.invoker', members: ['allUsers']}]}});
    const [before] = await c1.getService({name: NAME});
    const [policyBefore] = await c1.getIamPolicy({resource: NAME});
    const text = encodeState(SERVICES_FORMAT.version, {services: first.snapshot()});
    await first.stop();

    const started: RevisionToStart[] = [];
    const second = new CloudRunEmulator({
      runner: {start: (r) => (started.push(r), Promise.resolve({ready: true, url: `http://127.0.0.1:9/${r.name}`}))},
      serviceUri: () => 'http://127.0.0.1:4999',
    });
    emulators.push(second);
    const c2 = new ServicesClient(clientOptions(await second.start()));
    clients.push(c2);
    const report = await second.restore(decodeState('f', text, SERVICES_FORMAT).services, (_s, savedUri) => Promise.resolve(savedUri));
    assert.deepEqual(report.moved, []);
    const serving = before.latestReadyRevision!.split('/').pop()!;
    assert.deepEqual(
      started.map((r) => [r.name, r.image]),
      [[serving, 'img2']],
    );
    assert.deepEqual(report.revisions, [{service: 'hello', revision: serving, ready: true, url: `http://127.0.0.1:9/${serving}`}]);
    assert.equal(second.revisionUrl(serving), `http://127.0.0.1:9/${serving}`, 'the router finds where it runs');
    const [after] = await c2.getService({name: NAME});
    for (const k of ['uri', 'generation', 'etag', 'latestReadyRevision', 'latestCreatedRevision', 'uid', 'createTime'] as const) {
      assert.deepEqual(after[k], before[k], k);
    }
    assert.deepEqual(after.template, before.template);
    assert.deepEqual(after.traffic, before.traffic);
    assert.deepEqual(after.trafficStatuses, before.trafficStatuses);
    assert.deepEqual((await c2.getIamPolicy({resource: NAME}))[0], policyBefore, 'the policy and its etag');
    assert.equal(second.revisions('hello').length, 2);

    const [op] = await c2.updateService({service: {name: NAME, etag: before.etag, template: {containers: [{image: 'img3'}]}}});
    const [next] = await op.promise();
    assert.equal(String(next.generation), '3', 'the generations go on');
    assert.match(next.latestReadyRevision!, /hello-00003-/);
  });

  it('a service whose saved port is taken comes back at the URL it is given, and says so', async () => {
    const first = new CloudRunEmulator({serviceUri: () => 'http://127.0.0.1:4100'});
    emulators.push(first);
    const c1 = new ServicesClient(clientOptions(await first.start()));
    clients.push(c1);
    const [op] = await c1.createService({parent: PARENT, serviceId: 'hello', service: {template: {containers: [{image: 'img'}]}}});
    await op.promise();
    const saved = first.snapshot();
    await first.stop();
    const second = new CloudRunEmulator();
    emulators.push(second);
    await second.start();
    const report = await second.restore(saved, () => Promise.resolve('http://127.0.0.1:4101'));
    assert.deepEqual(report.moved, [{service: 'hello', from: 'http://127.0.0.1:4100', to: 'http://127.0.0.1:4101'}]);
    assert.equal(second.getService('hello')?.uri, 'http://127.0.0.1:4101');
  });
});
