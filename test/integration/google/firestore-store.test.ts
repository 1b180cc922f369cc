/**
 * The build lease's fencing on the Firestore store, against the Firestore emulator: a holder
 * records its build without a read only while nobody took its lease over.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import {GrpcFaultProxy} from '../../../local/grpc/fault-proxy';
import {FirestoreReleaseStore} from '../../../src/google/firestore-store';
import {sourceKey} from '../../../src/releases/naming';
import {markBuildFailed, markBuilding, type Release} from '../../../src/releases/release';
import type {TargetRecord} from '../../../src/releases/targets';
import {emulatorStore} from './store-fixture';
import {withEnv} from '../stack';

const MINUTE = 60_000;

describe('Firestore store: claims and build lease fencing', () => {
  const fx = emulatorStore();

  /** A new upload release of `service` whose build lease `holder` took `ago` ms ago for `leaseMs`. */
  async function claimed(service: string, holder: string, ago: number, leaseMs: number): Promise<Release> {
    const source = {bucket: 'b', object: `${service}/v1.zip`, generation: '1'};
    const {release, created} = await fx.store.claimSource(service, source, {trigger: 'upload', actor: 'test'}, new Date(Date.now() - ago), {
      holder,
      leaseMs,
    });
    assert.ok(created);
    return release;
  }

  it('a claimed generation is one release: the duplicate gets it back, not a new number', async () => {
    const source = {bucket: 'b', object: 'dup/v1.zip', generation: '7'};
    const lease = {holder: 'a', leaseMs: MINUTE};
    const first = await fx.store.claimSource('dup', source, {trigger: 'upload', actor: 'test'}, new Date(), lease);
    const again = await fx.store.claimSource('dup', source, {trigger: 'upload', actor: 'test'}, new Date(), {...lease, holder: 'b'});
    assert.deepEqual([first.created, again.created], [true, false]);
    assert.deepEqual(again.release, first.release);
    assert.equal((await fx.store.getService('dup'))?.lastRelease, 1);
  });

  for (const [name, claim] of [
    ['without a number', {}],
    ['whose release is missing', {release: 5}],
  ] as const) {
    it(`a claim ${name} (left by an older store) is numbered anew`, async () => {
      const service = `old-${Object.keys(claim).length}`;
      const source = {bucket: 'b', object: `${service}/v1.zip`, generation: '3'};
      await fx.db
        .collection(`${fx.root}_sources`)
        .doc(sourceKey('b', source.object, '3'))
        .set({...source, service, claimTime: new Date().toISOString(), ...claim});
      const {release, created} = await fx.store.claimSource(service, source, {trigger: 'upload', actor: 'test'}, new Date(), {
        holder: 'a',
        leaseMs: MINUTE,
      });
      assert.equal(created, true);
      assert.equal(release.release, 1);
      assert.equal(
        (await fx.store.claimSource(service, source, {trigger: 'upload', actor: 'test'}, new Date(), {holder: 'b', leaseMs: MINUTE}))
          .created,
        false,
      );
    });
  }

  it('a claim whose commit landed but whose answer was lost is retried and found as this claim', async () => {
    const proxy = new GrpcFaultProxy(process.env.FIRESTORE_EMULATOR_HOST!);
    const via = await withEnv({FIRESTORE_EMULATOR_HOST: await proxy.start()}, () => new Firestore({projectId: 'dd-store-test'}));
    try {
      proxy.injectFault({method: 'Commit', code: 4, afterForwarding: true, times: 1});
      const lossy = new FirestoreReleaseStore(via, fx.root);
      const source = {bucket: 'b', object: 'lost/v1.zip', generation: '1'};
      const {release, created} = await lossy.claimSource('lost', source, {trigger: 'upload', actor: 'test'}, new Date(), {
        holder: 'a',
        leaseMs: MINUTE,
      });
      assert.equal(
        proxy.calls.filter((c) => c.method === 'Commit' && c.faulted).length,
        1,
        'the first commit landed and its answer was lost',
      );
      assert.deepEqual([release.release, created], [1, true], 'its creator goes on as the creator');
      assert.equal(
        await fx.store.putHeld(markBuilding(release, {buildId: 'b1'}, new Date()).release, 'a'),
        true,
        'and still holds the lease',
      );
      assert.equal((await fx.store.getService('lost'))?.lastRelease, 1);
    } finally {
      await via.terminate();
      await proxy.stop();
    }
  });

  it('the holder writes its build without a read', async () => {
    const r = await claimed('held', 'a', 0, MINUTE);
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'b1'}, new Date()).release, 'a'), true);
    assert.equal((await fx.store.get('held', 1))?.buildId, 'b1');
    // The token went with the write: a second write by the same holder is refused.
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'b2'}, new Date()).release, 'a'), false);
    assert.equal((await fx.store.get('held', 1))?.buildId, 'b1');
  });

  it('a holder whose lease ended but was not taken over still writes', async () => {
    const r = await claimed('late', 'a', 2 * MINUTE, MINUTE);
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'b1'}, new Date()).release, 'a'), true);
    assert.equal((await fx.store.get('late', 1))?.state, 'building');
  });

  it('after a takeover by the build status (adoptBuild), the old holder cannot move the release back', async () => {
    const r = await claimed('adopted', 'slow', 2 * MINUTE, MINUTE);
    assert.equal((await fx.store.adoptBuild('adopted', 1, {buildId: 'b1'}, new Date())).kind, 'go');
    await fx.store.update('adopted', 1, (cur) => markBuildFailed(cur, {code: 'BUILD_FAILURE', message: 'failed'}, new Date()).release);
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'b1'}, new Date()).release, 'slow'), false);
    assert.equal((await fx.store.get('adopted', 1))?.state, 'build_failed');
  });

  it('after a takeover by another delivery (leaseBuild), only the new holder writes', async () => {
    const r = await claimed('retaken', 'slow', 2 * MINUTE, MINUTE);
    assert.equal((await fx.store.leaseBuild('retaken', 1, 'next', new Date(), MINUTE)).kind, 'go');
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'old'}, new Date()).release, 'slow'), false);
    assert.equal(await fx.store.putHeld(markBuilding(r, {buildId: 'new'}, new Date()).release, 'next'), true);
    assert.equal((await fx.store.get('retaken', 1))?.buildId, 'new');
  });

  it('a live lease holds off adoption; a released one does not', async () => {
    await claimed('live', 'a', 0, MINUTE);
    assert.equal((await fx.store.adoptBuild('live', 1, {buildId: 'b1'}, new Date())).kind, 'busy');
    await fx.store.releaseLease('live', 1, 'a');
    assert.equal((await fx.store.adoptBuild('live', 1, {buildId: 'b1'}, new Date())).kind, 'go');
    assert.equal((await fx.store.adoptBuild('live', 1, {buildId: 'b1'}, new Date())).kind, 'done');
  });

  it("unfinished releases: only this installation's, oldest first, continued after a cursor; the root is not in the record", async () => {
    const other = new FirestoreReleaseStore(fx.db, `${fx.root}x`);
    const at = (s: number) => new Date(Date.now() - 3_600_000 + s * 1000);
    for (const [i, s] of [
      ['s1', 1],
      ['s2', 2],
      ['s3', 3],
    ] as const) {
      await fx.store.claimSource(
        `stale-${i}`,
        {bucket: 'b', object: `stale-${i}/v1.zip`, generation: '1'},
        {trigger: 'upload', actor: 'test'},
        at(s),
        {holder: 'h', leaseMs: 1},
      );
    }
    await other.claimSource(
      'stale-s0',
      {bucket: 'b', object: 'stale-s0/v1.zip', generation: '1'},
      {trigger: 'upload', actor: 'test'},
      at(0),
      {holder: 'h', leaseMs: 1},
    );
    const before = new Date(Date.now() - 60_000);
    const all = (await fx.store.listStale(before, 10)).filter((r) => r.service.startsWith('stale-'));
    assert.deepEqual(
      all.map((r) => r.service),
      ['stale-s1', 'stale-s2', 'stale-s3'],
      "the other installation's older release is not listed",
    );
    assert.equal((all[0] as unknown as Record<string, unknown>).root, undefined);
    const page = await fx.store.listStale(before, 10, all[0].updateTime);
    assert.deepEqual(
      page.filter((r) => r.service.startsWith('stale-')).map((r) => r.service),
      ['stale-s2', 'stale-s3'],
    );
  });
});

