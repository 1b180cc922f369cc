import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {DEFAULT_POLICY, durationMs, formatDuration, parsePolicyText, validatePolicy} from '../../src/releases/rollout-policy';

const ISSUE_EXAMPLE = {
  strategy: 'canary',
  steps: [10, 50, 100],
  interval: '300s',
  check: {path: '/healthz', expectStatus: 200, timeout: '5s', attempts: 3},
  thresholds: {max5xxRatio: 0.01, p99Ms: 1000, minRequests: 50},
};

describe('validatePolicy: every problem, named by field path', () => {
  const rows: Array<{name: string; input: unknown; want: string[]}> = [
    {name: 'the issue example', input: ISSUE_EXAMPLE, want: []},
    {name: 'the built-in default', input: DEFAULT_POLICY, want: []},
    {name: 'an empty object (nothing to change is fine here)', input: {}, want: []},
    {name: 'one nested field', input: {check: {path: '/ready'}}, want: []},
    {name: 'not an object', input: [1], want: ['policy']},
    {name: 'null', input: null, want: ['policy']},
    {name: 'an unknown field', input: {stratgy: 'canary'}, want: ['stratgy']},
    {name: 'an unknown nested field', input: {check: {port: 8080}}, want: ['check.port']},
    {name: 'an unknown strategy', input: {strategy: 'blue-green'}, want: ['strategy']},
    {name: 'steps not a list', input: {steps: '10,100'}, want: ['steps']},
    {name: 'no steps', input: {steps: []}, want: ['steps']},
    {name: 'eleven steps', input: {steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100]}, want: ['steps']},
    {name: 'ten steps', input: {steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 100]}, want: []},
    {name: 'just 100', input: {steps: [100]}, want: []},
    {name: 'a step of 0', input: {steps: [0, 100]}, want: ['steps[0]']},
    {name: 'a fraction', input: {steps: [12.5, 100]}, want: ['steps[0]']},
    {name: 'a falling step', input: {steps: [50, 10, 100]}, want: ['steps[1]']},
    {name: 'a repeated step', input: {steps: [50, 50, 100]}, want: ['steps[1]']},
    {name: 'not ending at 100', input: {steps: [10, 50]}, want: ['steps[1]']},
    {name: 'above 100', input: {steps: [10, 150]}, want: ['steps[1]']},
    {name: 'an interval of minutes is no Duration', input: {interval: '5m'}, want: ['interval']},
    {name: 'an interval as a number', input: {interval: 300}, want: ['interval']},
    {name: 'an interval below 1s', input: {interval: '0.5s'}, want: ['interval']},
    {name: 'an interval of 1s', input: {interval: '1s'}, want: []},
    {name: 'an interval above a day', input: {interval: '86401s'}, want: ['interval']},
    {name: 'a fractional timeout', input: {check: {timeout: '1.5s'}}, want: []},
    {name: 'a timeout of 1ms', input: {check: {timeout: '0.001s'}}, want: []},
    {name: 'a timeout below 1ms', input: {check: {timeout: '0.0001s'}}, want: ['check.timeout']},
    {name: 'a timeout of ten decimals', input: {check: {timeout: '1.0000000001s'}}, want: ['check.timeout']},
    {name: 'a timeout above 60s', input: {check: {timeout: '61s'}}, want: ['check.timeout']},
    {name: 'a negative timeout', input: {check: {timeout: '-1s'}}, want: ['check.timeout']},
    {name: 'a path without /', input: {check: {path: 'healthz'}}, want: ['check.path']},
    {name: 'a path with a space', input: {check: {path: '/health z'}}, want: ['check.path']},
    {name: 'a path with a query', input: {check: {path: '/healthz?deep=1'}}, want: []},
    {name: 'a path naming another host (//host)', input: {check: {path: '//evil.example/x'}}, want: ['check.path']},
    {name: 'a path naming another host (/\\host)', input: {check: {path: '/\\evil.example/x'}}, want: ['check.path']},
    {name: 'a backslash anywhere', input: {check: {path: '/a\\b'}}, want: ['check.path']},
    {name: 'a status of 99', input: {check: {expectStatus: 99}}, want: ['check.expectStatus']},
    {name: 'a status of 600', input: {check: {expectStatus: 600}}, want: ['check.expectStatus']},
    {name: 'a status as a string', input: {check: {expectStatus: '200'}}, want: ['check.expectStatus']},
    {name: 'no attempts', input: {check: {attempts: 0}}, want: ['check.attempts']},
    {name: 'eleven attempts', input: {check: {attempts: 11}}, want: ['check.attempts']},
    {name: 'check not an object', input: {check: '/healthz'}, want: ['check']},
    {name: 'a ratio above 1', input: {thresholds: {max5xxRatio: 1.5}}, want: ['thresholds.max5xxRatio']},
    {name: 'a ratio of 0', input: {thresholds: {max5xxRatio: 0}}, want: []},
    {name: 'a p99 of 0', input: {thresholds: {p99Ms: 0}}, want: ['thresholds.p99Ms']},
    {name: 'a fractional p99', input: {thresholds: {p99Ms: 250.5}}, want: []},
    {name: 'no minimum of requests', input: {thresholds: {minRequests: 0}}, want: []},
    {name: 'a negative minimum of requests', input: {thresholds: {minRequests: -1}}, want: ['thresholds.minRequests']},
    {
      name: 'several problems at once',
      input: {strategy: 'x', steps: [10], interval: '5m', check: {path: 'x', attempts: 0}, thresholds: {p99Ms: -1}},
      want: ['strategy', 'steps[0]', 'interval', 'check.path', 'check.attempts', 'thresholds.p99Ms'],
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = validatePolicy(r.input);
      assert.deepEqual(got.ok ? [] : got.problems.map((p) => p.field), r.want);
      if (!got.ok) for (const p of got.problems) assert.ok(p.problem.length > 10, `${p.field} says what is accepted`);
    });
  }
});

