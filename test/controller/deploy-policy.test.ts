/**
 * deployRelease reads the service's rollout policy beside the deploy lock's transaction; a
 * deploy that had to wait for another's lock must use the policy as it is after the wait, not
 * the one read before it (a PATCH may have landed meanwhile). Over fake ports.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {newCtx} from '../../src/controller/deps';
import {deployRelease} from '../../src/controller/deploy';
import type {DeployOutcome, LeaseOutcome, ReleaseStore, Services, StoredPolicy} from '../../src/ports';
import type {DeployResult} from '../../src/releases/decisions';
import {newRelease, type Release} from '../../src/releases/release';
import {
  INSTALLATION_LABEL,
  installationId,
  MANAGED_LABEL,
  MANAGED_VALUE,
  RELEASE_LABEL,
  type RunService,
} from '../../src/releases/service-spec';
import {DEFAULT_POLICY} from '../../src/releases/rollout-policy';
import {fakeDeps} from './fakes';

const IMAGE = 'europe-west1-docker.pkg.dev/fake-project/dropdeploy/web@sha256:' + 'a'.repeat(64);

describe('deployRelease: the rollout policy', () => {
  const cases = [
    {name: 'the lock was free: the policy read beside its transaction applies', busyFirst: false, progressive: false},
    {name: 'it waited for another deploy: the policy as changed meanwhile applies', busyFirst: true, progressive: true},
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const f = fakeDeps();
      const base = newRelease({service: 'web', release: 2, trigger: 'upload', actor: 'test'}, f.clock.now());
      const r: Release = {...base, state: 'deploying'};
      let leases = 0;
      let policyReads = 0;
      let finished: DeployResult | undefined;
      f.deps.store = () =>
        Promise.resolve({
          leaseDeploy: (): Promise<LeaseOutcome<{image: string}>> =>
            Promise.resolve(
              c.busyFirst && leases++ === 0 ? {kind: 'busy', release: r, holder: 3} : {kind: 'go', release: r, value: {image: IMAGE}},
            ),
          // Immediate (the default) until the first read; `verified` from then on, as if changed
          // right after it: only a deploy that reads again after its wait sees the change.
          getPolicy: (): Promise<StoredPolicy | undefined> =>
            Promise.resolve(
              policyReads++ === 0
                ? undefined
                : {policy: {...DEFAULT_POLICY, strategy: 'verified'}, updateTime: '2026-12-01T12:00:00Z', updatedBy: 'ops'},
            ),
          getService: () => Promise.resolve({service: 'web', deployed: {release: 1, revision: 'web-00001-abc'}}),
          get: () => Promise.resolve(undefined),
          markPublished: () => Promise.resolve(),
          renewDeployLock: () => Promise.resolve(true),
          releaseLease: () => Promise.resolve(),
          finishDeploy: (_s: string, _n: number, result: DeployResult) => {
            finished = result;
            return Promise.resolve({...r, state: 'deployed' as const});
          },
        } as unknown as ReleaseStore);
      const live: RunService = {
        name: 'projects/fake-project/locations/europe-west1/services/web',
        etag: 'e1',
        labels: {[MANAGED_LABEL]: MANAGED_VALUE, [INSTALLATION_LABEL]: installationId(f.deps.config.firestore), [RELEASE_LABEL]: 'v1'},
        template: {containers: [{image: 'old'}]},
        traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}],
        trafficStatuses: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-abc', percent: 100}],
        latestReadyRevision: 'projects/fake-project/locations/europe-west1/services/web/revisions/web-00001-abc',
        latestCreatedRevision: 'projects/fake-project/locations/europe-west1/services/web/revisions/web-00001-abc',
      };
      let sent: RunService | undefined;
      f.deps.services = () =>
        Promise.resolve({
          get: () => Promise.resolve(live),
          update: (spec: RunService): Promise<DeployOutcome> => {
            sent = spec;
            return Promise.resolve({ok: true, revision: 'web-v2'});
          },
        } as unknown as Services);
      await deployRelease(newCtx(f.deps, f.log), r, IMAGE);
      assert.ok(sent, 'Cloud Run was called');
      // A verified rollout starts the new revision with no traffic, tagged; an immediate one sends it all.
      const tagged = (sent.traffic ?? []).some((t) => t.tag && t.percent === 0);
      assert.equal(tagged, c.progressive, `traffic sent: ${JSON.stringify(sent.traffic)}`);
      assert.ok(finished && !('error' in finished), JSON.stringify(finished));
    });
  }
});
