/**
 * deployTargets' rollback step (onTargetFailure rollback) over fake ports: one target's transient
 * failure must not end the step while another target's UpdateService is still in flight (the
 * deploy lock would be let go under it); the states are saved, then the error goes back.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {newCtx} from '../../src/controller/deps';
import {deployTargets} from '../../src/controller/targets';
import {RetryableError} from '../../src/errors';
import type {DeployOutcome, ReleaseStore, Services} from '../../src/ports';
import {newRelease} from '../../src/releases/release';
import {DEFAULT_POLICY} from '../../src/releases/rollout-policy';
import type {RunService} from '../../src/releases/service-spec';
import type {DeployTarget, TargetRecord} from '../../src/releases/targets';
import {fakeDeps, only} from './fakes';

describe('deployTargets: the rollback step', () => {
  it('waits for every target, saves their states, then rethrows the first transient error', async () => {
    const f = fakeDeps();
    const events: string[] = [];
    let saved: TargetRecord[] | undefined;
    f.deps.store = () =>
      Promise.resolve(
        only<ReleaseStore>('store', {
          putTargets: (_s: string, _n: number, targets: TargetRecord[]) => {
            saved = targets;
            events.push(`saved ${targets.map((t) => `${t.region}:${t.state}`).join(',')}`);
            return Promise.resolve(true);
          },
        }),
      );
    const live = (region: string): RunService => ({
      name: `projects/p/locations/${region}/services/web`,
      etag: 'e1',
      traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: `web-new-${region}`, percent: 100}],
      trafficStatuses: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: `web-new-${region}`, percent: 100}],
    });
    const services = (t: DeployTarget | undefined): Services =>
      only<Services>('services', {
        get: () => Promise.resolve(live(t!.region)),
        update: async (): Promise<DeployOutcome> => {
          if (t!.region === 'europe-west1') {
            events.push('europe-west1 update refused (UNAVAILABLE)');
            throw new RetryableError('europe-west1 is busy');
          }
          // us-east1 answers later than europe-west1's refusal.
          await new Promise((r) => setTimeout(r, 50));
          events.push('us-east1 update done');
          return {ok: true, revision: 'web-old-us-east1'};
        },
      });
    f.deps.services = (t?: DeployTarget) => Promise.resolve(services(t));
    const base = newRelease({service: 'web', release: 3, trigger: 'upload', actor: 'test'}, f.clock.now());
    const targets: TargetRecord[] = [
      {region: 'europe-west1', project: 'fake-project', state: 'deployed', revision: 'web-new', previousRevision: 'web-old-eu'},
      {region: 'us-east1', project: 'fake-project', state: 'deployed', revision: 'web-new', previousRevision: 'web-old-us'},
      {region: 'asia-east1', project: 'fake-project', state: 'failed', error: {code: 'FAILED_PRECONDITION', message: 'quota'}},
    ];
    const r = {...base, state: 'deploying' as const, targets};
    const policy = {...DEFAULT_POLICY, onTargetFailure: 'rollback' as const};
    await assert.rejects(
      deployTargets(newCtx(f.deps, f.log), r, targets, policy, 'holder-1', () => Promise.reject(new Error('no deploy expected'))),
      (err: unknown) => {
        events.push('deployTargets rejected');
        return err instanceof RetryableError && /europe-west1 is busy/.test(err.message);
      },
    );
    assert.deepEqual(events, [
      'europe-west1 update refused (UNAVAILABLE)',
      'us-east1 update done',
      'saved europe-west1:deployed,us-east1:rolled_back,asia-east1:failed',
      'deployTargets rejected',
    ]);
    assert.equal(saved?.[1].state, 'rolled_back', 'the redelivery does not roll us-east1 back again');
  });
});