describe('durationMs and formatDuration', () => {
  const rows: Array<{name: string; input: string; want: number}> = [
    {name: 'whole seconds', input: '300s', want: 300_000},
    {name: 'a fraction', input: '1.5s', want: 1500},
    {name: 'milliseconds', input: '0.001s', want: 1},
    {name: 'nine decimals', input: '0.000000001s', want: 0.000001},
    {name: 'zero', input: '0s', want: 0},
  ];
  for (const r of rows) {
    it(r.name, () => {
      assert.equal(durationMs(r.input), r.want);
      assert.equal(durationMs(formatDuration(r.want)), r.want, 'formatDuration gives it back');
    });
  }
  for (const bad of ['5m', '1.5', '-1s', '1.0000000001s', ' 1s', '']) {
    it(`"${bad}" is no Duration`, () => assert.throws(() => durationMs(bad), /not a Google JSON Duration/));
  }
  it('formats the shortest form', () => {
    assert.deepEqual([300_000, 1500, 1, 90_000.5].map(formatDuration), ['300s', '1.5s', '0.001s', '90.0005s']);
  });
});

describe('parsePolicyText: a strategy name or a JSON policy', () => {
  const rows: Array<{name: string; input: string; want: unknown}> = [
    {name: 'a strategy name', input: 'canary', want: {strategy: 'canary'}},
    {name: 'with spaces around', input: ' verified ', want: {strategy: 'verified'}},
    {name: 'partial JSON', input: '{"steps": [25, 100]}', want: {steps: [25, 100]}},
    {name: 'an unknown word', input: 'Canary', want: /neither a strategy/},
    {name: 'broken JSON', input: '{"steps": [25, 100}', want: /not valid JSON/},
    {name: 'a bad field', input: '{"steps": [25]}', want: /steps\[0\]: the last step must be 100/},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = parsePolicyText(r.input);
      if (r.want instanceof RegExp) {
        assert.equal(got.ok, false);
        if (!got.ok) assert.match(got.problems.map((p) => `${p.field}: ${p.problem}`).join('; '), r.want);
      } else assert.deepEqual(got, {ok: true, policy: r.want});
    });
  }
});
