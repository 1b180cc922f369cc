import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {DEFAULT_POLICY, validatePolicy, type RolloutPolicy} from '../../src/releases/rollout-policy';
import {patchPolicy, parseUpdateMask} from '../../src/releases/policy-patch';
import {
  finishTargets,
  invalidTargetsMessage,
  nextTargetStep,
  resolveTargets,
  rollbackTraffic,
  servingRevision,
  startTargets,
  targetsOutcome,
  type TargetRecord,
  type TargetState,
  type TargetStep,
} from '../../src/releases/targets';
import type {RunService} from '../../src/releases/service-spec';

const HOME = {region: 'us-central1', project: 'home-project'};
const EU = {region: 'europe-west1', project: 'home-project'};
const ASIA = {region: 'asia-east1', project: 'other-project'};

describe('validatePolicy: targets, targetOrder, onTargetFailure', () => {
  const rows: Array<{name: string; input: unknown; want: string[]}> = [
    {name: 'two regions', input: {targets: [{region: 'us-central1'}, {region: 'europe-west1'}]}, want: []},
    {
      name: 'a target in another project',
      input: {targets: [{region: 'us-central1'}, {region: 'asia-east1', project: 'other-project'}]},
      want: [],
    },
    {name: 'no targets: the controller’s own region', input: {targets: []}, want: []},
    {name: 'targets not a list', input: {targets: 'us-central1,europe-west1'}, want: ['targets']},
    {name: 'eleven targets', input: {targets: Array.from({length: 11}, (_, i) => ({region: `europe-west${i + 1}`}))}, want: ['targets']},
    {name: 'a target as a string', input: {targets: ['europe-west1']}, want: ['targets[0]']},
    {name: 'no region', input: {targets: [{project: 'other-project'}]}, want: ['targets[0].region']},
    {name: 'a zone is no region', input: {targets: [{region: 'europe-west1-b'}]}, want: ['targets[0].region']},
    {name: 'an upper-case region', input: {targets: [{region: 'Europe-West1'}]}, want: ['targets[0].region']},
    {name: 'a bad project id', input: {targets: [{region: 'us-central1', project: 'My_Project'}]}, want: ['targets[0].project']},
    {name: 'an unknown target field', input: {targets: [{region: 'us-central1', zone: 'b'}]}, want: ['targets[0].zone']},
    {name: 'the same target twice', input: {targets: [{region: 'us-central1'}, {region: 'us-central1'}]}, want: ['targets[1]']},
    {name: 'parallel', input: {targetOrder: 'parallel'}, want: []},
    {name: 'an unknown order', input: {targetOrder: 'random'}, want: ['targetOrder']},
    {name: 'rollback', input: {onTargetFailure: 'rollback'}, want: []},
    {name: 'an unknown failure mode', input: {onTargetFailure: 'retry'}, want: ['onTargetFailure']},
  ];
  for (const r of rows)
    it(r.name, () => {
      const v = validatePolicy(r.input);
      assert.deepEqual(v.ok ? [] : v.problems.map((p) => p.field), r.want);
    });

  it('says what a target takes', () => {
    const v = validatePolicy({targets: [{region: 'eu'}]});
    assert.ok(!v.ok);
    assert.match(v.problems[0].problem, /must be a Cloud Run region such as "europe-west1"; got "eu"/);
  });
});

describe('PATCH of targets with an update mask', () => {
  it('targets, targetOrder and onTargetFailure are mask paths', () => {
    const m = parseUpdateMask('targets,target_order,onTargetFailure');
    assert.deepEqual(m.ok && m.paths, ['targets', 'targetOrder', 'onTargetFailure']);
  });
  it('a masked targets field left out of the body goes back to the default', () => {
    const current: RolloutPolicy = {...DEFAULT_POLICY, targets: [{region: 'us-central1'}, {region: 'europe-west1'}]};
    const out = patchPolicy(current, {}, ['targets'], DEFAULT_POLICY);
    assert.deepEqual(out.ok && out.policy.targets, []);
  });
  it('without a mask, the fields set change', () => {
    const out = patchPolicy(
      DEFAULT_POLICY,
      {targets: [{region: 'us-central1'}, {region: 'europe-west1'}], targetOrder: 'parallel'},
      undefined,
      DEFAULT_POLICY,
    );
    assert.ok(out.ok);
    assert.deepEqual([out.policy.targets.length, out.policy.targetOrder, out.policy.onTargetFailure], [2, 'parallel', 'keep']);
  });
});

