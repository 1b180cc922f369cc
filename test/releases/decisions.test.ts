/**
 * The store's decisions as table tests: lease takeover, adoption, newest-wins, a stalled newer
 * deploy, the end of a deploy. Each table has "already done → no-op" rows.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  decideAdoption,
  decideBuildLease,
  decideClaim,
  decideConfigRelease,
  decideDeployLease,
  decideFinishDeploy,
  isOwnClaim,
  renewedLease,
  type BuildLeaseState,
  type DeployResult,
  type ServiceState,
} from '../../src/releases/decisions';
import {newRelease, type Release, type State} from '../../src/releases/release';

const T0 = new Date('2026-12-01T09:00:00Z');
const NOW = T0.getTime();
const MIN = 60_000;

function at(state: State, n = 3, extra: Partial<Release> = {}): Release {
  return {...newRelease({service: 'hello', release: n, trigger: 'upload', actor: 'test'}, T0), state, ...extra};
}

describe('decideClaim', () => {
  const rows: Array<{name: string; claimed?: number; last?: number; renumber?: boolean; want: ReturnType<typeof decideClaim>}> = [
    {name: 'first upload of a service → v1', want: {kind: 'create', release: 1}},
    {name: 'next upload → last + 1', last: 4, want: {kind: 'create', release: 5}},
    {name: 'already claimed → that release (no-op)', claimed: 2, last: 4, want: {kind: 'known', release: 2}},
    {name: 'claimed but its release is missing → numbered anew', claimed: 2, last: 4, renumber: true, want: {kind: 'create', release: 5}},
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(decideClaim(r.claimed, r.last, r.renumber), r.want));

  it('a known claim is this very claim only while accepted under this holder', () => {
    const mine: BuildLeaseState = {release: at('accepted'), buildLease: {holder: 'a', until: NOW + MIN}};
    assert.equal(isOwnClaim(mine, 'a'), true);
    assert.equal(isOwnClaim(mine, 'b'), false);
    assert.equal(isOwnClaim({...mine, release: at('building')}, 'a'), false);
  });
});

describe('decideBuildLease', () => {
  const rows: Array<{name: string; s: BuildLeaseState; holder: string; want: ReturnType<typeof decideBuildLease>}> = [
    {
      name: 'free → go, first attempt',
      s: {release: at('accepted')},
      holder: 'a',
      want: {kind: 'go', lease: {holder: 'a', until: NOW + MIN}, attempts: 1, earlierAttempt: false},
    },
    {
      name: 'live lease of another → busy',
      s: {release: at('accepted'), buildLease: {holder: 'b', until: NOW + 1}, buildAttempts: 1},
      holder: 'a',
      want: {kind: 'busy', holder: 'b'},
    },
    {
      name: 'expired lease of another → taken over, its token revoked, an earlier attempt may have built',
      s: {release: at('accepted'), buildLease: {holder: 'b', until: NOW}, buildAttempts: 1},
      holder: 'a',
      want: {kind: 'go', lease: {holder: 'a', until: NOW + MIN}, attempts: 2, earlierAttempt: true, revoke: 'b'},
    },
    {
      name: 'own live lease → go again, nothing revoked',
      s: {release: at('accepted'), buildLease: {holder: 'a', until: NOW + 1}, buildAttempts: 1},
      holder: 'a',
      want: {kind: 'go', lease: {holder: 'a', until: NOW + MIN}, attempts: 2, earlierAttempt: true},
    },
    {
      name: 'building already → done (no-op)',
      s: {release: at('building'), buildLease: {holder: 'b', until: NOW + MIN}},
      holder: 'a',
      want: {kind: 'done'},
    },
    {name: 'terminal → done (no-op)', s: {release: at('build_failed')}, holder: 'a', want: {kind: 'done'}},
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(decideBuildLease(r.s, r.holder, T0, MIN), r.want));
});

describe('decideAdoption', () => {
  const build = {buildId: 'b-1', logUrl: 'http://logs/b-1'};
  const rows: Array<{name: string; s: BuildLeaseState; want: 'done' | 'busy' | 'go'; revoke?: string}> = [
    {name: 'accepted, no lease → adopted', s: {release: at('accepted')}, want: 'go'},
    {
      name: 'accepted, expired lease → adopted, token revoked',
      s: {release: at('accepted'), buildLease: {holder: 'b', until: NOW - 1}},
      want: 'go',
      revoke: 'b',
    },
    {
      name: 'accepted, live lease → busy (its holder records it)',
      s: {release: at('accepted'), buildLease: {holder: 'b', until: NOW + 1}},
      want: 'busy',
    },
    {name: 'building already → done (no-op)', s: {release: at('building', 3, {buildId: 'b-1'})}, want: 'done'},
    {name: 'deployed → done (no-op)', s: {release: at('deployed')}, want: 'done'},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const d = decideAdoption(r.s, build, T0);
      assert.equal(d.kind, r.want);
      if (d.kind === 'go') {
        assert.equal(d.release.state, 'building');
        assert.equal(d.release.buildId, 'b-1');
        assert.equal(d.revoke, r.revoke);
      }
    });
  }
});

describe('decideDeployLease', () => {
  const image = 'img@sha256:1';
  type Want =
    | {kind: 'done'; state: State; write: boolean}
    | {kind: 'busy'; holder: number}
    | {kind: 'read'; release: number}
    | {kind: 'stalled'; newer: number}
    | {kind: 'go'; deployStarted: number};
  const rows: Array<{name: string; r: Release; svc: ServiceState; newer?: Release | null; want: Want}> = [
    {name: 'nothing deployed, no lock → go', r: at('building'), svc: {}, want: {kind: 'go', deployStarted: 3}},
    {name: 'older deployed → go', r: at('building'), svc: {deployed: 2, deployStarted: 2}, want: {kind: 'go', deployStarted: 3}},
    {
      name: 'newer deployed → superseded (written)',
      r: at('building'),
      svc: {deployed: 4},
      want: {kind: 'done', state: 'superseded', write: true},
    },
    {
      name: 'newer deployed, even while locked → superseded',
      r: at('building'),
      svc: {deployed: 4, lock: {release: 5, holder: 'x', until: NOW + 1}},
      want: {kind: 'done', state: 'superseded', write: true},
    },
    {name: 'terminal already → done (no-op)', r: at('deployed'), svc: {deployed: 3}, want: {kind: 'done', state: 'deployed', write: false}},
    {
      name: 'superseded already → done (no-op)',
      r: at('superseded'),
      svc: {deployed: 9},
      want: {kind: 'done', state: 'superseded', write: false},
    },
    {
      name: 'live lock of another → busy',
      r: at('building'),
      svc: {lock: {release: 2, holder: 'x', until: NOW + 1}},
      want: {kind: 'busy', holder: 2},
    },
    {
      name: 'expired lock of another → taken over',
      r: at('deploying', 3, {image}),
      svc: {lock: {release: 3, holder: 'x', until: NOW}, deployStarted: 3},
      want: {kind: 'go', deployStarted: 3},
    },
    {
      name: 'own lock → go again',
      r: at('deploying', 3, {image}),
      svc: {lock: {release: 3, holder: 'me', until: NOW + 1}, deployStarted: 3},
      want: {kind: 'go', deployStarted: 3},
    },
    {
      name: 'a newer release started deploying → read it first',
      r: at('building'),
      svc: {deployStarted: 5},
      want: {kind: 'read', release: 5},
    },
    {
      name: 'that newer one has not ended and nobody holds the lock → stalled',
      r: at('building'),
      svc: {deployStarted: 5},
      newer: at('deploying', 5),
      want: {kind: 'stalled', newer: 5},
    },
    {
      name: 'that newer one failed → go (older code may serve again)',
      r: at('building'),
      svc: {deployStarted: 5},
      newer: at('deploy_failed', 5),
      want: {kind: 'go', deployStarted: 5},
    },
    {name: 'that newer one is missing → go', r: at('building'), svc: {deployStarted: 5}, newer: null, want: {kind: 'go', deployStarted: 5}},
  ];
  for (const row of rows) {
    it(row.name, () => {
      const d = decideDeployLease(row.r, row.svc, image, 'me', T0, MIN, row.newer);
      switch (d.kind) {
        case 'done':
          assert.deepEqual({kind: d.kind, state: d.release.state, write: d.write}, row.want);
          break;
        case 'busy':
        case 'read':
          assert.deepEqual(d, row.want);
          break;
        case 'stalled':
          assert.deepEqual({kind: d.kind, newer: d.newer.release}, row.want);
          break;
        case 'go':
          assert.deepEqual({kind: d.kind, deployStarted: d.deployStarted}, row.want);
          assert.equal(d.release.state, 'deploying');
          assert.equal(d.release.image, image);
          assert.deepEqual(d.lock, {release: 3, holder: 'me', until: NOW + MIN});
      }
    });
  }

  it("a rollback keeps its own image (the earlier release's digest)", () => {
    const d = decideDeployLease(at('accepted', 3, {image: 'old@sha256:4'}), {}, image, 'me', T0, MIN);
    assert.equal(d.kind === 'go' && d.release.image, 'old@sha256:4');
  });
});

describe('decideFinishDeploy', () => {
  const rows: Array<{
    name: string;
    r: Release;
    svc: ServiceState;
    result: DeployResult;
    want: {state: State; deployed?: number; unlock: boolean};
  }> = [
    {
      name: 'success, newest → deployed, service updated, own lock freed',
      r: at('deploying'),
      svc: {deployed: 2, lock: {release: 3, holder: 'me', until: NOW}},
      result: {revision: 'hello-00003'},
      want: {state: 'deployed', deployed: 3, unlock: true},
    },
    {
      name: 'success after a newer one was recorded → deployed, service left on the newer',
      r: at('deploying'),
      svc: {deployed: 4},
      result: {revision: 'hello-00003'},
      want: {state: 'deployed', unlock: false},
    },
    {
      name: 'failure → deploy_failed, lock freed',
      r: at('deploying'),
      svc: {lock: {release: 3, holder: 'me', until: NOW}},
      result: {error: {code: 'REVISION_FAILED', message: 'boom'}},
      want: {state: 'deploy_failed', unlock: true},
    },
    {
      name: 'the live service runs a newer release → superseded',
      r: at('deploying'),
      svc: {lock: {release: 3, holder: 'me', until: NOW}},
      result: {supersededBy: 4},
      want: {state: 'superseded', unlock: true},
    },
    {
      name: 'a failure after the lock was taken over → not recorded (the new holder deploys it), lock kept',
      r: at('deploying'),
      svc: {lock: {release: 3, holder: 'other', until: NOW + MIN}},
      result: {error: {code: 'ABORTED', message: 'etag mismatch'}},
      want: {state: 'deploying', unlock: false},
    },
    {
      name: 'lock taken over meanwhile → not freed',
      r: at('deploying'),
      svc: {lock: {release: 4, holder: 'other', until: NOW + MIN}},
      result: {revision: 'hello-00003'},
      want: {state: 'deployed', deployed: 3, unlock: false},
    },
    {
      name: 'deployed already (a redelivery) → no-op',
      r: at('deployed', 3, {revision: 'hello-00003'}),
      svc: {deployed: 3},
      result: {revision: 'hello-00003'},
      want: {state: 'deployed', unlock: false},
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const d = decideFinishDeploy(row.r, row.svc, row.result, 'me', T0);
      assert.deepEqual({state: d.release.state, deployed: d.deployed?.release, unlock: d.unlock}, {deployed: undefined, ...row.want});
      if (row.r.state === d.release.state) assert.equal(d.release, row.r, 'no-op returns the same record');
    });
  }
});

describe('decideFinishDeploy records the env a deploy wrote', () => {
  const env = [
    {name: 'NAME', value: 'a'},
    {name: 'API_TOKEN', redacted: true as const},
  ];
  it('deployed: on the record', () => {
    const d = decideFinishDeploy(at('deploying'), {deployed: 2}, {revision: 'hello-00003', env}, 'me', T0);
    assert.deepEqual(d.release.deployedEnv, env);
  });
  it('verifying (a progressive rollout begins): on the record', () => {
    const rollout = {tag: 'dd-v3'} as unknown as Extract<DeployResult, {rollout: unknown}>['rollout'];
    const d = decideFinishDeploy(at('deploying'), {deployed: 2}, {revision: 'hello-00003', env, rollout}, 'me', T0);
    assert.equal(d.release.state, 'verifying');
    assert.deepEqual(d.release.deployedEnv, env);
  });
  it('no env reported (a deploy from before it was recorded): none on the record', () => {
    assert.equal(decideFinishDeploy(at('deploying'), {deployed: 2}, {revision: 'hello-00003'}, 'me', T0).release.deployedEnv, undefined);
  });
});

describe('decideFinishDeploy: a multi-target failure whose primary serves the release', () => {
  const env = [{name: 'NAME', value: 'a'}];
  const dep = () => at('deploying', 3, {image: 'reg/hello@sha256:3'});
  const lock = {release: 3, holder: 'me', until: NOW};
  const primary = {region: 'us-central1', project: 'p', state: 'deployed' as const, revision: 'hello-00003', url: 'https://a'};
  const europe = {region: 'europe-west1', project: 'p'};
  const error = {code: 'REVISION_FAILED', message: 'the deploy to europe-west1 (project p) failed'};
  it('keep: the release stays deploy_failed, the service is deployed at it (the primary serves it)', () => {
    const targets = [primary, {...europe, state: 'failed' as const, error}];
    const d = decideFinishDeploy(dep(), {deployed: 2, lock}, {error, env, targets}, 'me', T0);
    assert.equal(d.release.state, 'deploy_failed');
    assert.deepEqual(d.release.error, error);
    assert.equal(d.release.revision, 'hello-00003');
    assert.equal(d.release.url, 'https://a');
    assert.deepEqual(d.release.deployedEnv, env);
    assert.deepEqual(d.deployed, {
      release: 3,
      image: 'reg/hello@sha256:3',
      revision: 'hello-00003',
      url: 'https://a',
      time: T0.toISOString(),
    });
  });
  it('another target runs a newer release: superseded, the service is deployed at it', () => {
    const targets = [primary, {...europe, state: 'superseded' as const, supersededBy: 4}];
    const d = decideFinishDeploy(dep(), {deployed: 2, lock}, {supersededBy: 4, env, targets}, 'me', T0);
    assert.equal(d.release.state, 'superseded');
    assert.equal(d.deployed?.release, 3);
  });
  it('the primary went back (rollback) or failed: the service stays on what it ran', () => {
    for (const state of ['rolled_back', 'failed', 'skipped'] as const) {
      const targets = [
        {...primary, state},
        {...europe, state: 'failed' as const, error},
      ];
      const d = decideFinishDeploy(dep(), {deployed: 2, lock}, {error, targets}, 'me', T0);
      assert.equal(d.release.state, 'deploy_failed', state);
      assert.equal(d.deployed, undefined, state);
      assert.equal(d.release.revision, undefined, state);
    }
  });
  it('a newer release is deployed already: the service stays on it', () => {
    const targets = [primary, {...europe, state: 'failed' as const, error}];
    assert.equal(decideFinishDeploy(dep(), {deployed: 4, lock}, {error, targets}, 'me', T0).deployed, undefined);
  });
});

describe('renewedLease', () => {
  it("extends the holder's own lease, never shortens it", () => {
    assert.deepEqual(renewedLease({holder: 'me', until: NOW + 10}, 'me', T0, MIN), {holder: 'me', until: NOW + MIN});
    assert.deepEqual(renewedLease({holder: 'me', until: NOW + 2 * MIN}, 'me', T0, MIN), {holder: 'me', until: NOW + 2 * MIN});
  });
  it('is refused once another holds it, or nobody does', () => {
    assert.equal(renewedLease({holder: 'other', until: NOW + 10}, 'me', T0, MIN), undefined);
    assert.equal(renewedLease(null, 'me', T0, MIN), undefined);
  });
});

describe('decideConfigRelease (an environment change deploys the deployed image)', () => {
  const deployed = {release: 3, image: 'r/hello@sha256:3'};
  const rows: Array<{
    name: string;
    deployed?: {release: number; image?: string};
    newer: Array<{release: number; state: State; trigger: Release['trigger']; preview?: {name: string}}>;
    want: string;
  }> = [
    {name: 'nothing newer: the deployed image', deployed, newer: [], want: 'create:r/hello@sha256:3'},
    {
      name: 'a preview still building does not hold an env change up',
      deployed,
      newer: [{release: 4, state: 'building', trigger: 'upload', preview: {name: 'pr-7'}}],
      want: 'create:r/hello@sha256:3',
    },
    {
      name: 'a main-line rollout does, naming promote and abort',
      deployed,
      newer: [{release: 4, state: 'rolling_out', trigger: 'upload'}],
      want: 'refuse:.*dropdeploy promote hello',
    },
    {
      name: 'newer releases that ended (failed, superseded): the deployed image',
      deployed,
      newer: [
        {release: 4, state: 'build_failed', trigger: 'upload'},
        {release: 5, state: 'superseded', trigger: 'upload'},
      ],
      want: 'create:r/hello@sha256:3',
    },
    {
      name: 'an upload still building: refused (the change would supersede it)',
      deployed,
      newer: [
        {release: 5, state: 'building', trigger: 'upload'},
        {release: 4, state: 'build_failed', trigger: 'upload'},
      ],
      want: 'refuse:.*v5 .*building',
    },
    {
      name: 'another environment change still deploying: refused',
      deployed,
      newer: [{release: 4, state: 'deploying', trigger: 'config'}],
      want: 'refuse:.*v4 .*config.*deploying',
    },
    {name: 'nothing deployed yet: refused', newer: [], want: 'refuse:nothing .* is deployed yet'},
    {
      name: 'the first upload still building: refused, naming it',
      newer: [{release: 1, state: 'building', trigger: 'upload'}],
      want: 'refuse:.*v1 ',
    },
    {name: 'a deployed release without an image: refused', deployed: {release: 3}, newer: [], want: 'refuse:.*records no image'},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const d = decideConfigRelease('hello', r.deployed, r.newer);
      if (d.kind === 'create') assert.equal(`create:${d.image}`, r.want);
      else assert.match(`refuse:${d.message}`, new RegExp(r.want));
    });
  }
});