describe('Firestore store: a multi-target deploy’s progress (putTargets)', () => {
  const fx = emulatorStore();

  const targets = (eu: 'deploying' | 'deployed'): TargetRecord[] => [
    {region: 'us-central1', project: 'p', state: 'deployed', revision: 'web-00002-a', url: 'https://us', previousRevision: 'web-00001-a'},
    {region: 'europe-west1', project: 'p', state: eu},
  ];

  /** Release 1 of `service`, built, with its deploy lock taken by `holder`. */
  async function deploying(service: string, holder: string): Promise<Release> {
    const now = new Date();
    const {release} = await fx.store.claimSource(
      service,
      {bucket: 'b', object: `${service}/v1.zip`, generation: '1'},
      {trigger: 'upload', actor: 'test'},
      now,
      {
        holder: 'builder',
        leaseMs: MINUTE,
      },
    );
    assert.ok(await fx.store.putHeld(markBuilding(release, {buildId: 'b1'}, now).release, 'builder'));
    const lease = await fx.store.leaseDeploy(service, 1, 'repo/web@sha256:1', holder, now, MINUTE);
    assert.equal(lease.kind, 'go');
    return lease.release;
  }

  it('the lock holder writes the targets, and only them: the outbox’s marks stay', async () => {
    await deploying('multi', 'h1');
    await fx.store.markPublished('multi', 1, ['deploying']);
    assert.equal(await fx.store.putTargets('multi', 1, targets('deploying'), 'h1', new Date()), true);
    const stored = (await fx.store.get('multi', 1))!;
    assert.deepEqual(stored.targets, targets('deploying'));
    assert.deepEqual([stored.state, stored.published.includes('deploying')], ['deploying', true]);
    assert.equal(stored.deployedEnv, undefined);
  });

  it("with the primary's env record: written on the release (a redelivery rebuilds the outcome from it)", async () => {
    const env = [{name: 'NAME', value: 'a'}];
    assert.equal(await fx.store.putTargets('multi', 1, targets('deploying'), 'h1', new Date(), env), true);
    assert.deepEqual((await fx.store.get('multi', 1))!.deployedEnv, env);
  });

  it('a redelivery that takes the lock over reads them back, and the old holder can no longer write', async () => {
    const later = new Date(Date.now() + 2 * MINUTE);
    const lease = await fx.store.leaseDeploy('multi', 1, 'repo/web@sha256:1', 'h2', later, MINUTE);
    assert.equal(lease.kind, 'go');
    assert.deepEqual(lease.release.targets, targets('deploying'), 'the taker resumes from the record');
    assert.equal(await fx.store.putTargets('multi', 1, targets('deployed'), 'h1', later), false);
    assert.deepEqual((await fx.store.get('multi', 1))!.targets, targets('deploying'));
  });

  it('the deploy’s outcome records the ended targets with it', async () => {
    const done = await fx.store.finishDeploy(
      'multi',
      1,
      {revision: 'web-00002-a', url: 'https://us', targets: targets('deployed')},
      'h2',
      new Date(),
    );
    assert.equal(done.state, 'deployed');
    assert.deepEqual((await fx.store.get('multi', 1))!.targets, targets('deployed'));
    assert.equal(await fx.store.putTargets('multi', 1, targets('deploying'), 'h2', new Date()), false, 'no lock after the deploy');
  });
});