describe('resolveTargets', () => {
  const policy = (targets: RolloutPolicy['targets'], strategy: RolloutPolicy['strategy'] = 'immediate') => ({targets, strategy});
  const rows: Array<{name: string; input: ReturnType<typeof policy>; want: string | Array<{region: string; project: string}>}> = [
    {name: 'none: the controller’s own region', input: policy([]), want: [HOME]},
    {name: 'none, with canary: still one target', input: policy([], 'canary'), want: [HOME]},
    {name: 'a project left out is the controller’s', input: policy([{region: 'us-central1'}, {region: 'europe-west1'}]), want: [HOME, EU]},
    {
      name: 'another project',
      input: policy([{region: 'us-central1'}, {region: 'asia-east1', project: 'other-project'}]),
      want: [HOME, ASIA],
    },
    {name: 'the controller’s own project named', input: policy([{region: 'us-central1', project: 'home-project'}]), want: [HOME]},
    {
      name: 'the primary is not the controller’s region',
      input: policy([{region: 'europe-west1'}, {region: 'us-central1'}]),
      want: 'targets[0] is europe-west1',
    },
    {
      name: 'the primary in another project',
      input: policy([{region: 'us-central1', project: 'other-project'}]),
      want: 'must be the controller',
    },
    {
      name: 'the same target, once by default project',
      input: policy([{region: 'us-central1'}, {region: 'us-central1', project: 'home-project'}]),
      want: 'list each target once',
    },
    {
      name: 'canary over two regions',
      input: policy([{region: 'us-central1'}, {region: 'europe-west1'}], 'canary'),
      want: 'a canary rollout over several targets is not supported',
    },
    {name: 'verified over one listed region', input: policy([{region: 'us-central1'}], 'verified'), want: [HOME]},
  ];
  for (const r of rows)
    it(r.name, () => {
      const got = resolveTargets(r.input, HOME);
      if (typeof r.want === 'string') {
        assert.ok(!got.ok);
        assert.ok(got.message.includes(r.want), got.message);
      } else assert.deepEqual(got, {ok: true, targets: r.want});
    });
});

const rec = (t: {region: string; project: string}, state: TargetState, extra: Partial<TargetRecord> = {}): TargetRecord => ({
  ...t,
  state,
  ...extra,
});

