import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {effectivePolicy, parseUpdateMask, patchPolicy, type PolicyField} from '../../src/releases/policy-patch';
import {DEFAULT_POLICY, type PartialPolicy, type RolloutPolicy} from '../../src/releases/rollout-policy';

const CANARY: RolloutPolicy = {...DEFAULT_POLICY, strategy: 'canary', steps: [25, 100], check: {...DEFAULT_POLICY.check, path: '/healthz'}};

describe('effectivePolicy: configured default ← stored ← upload override', () => {
  const rows: Array<{
    name: string;
    input: {configured: RolloutPolicy; stored?: PartialPolicy; override?: PartialPolicy};
    want: RolloutPolicy;
  }> = [
    {name: 'nothing stored, no override: the default', input: {configured: DEFAULT_POLICY}, want: DEFAULT_POLICY},
    {name: 'a stored policy wins over the default', input: {configured: DEFAULT_POLICY, stored: CANARY}, want: CANARY},
    {
      name: 'an override wins over the stored policy',
      input: {configured: DEFAULT_POLICY, stored: CANARY, override: {strategy: 'immediate'}},
      want: {...CANARY, strategy: 'immediate'},
    },
    {
      name: 'nested fields merge one by one',
      input: {configured: DEFAULT_POLICY, stored: {check: {path: '/ready'}}, override: {check: {attempts: 1}, thresholds: {p99Ms: 200}}},
      want: {
        ...DEFAULT_POLICY,
        check: {...DEFAULT_POLICY.check, path: '/ready', attempts: 1},
        thresholds: {...DEFAULT_POLICY.thresholds, p99Ms: 200},
      },
    },
    {
      name: 'steps are replaced as a whole',
      input: {configured: {...DEFAULT_POLICY, steps: [1, 5, 50, 100]}, override: {steps: [100]}},
      want: {...DEFAULT_POLICY, steps: [100]},
    },
    {
      name: 'a stored policy from before a field existed keeps the default of that field',
      input: {configured: {...DEFAULT_POLICY, interval: '60s'}, stored: {strategy: 'verified', steps: [100]}},
      want: {...DEFAULT_POLICY, interval: '60s', strategy: 'verified', steps: [100]},
    },
    {
      name: 'an override equal to the default: no change',
      input: {configured: DEFAULT_POLICY, override: {strategy: 'immediate'}},
      want: DEFAULT_POLICY,
    },
    {
      // A release accepted before uploads were refused these fields still has them in source.rollout.
      name: "an upload override never sets the service's targets, order or failure handling",
      input: {
        configured: DEFAULT_POLICY,
        stored: {targets: [{region: 'europe-west1'}]},
        override: {
          strategy: 'immediate',
          targets: [{region: 'europe-west1'}, {region: 'asia-east1', project: 'someone-elses'}],
          targetOrder: 'parallel',
          onTargetFailure: 'rollback',
        },
      },
      want: {...DEFAULT_POLICY, targets: [{region: 'europe-west1'}]},
    },
  ];
  for (const r of rows) it(r.name, () => assert.deepEqual(effectivePolicy(r.input.configured, r.input.stored, r.input.override), r.want));
});

describe('parseUpdateMask', () => {
  const rows: Array<{name: string; input: string; want: PolicyField[] | RegExp}> = [
    {name: 'two paths', input: 'steps,check.path', want: ['steps', 'check.path']},
    {name: 'spaces and repeats', input: ' steps , steps ', want: ['steps']},
    {
      name: 'proto (snake_case) names',
      input: 'check.expect_status,thresholds.max_5xx_ratio',
      want: ['check.expectStatus', 'thresholds.max5xxRatio'],
    },
    {name: 'a group', input: 'thresholds', want: ['thresholds.max5xxRatio', 'thresholds.p99Ms', 'thresholds.minRequests']},
    {
      name: 'everything',
      input: '*',
      want: [
        ...(parseUpdateMask('strategy,steps,interval,check,thresholds,targets,targetOrder,onTargetFailure') as {paths: PolicyField[]})
          .paths,
      ],
    },
    {name: 'unknown paths are named', input: 'steps,check.port,colour', want: /unknown path "check.port", "colour"/},
    {name: 'an empty mask', input: ' , ', want: /names no field/},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = parseUpdateMask(r.input);
      if (r.want instanceof RegExp) {
        assert.equal(got.ok, false);
        if (!got.ok) {
          assert.equal(got.problem.field, 'updateMask');
          assert.match(got.problem.problem, r.want);
        }
      } else assert.deepEqual(got, {ok: true, paths: r.want});
    });
  }
});

describe('patchPolicy', () => {
  const fallback: RolloutPolicy = {...DEFAULT_POLICY, interval: '120s'};
  const rows: Array<{
    name: string;
    input: {current: RolloutPolicy; body: unknown; mask?: PolicyField[]};
    want: {policy: RolloutPolicy; changed: boolean} | string[];
  }> = [
    {
      name: 'no mask: the fields the body sets',
      input: {current: DEFAULT_POLICY, body: {strategy: 'canary', check: {path: '/healthz'}}},
      want: {policy: {...DEFAULT_POLICY, strategy: 'canary', check: {...DEFAULT_POLICY.check, path: '/healthz'}}, changed: true},
    },
    {
      name: 'the same value: no change',
      input: {current: CANARY, body: {strategy: 'canary', steps: [25, 100]}},
      want: {policy: CANARY, changed: false},
    },
    {
      name: 'a mask: only its fields change, other body fields are ignored',
      input: {current: DEFAULT_POLICY, body: {strategy: 'canary', steps: [50, 100]}, mask: ['steps']},
      want: {policy: {...DEFAULT_POLICY, steps: [50, 100]}, changed: true},
    },
    {
      name: 'a masked field the body leaves out goes back to the default',
      input: {current: CANARY, body: {}, mask: ['check.path', 'interval']},
      want: {policy: {...CANARY, check: {...CANARY.check, path: fallback.check.path}, interval: '120s'}, changed: true},
    },
    {
      name: 'a reset to what it already is: no change',
      input: {current: {...CANARY, interval: '120s'}, body: {}, mask: ['interval']},
      want: {policy: {...CANARY, interval: '120s'}, changed: false},
    },
    {name: 'an empty body without a mask names nothing', input: {current: DEFAULT_POLICY, body: {}}, want: ['body']},
    {name: 'a bad field is refused, naming it', input: {current: DEFAULT_POLICY, body: {steps: [10, 50]}}, want: ['steps[1]']},
    {
      name: 'a bad field outside the mask is still refused',
      input: {current: DEFAULT_POLICY, body: {strategy: 'x', steps: [100]}, mask: ['steps']},
      want: ['strategy'],
    },
    {name: 'not an object', input: {current: DEFAULT_POLICY, body: 'canary'}, want: ['policy']},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = patchPolicy(r.input.current, r.input.body, r.input.mask, fallback);
      if (Array.isArray(r.want)) assert.deepEqual(got.ok ? 'ok' : got.problems.map((p) => p.field), r.want);
      else {
        assert.ok(got.ok);
        assert.deepEqual({policy: got.policy, changed: got.changed}, r.want);
        if (!r.want.changed) assert.equal(got.policy, r.input.current, 'no change returns the current policy itself');
      }
    });
  }
  it('does not change the current policy', () => {
    const current = structuredClone(CANARY);
    patchPolicy(current, {check: {path: '/x'}, steps: [100]}, undefined, fallback);
    assert.deepEqual(current, CANARY);
  });
});
