/**
 * A service's stored rollout policy on the Firestore store, against the Firestore emulator:
 * set before or after the first release, read back with who and when, and a policy stored
 * alone leaves the service unknown to everything that needs releases.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import {FirestoreReleaseStore} from '../../../src/google/firestore-store';
import {patchPolicy} from '../../../src/releases/policy-patch';
import {DEFAULT_POLICY, type RolloutPolicy} from '../../../src/releases/rollout-policy';
import {emulatorStore} from './store-fixture';

const T1 = new Date('2026-12-01T10:00:00Z');
const T2 = new Date('2026-12-01T11:00:00Z');
const CANARY: RolloutPolicy = {...DEFAULT_POLICY, strategy: 'canary', steps: [20, 100]};

describe('Firestore store: rollout policies', () => {
  const fx = emulatorStore();

  const upload = (service: string, generation = '1') =>
    fx.store.claimSource(service, {bucket: 'b', object: `${service}/v.zip`, generation}, {trigger: 'upload', actor: 'test'}, T1, {
      holder: 'h',
      leaseMs: 60_000,
    });

  it('nothing known of a service: no policy', async () => {
    assert.equal(await fx.store.getPolicy('never-seen'), undefined);
  });

  it('a change that changes nothing on an unknown service writes nothing', async () => {
    assert.deepEqual(await fx.store.setPolicy('nothing-here', () => undefined, 'x', T1), {changed: false});
    assert.equal(await fx.store.getPolicy('nothing-here'), undefined);
  });

  it('a service with releases but no policy: none stored', async () => {
    await upload('plain');
    assert.deepEqual(await fx.store.getPolicy('plain'), {});
  });

  it('a policy set before the first upload: stored with who and when; the service stays unknown', async () => {
    const set = await fx.store.setPolicy('early', () => CANARY, 'user:ops@example.com', T1);
    assert.deepEqual(set, {policy: CANARY, updateTime: T1.toISOString(), updatedBy: 'user:ops@example.com', changed: true});
    assert.deepEqual(await fx.store.getPolicy('early'), {policy: CANARY, updateTime: T1.toISOString(), updatedBy: 'user:ops@example.com'});
    assert.equal(await fx.store.getService('early'), undefined);
    assert.equal(
      (await fx.store.listServices()).some((s) => s.service === 'early'),
      false,
    );
    await assert.rejects(fx.store.createRelease('early', {trigger: 'redeploy', actor: 'x'}, T1), /manages no service "early"/);
  });

  it('the first upload after it is release 1, and the policy stays', async () => {
    const {release, created} = await upload('early');
    assert.deepEqual([release.release, created], [1, true]);
    assert.equal((await fx.store.getService('early'))?.lastRelease, 1);
    assert.ok((await fx.store.listServices()).some((s) => s.service === 'early'));
    assert.deepEqual((await fx.store.getPolicy('early'))?.policy, CANARY);
  });

  it('a change replaces the policy whole and records the new who and when', async () => {
    let seen: RolloutPolicy | undefined;
    const next: RolloutPolicy = {...CANARY, steps: [100], check: {...CANARY.check, path: '/healthz'}};
    const set = await fx.store.setPolicy(
      'early',
      (current) => {
        seen = current;
        return next;
      },
      'user:dev@example.com',
      T2,
    );
    assert.deepEqual(seen, CANARY);
    assert.deepEqual(set, {policy: next, updateTime: T2.toISOString(), updatedBy: 'user:dev@example.com', changed: true});
    assert.deepEqual(await fx.store.getPolicy('early'), {policy: next, updateTime: T2.toISOString(), updatedBy: 'user:dev@example.com'});
  });

  it('the same value again: nothing written, who and when unchanged', async () => {
    const before = await fx.store.getPolicy('early');
    const set = await fx.store.setPolicy(
      'early',
      (current) => {
        const p = patchPolicy(current!, {steps: [100]}, undefined, DEFAULT_POLICY);
        assert.ok(p.ok);
        return p.policy;
      },
      'user:other@example.com',
      new Date('2026-12-02T00:00:00Z'),
    );
    assert.equal(set.changed, false);
    assert.deepEqual({policy: set.policy, updateTime: set.updateTime, updatedBy: set.updatedBy}, before);
    assert.deepEqual(await fx.store.getPolicy('early'), before);
  });

  it('a policy on a deployed service leaves its releases and lock alone', async () => {
    await upload('busy');
    const svcBefore = (await fx.db.collection(`${fx.root}_services`).doc('busy').get()).data();
    await fx.store.setPolicy('busy', () => CANARY, 'x', T2);
    const svcAfter = (await fx.db.collection(`${fx.root}_services`).doc('busy').get()).data();
    assert.deepEqual(
      {...svcAfter, policy: undefined, policyUpdateTime: undefined, policyUpdatedBy: undefined},
      {
        ...svcBefore,
        policy: undefined,
        policyUpdateTime: undefined,
        policyUpdatedBy: undefined,
      },
    );
    assert.equal((await upload('busy', '2')).release.release, 2);
  });

  it('concurrent changes are serialised: each sees the one before', async () => {
    await fx.store.setPolicy('race', () => ({...DEFAULT_POLICY, thresholds: {...DEFAULT_POLICY.thresholds, minRequests: 0}}), 'x', T1);
    const otherDb = new Firestore({projectId: 'dd-store-test'});
    const other = new FirestoreReleaseStore(otherDb, fx.root);
    const bump = (s: FirestoreReleaseStore) =>
      s.setPolicy('race', (c) => ({...c!, thresholds: {...c!.thresholds, minRequests: c!.thresholds.minRequests + 1}}), 'x', T2);
    await Promise.all([bump(fx.store), bump(other), bump(fx.store), bump(other), bump(fx.store)]).finally(() => otherDb.terminate());
    assert.equal((await fx.store.getPolicy('race'))?.policy?.thresholds.minRequests, 5);
  });
});