describe('invalidTargetsMessage: where the refused combination came from, and what to do', () => {
  const two = [{region: 'us-central1'}, {region: 'europe-west1'}];
  const refused = 'a canary rollout over several targets is not supported: …';
  const rows: Array<{name: string; layers: Parameters<typeof invalidTargetsMessage>[2]; want: RegExp[]}> = [
    {
      // A policy stored before deploy targets existed has no targets field: it inherits the default's.
      name: "the configured default's targets under a stored canary policy from before targets",
      layers: {configured: {...DEFAULT_POLICY, targets: two}, stored: {strategy: 'canary', steps: [10, 100]}},
      want: [
        /^the rollout policy of "web": a canary rollout over several targets is not supported: …; /,
        /its targets come from the configured default \(DROPDEPLOY_ROLLOUT_POLICY\), its strategy "canary" from the service's own policy, which sets no targets/,
        /`dropdeploy policy web --targets default` \(the controller's region alone\) or `dropdeploy policy web --strategy immediate`/,
      ],
    },
    {
      name: "an upload's metadata strategy over the service's targets",
      layers: {configured: DEFAULT_POLICY, stored: {...DEFAULT_POLICY, targets: two}, override: {strategy: 'verified'}},
      want: [
        /its targets come from the service's own policy, its strategy "verified" from this upload's metadata dropdeploy-rollout/,
        /upload again without a verified or canary strategy in dropdeploy-rollout/,
      ],
    },
  ];
  for (const r of rows)
    it(r.name, () => {
      const got = invalidTargetsMessage('web', refused, r.layers);
      for (const w of r.want) assert.match(got, w);
    });
});

describe('startTargets', () => {
  it('a fresh deploy: every target pending', () =>
    assert.deepEqual(startTargets([HOME, EU], undefined), [rec(HOME, 'pending'), rec(EU, 'pending')]));
  it('a redelivery: what the release recorded, whatever the policy says now', () => {
    const recorded = [rec(HOME, 'deployed', {revision: 'web-00002-abc'}), rec(EU, 'deploying')];
    assert.deepEqual(startTargets([HOME], recorded), recorded);
  });
});

describe('nextTargetStep', () => {
  const rows: Array<{
    name: string;
    input: {targets: TargetRecord[]; order: 'sequential' | 'parallel'; onFailure: 'keep' | 'rollback'};
    want: TargetStep;
  }> = [
    {
      name: 'sequential: the first pending',
      input: {targets: [rec(HOME, 'pending'), rec(EU, 'pending')], order: 'sequential', onFailure: 'keep'},
      want: {kind: 'deploy', indexes: [0]},
    },
    {
      name: 'sequential: the next after a deployed one',
      input: {targets: [rec(HOME, 'deployed'), rec(EU, 'pending')], order: 'sequential', onFailure: 'keep'},
      want: {kind: 'deploy', indexes: [1]},
    },
    {
      name: 'parallel: every pending at once',
      input: {targets: [rec(HOME, 'pending'), rec(EU, 'pending'), rec(ASIA, 'pending')], order: 'parallel', onFailure: 'keep'},
      want: {kind: 'deploy', indexes: [0, 1, 2]},
    },
    {
      name: 'already done → finish (a redelivery deploys nothing again)',
      input: {targets: [rec(HOME, 'deployed'), rec(EU, 'deployed')], order: 'sequential', onFailure: 'keep'},
      want: {kind: 'finish'},
    },
    {
      name: 'parallel, done → finish',
      input: {targets: [rec(HOME, 'deployed'), rec(EU, 'deployed')], order: 'parallel', onFailure: 'rollback'},
      want: {kind: 'finish'},
    },
    {
      name: 'a redelivery: the one recorded deploying again, not the deployed one',
      input: {targets: [rec(HOME, 'deployed'), rec(EU, 'deploying')], order: 'sequential', onFailure: 'keep'},
      want: {kind: 'deploy', indexes: [1]},
    },
    {
      name: 'parallel redelivery: only those not done',
      input: {targets: [rec(HOME, 'deployed'), rec(EU, 'deploying'), rec(ASIA, 'pending')], order: 'parallel', onFailure: 'keep'},
      want: {kind: 'deploy', indexes: [1, 2]},
    },
    {
      name: 'sequential: a failure stops it, keep',
      input: {
        targets: [rec(HOME, 'deployed', {previousRevision: 'a'}), rec(EU, 'failed'), rec(ASIA, 'pending')],
        order: 'sequential',
        onFailure: 'keep',
      },
      want: {kind: 'finish'},
    },
    {
      name: 'a failure with rollback: the deployed ones go back',
      input: {
        targets: [rec(HOME, 'deployed', {previousRevision: 'a'}), rec(EU, 'failed'), rec(ASIA, 'pending')],
        order: 'sequential',
        onFailure: 'rollback',
      },
      want: {kind: 'rollback', indexes: [0]},
    },
    {
      name: 'rollback: one this release created has nothing to go back to',
      input: {
        targets: [rec(HOME, 'deployed', {previousRevision: 'a'}), rec(EU, 'deployed'), rec(ASIA, 'failed')],
        order: 'parallel',
        onFailure: 'rollback',
      },
      want: {kind: 'rollback', indexes: [0]},
    },
    {
      name: 'rollback done → finish',
      input: {targets: [rec(HOME, 'rolled_back', {previousRevision: 'a'}), rec(EU, 'failed')], order: 'sequential', onFailure: 'rollback'},
      want: {kind: 'finish'},
    },
    {
      name: 'a failure while another was in flight: that one is finished first',
      input: {targets: [rec(HOME, 'deploying', {previousRevision: 'a'}), rec(EU, 'failed')], order: 'parallel', onFailure: 'rollback'},
      want: {kind: 'deploy', indexes: [0]},
    },
    {
      name: 'superseded: nothing more, no rollback',
      input: {
        targets: [rec(HOME, 'deployed', {previousRevision: 'a'}), rec(EU, 'superseded', {supersededBy: 9})],
        order: 'sequential',
        onFailure: 'rollback',
      },
      want: {kind: 'finish'},
    },
    {
      name: 'the first fails: nothing else is started',
      input: {targets: [rec(HOME, 'failed'), rec(EU, 'pending')], order: 'sequential', onFailure: 'rollback'},
      want: {kind: 'finish'},
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(nextTargetStep(r.input.targets, r.input.order, r.input.onFailure), r.want));
});

describe('targetsOutcome: the release state from its ended targets', () => {
  const err = {code: 'REVISION_FAILED', message: "Revision 'web-00002-xyz' is not ready"};
  const rows: Array<{name: string; input: TargetRecord[]; want: ReturnType<typeof targetsOutcome>}> = [
    {
      name: 'all deployed: the primary’s revision and URL',
      input: [
        rec(HOME, 'deployed', {revision: 'web-00002-a', url: 'https://us'}),
        rec(EU, 'deployed', {revision: 'web-00002-b', url: 'https://eu'}),
      ],
      want: {revision: 'web-00002-a', url: 'https://us'},
    },
    {
      name: 'one failed, the other kept',
      input: [rec(HOME, 'deployed', {revision: 'web-00002-a'}), rec(EU, 'failed', {error: err})],
      want: {
        error: {
          code: 'REVISION_FAILED',
          message:
            "the deploy to europe-west1 (project home-project) failed: Revision 'web-00002-xyz' is not ready; us-central1 (project home-project) keeps serving the new digest",
        },
      },
    },
    {
      name: 'one failed, the other rolled back',
      input: [rec(HOME, 'rolled_back', {revision: 'web-00002-a'}), rec(EU, 'failed', {error: err})],
      want: {
        error: {
          code: 'REVISION_FAILED',
          message:
            "the deploy to europe-west1 (project home-project) failed: Revision 'web-00002-xyz' is not ready; us-central1 (project home-project) went back to the revision that served before",
        },
      },
    },
    {
      name: 'the primary failed, the rest skipped',
      input: [rec(HOME, 'failed', {error: err}), rec(EU, 'skipped')],
      want: {
        error: {
          code: 'REVISION_FAILED',
          message:
            "the deploy to us-central1 (project home-project) failed: Revision 'web-00002-xyz' is not ready; europe-west1 (project home-project) not deployed (sequential order stops at a failure)",
        },
      },
    },
    {
      name: 'a target runs a newer release: superseded',
      input: [rec(HOME, 'deployed', {revision: 'r'}), rec(EU, 'superseded', {supersededBy: 7})],
      want: {supersededBy: 7},
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(targetsOutcome(r.input), r.want));

  it('finishTargets: those never started are skipped', () =>
    assert.deepEqual(
      finishTargets([rec(HOME, 'failed'), rec(EU, 'pending')]).map((t) => t.state),
      ['failed', 'skipped'],
    ));
});

describe('servingRevision and rollbackTraffic', () => {
  const live: RunService = {
    name: 'projects/p/locations/europe-west1/services/web',
    etag: 'e1',
    traffic: [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-1', tag: 'pr-1', percent: 0},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-r3', tag: 'rollout-v3', percent: 0},
    ],
    trafficStatuses: [
      {revision: 'web-00002-b', percent: 100},
      {revision: 'web-1', tag: 'pr-1', percent: 0},
    ],
    latestReadyRevision: 'projects/p/locations/europe-west1/services/web/revisions/web-00002-b',
  };
  it('the revision with the traffic serves', () => assert.equal(servingRevision(live), 'web-00002-b'));
  it('no statuses: the latest ready one', () => assert.equal(servingRevision({latestReadyRevision: 'x/revisions/web-7'}), 'web-7'));
  it('no service: none', () => assert.equal(servingRevision(undefined), undefined));
  it('back: 100 % on the previous revision by name, people’s tags at 0 %, the rollout tag gone, same etag', () => {
    const spec = rollbackTraffic(live, 'web-00001-a')!;
    assert.equal(spec.etag, 'e1');
    assert.deepEqual(spec.traffic, [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00001-a', percent: 100},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-1', tag: 'pr-1', percent: 0},
    ]);
  });
  it('already back → nothing to update', () => assert.equal(rollbackTraffic(live, 'web-00002-b'), undefined));
});
