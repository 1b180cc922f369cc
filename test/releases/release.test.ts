import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  IllegalTransitionError,
  markBuildFailed,
  markBuilding,
  markDeployed,
  markDeployFailed,
  markDeploying,
  markRejected,
  markSuperseded,
  newRelease,
  transition,
  unpublished,
  type Release,
  type State,
} from '../../src/releases/release';

const T0 = new Date('2026-11-28T09:00:00Z');
const T1 = new Date('2026-11-28T09:01:00Z');

function at(state: State, extra: Partial<Release> = {}): Release {
  return {...newRelease({service: 'hello', release: 3, trigger: 'upload', actor: 'test'}, T0), state, ...extra};
}

describe('transitions', () => {
  const moves: Array<{
    name: string;
    from: State;
    apply: (r: Release) => ReturnType<typeof transition>;
    want: State | 'illegal';
    changed?: boolean;
  }> = [
    {name: 'accepted → building', from: 'accepted', apply: (r) => markBuilding(r, {buildId: 'b1'}, T1), want: 'building', changed: true},
    {
      name: 'accepted → deploying (rollback skips the build)',
      from: 'accepted',
      apply: (r) => markDeploying(r, 'img@sha256:1', T1),
      want: 'deploying',
      changed: true,
    },
    {
      name: 'accepted → rejected',
      from: 'accepted',
      apply: (r) => markRejected(r, {code: 'X', message: 'm'}, T1),
      want: 'rejected',
      changed: true,
    },
    {
      name: 'accepted → build_failed (CreateBuild refused)',
      from: 'accepted',
      apply: (r) => markBuildFailed(r, {code: 'X', message: 'm'}, T1),
      want: 'build_failed',
      changed: true,
    },
    {name: 'building → deploying', from: 'building', apply: (r) => markDeploying(r, 'img@sha256:1', T1), want: 'deploying', changed: true},
    {
      name: 'building → build_failed',
      from: 'building',
      apply: (r) => markBuildFailed(r, {code: 'BUILD_FAILURE', message: 'm'}, T1),
      want: 'build_failed',
      changed: true,
    },
    {name: 'building → superseded', from: 'building', apply: (r) => markSuperseded(r, 4, T1), want: 'superseded', changed: true},
    {
      name: 'deploying → deployed',
      from: 'deploying',
      apply: (r) => markDeployed(r, {revision: 'hello-00003-abc'}, T1),
      want: 'deployed',
      changed: true,
    },
    {
      name: 'deploying → deploy_failed',
      from: 'deploying',
      apply: (r) => markDeployFailed(r, {code: 'REVISION_FAILED', message: 'm'}, T1),
      want: 'deploy_failed',
      changed: true,
    },
    {name: 'deploying → superseded', from: 'deploying', apply: (r) => markSuperseded(r, 4, T1), want: 'superseded', changed: true},
    // Already done → no-op (redelivered or stale events).
    {name: 'building again: no-op', from: 'building', apply: (r) => markBuilding(r, {buildId: 'b1'}, T1), want: 'building', changed: false},
    {
      name: 'building after deploying: stale, no-op',
      from: 'deploying',
      apply: (r) => markBuilding(r, {buildId: 'b1'}, T1),
      want: 'deploying',
      changed: false,
    },
    {
      name: 'building after deployed: stale, no-op',
      from: 'deployed',
      apply: (r) => markBuilding(r, {buildId: 'b1'}, T1),
      want: 'deployed',
      changed: false,
    },
    {
      name: 'deploying after deployed: stale, no-op',
      from: 'deployed',
      apply: (r) => markDeploying(r, 'img', T1),
      want: 'deployed',
      changed: false,
    },
    {name: 'deployed again: no-op', from: 'deployed', apply: (r) => markDeployed(r, {revision: 'x'}, T1), want: 'deployed', changed: false},
    {
      name: 'build_failed again: no-op',
      from: 'build_failed',
      apply: (r) => markBuildFailed(r, {code: 'X', message: 'm'}, T1),
      want: 'build_failed',
      changed: false,
    },
    {name: 'superseded again: no-op', from: 'superseded', apply: (r) => markSuperseded(r, 5, T1), want: 'superseded', changed: false},
    // Illegal moves.
    {name: 'accepted → deployed', from: 'accepted', apply: (r) => markDeployed(r, {revision: 'x'}, T1), want: 'illegal'},
    {name: 'building → deployed', from: 'building', apply: (r) => markDeployed(r, {revision: 'x'}, T1), want: 'illegal'},
    {name: 'deployed → build_failed', from: 'deployed', apply: (r) => markBuildFailed(r, {code: 'X', message: 'm'}, T1), want: 'illegal'},
    {name: 'build_failed → deployed', from: 'build_failed', apply: (r) => markDeployed(r, {revision: 'x'}, T1), want: 'illegal'},
    {name: 'superseded → deployed', from: 'superseded', apply: (r) => markDeployed(r, {revision: 'x'}, T1), want: 'illegal'},
    {name: 'deploy_failed → superseded', from: 'deploy_failed', apply: (r) => markSuperseded(r, 4, T1), want: 'illegal'},
    {name: 'deploying → build_failed', from: 'deploying', apply: (r) => markBuildFailed(r, {code: 'X', message: 'm'}, T1), want: 'illegal'},
    {
      name: 'building after rejected: stale, no-op',
      from: 'rejected',
      apply: (r) => markBuilding(r, {buildId: 'b'}, T1),
      want: 'rejected',
      changed: false,
    },
  ];
  for (const m of moves) {
    it(m.name, () => {
      const r = at(m.from);
      if (m.want === 'illegal') {
        assert.throws(
          () => m.apply(r),
          (e: unknown) => e instanceof IllegalTransitionError && !e.retryable && /cannot move from/.test(e.message),
        );
        return;
      }
      const got = m.apply(r);
      assert.equal(got.release.state, m.want);
      assert.equal(got.changed, m.changed);
      if (!m.changed) assert.equal(got.release, r, 'a no-op returns the same record');
    });
  }

  it('records fields, time and history', () => {
    const b = markBuilding(at('accepted'), {buildId: 'b1', logUrl: 'https://log'}, T1).release;
    assert.equal(b.buildId, 'b1');
    assert.equal(b.buildLogUrl, 'https://log');
    assert.equal(b.updateTime, T1.toISOString());
    assert.deepEqual(
      b.history.map((h) => h.state),
      ['accepted', 'building'],
    );
    const s = markSuperseded(b, 7, T1).release;
    assert.equal(s.supersededBy, 7);
    assert.match(s.history.at(-1)!.reason!, /v7/);
  });
});

describe('unpublished (the outbox)', () => {
  it('lists reached states not yet announced, in order', () => {
    let r = at('accepted');
    r = markBuilding(r, {buildId: 'b'}, T1).release;
    r = markDeploying(r, 'i', T1).release;
    assert.deepEqual(unpublished(r), ['accepted', 'building', 'deploying']);
    assert.deepEqual(unpublished({...r, published: ['accepted']}), ['building', 'deploying']);
    assert.deepEqual(unpublished({...r, published: ['accepted', 'building', 'deploying']}), []);
  });
});
