/**
 * The rollout decisions as table tests: state, clock and what a step saw in, next traffic out,
 * with the "already there → no-op" rows; the traffic plans; the step lock.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {describeDurationMs} from '../../src/releases/duration';
import {decideDeployLease, decideFinishDeploy} from '../../src/releases/decisions';
import {eventKey, newRelease, unpublished, type Release, type State} from '../../src/releases/release';
import {
  applyControl,
  applyStep,
  controlProblem,
  decideStep,
  isRolloutTag,
  judgeMetrics,
  nextStep,
  startRollout,
  stepNeeds,
  withIntent,
  type HttpCheckResult,
  type StepMetrics,
} from '../../src/releases/rollout';
import {decideFinishStep, decideStepLease} from '../../src/releases/rollout-lease';
import {DEFAULT_POLICY, type RolloutPolicy} from '../../src/releases/rollout-policy';
import {noTrafficTagged, planTraffic, sameTraffic, splitTraffic} from '../../src/releases/rollout-traffic';
import {releaseStatusMessage} from '../../src/releases/status-event';
import {planDeploy, type RunService} from '../../src/releases/service-spec';
import {latestIsUnsafe, releaseRevision} from '../../src/releases/traffic-safety';

const T0 = new Date('2026-12-01T09:00:00Z');
const S = 1000;
const CANARY: RolloutPolicy = {...DEFAULT_POLICY, strategy: 'canary', steps: [10, 50, 100], interval: '60s'};
const VERIFIED: RolloutPolicy = {...DEFAULT_POLICY, strategy: 'verified'};
const PASS: HttpCheckResult = {ok: true, status: 200, attempts: 1, detail: 'GET /healthz answered 200'};
const FAIL: HttpCheckResult = {ok: false, status: 500, attempts: 3, detail: 'GET /healthz answered 500, not 200 (3 attempts)'};
const QUIET: StepMetrics = {requests: 3, errors5xx: 0, p99Ms: 20};
const GOOD: StepMetrics = {requests: 200, errors5xx: 1, p99Ms: 80};
const ERRORS: StepMetrics = {requests: 200, errors5xx: 30, p99Ms: 80};
const SLOW: StepMetrics = {requests: 200, errors5xx: 0, p99Ms: 4000};

function rolling(state: State, traffic: number, policy = CANARY, extra: Partial<Release> = {}, stepTime = T0): Release {
  const base = newRelease({service: 'hello', release: 3, trigger: 'upload', actor: 'test'}, T0);
  const rollout = {...startRollout(policy, 3, {release: 2, revision: 'hello-00002-abc'}, stepTime, 'http://v3.local'), traffic};
  return {...base, state, revision: 'hello-00003-xyz', url: 'http://hello.local', rollout, ...extra};
}

const at = (ms: number) => new Date(T0.getTime() + ms);

describe('stepNeeds: what a step looks at', () => {
  const rows: Array<{name: string; r: Release; now: Date; want: ReturnType<typeof stepNeeds>}> = [
    {name: 'verifying → the HTTP check only', r: rolling('verifying', 0), now: at(0), want: {http: true, metrics: false}},
    {
      name: 'in a step, interval not over → metrics only',
      r: rolling('rolling_out', 10),
      now: at(30 * S),
      want: {http: false, metrics: true},
    },
    {name: 'interval over → check and metrics', r: rolling('rolling_out', 10), now: at(60 * S), want: {http: true, metrics: true}},
    {
      name: 'paused → metrics only (a bad figure still rolls back), no check',
      r: rolling('rolling_out', 10, CANARY, {}, T0),
      now: at(120 * S),
      want: {http: false, metrics: true},
    },
    {name: 'deployed (already done) → nothing', r: rolling('deployed', 100), now: at(0), want: {http: false, metrics: false}},
  ];
  rows[3].r = applyControl(rows[3].r, 'pause', 'user:op@example.com', at(S));
  for (const row of rows) it(row.name, () => assert.deepEqual(stepNeeds(row.r, row.now), row.want));
});

describe('decideStep: the next traffic split', () => {
  const rows: Array<{
    name: string;
    r: Release;
    now: Date;
    seen: Parameters<typeof decideStep>[2];
    want: string;
    percent?: number;
    code?: string;
  }> = [
    {
      name: 'verified: check passes → 100 %',
      r: rolling('verifying', 0, VERIFIED),
      now: at(0),
      seen: {http: PASS},
      want: 'traffic',
      percent: 100,
    },
    {name: 'canary: check passes → first step', r: rolling('verifying', 0), now: at(0), seen: {http: PASS}, want: 'traffic', percent: 10},
    {
      name: 'check fails while verifying → rollback',
      r: rolling('verifying', 0),
      now: at(0),
      seen: {http: FAIL},
      want: 'rollback',
      code: 'CHECK_FAILED',
    },
    {
      name: 'step 10 %, interval not over, metrics fine → wait',
      r: rolling('rolling_out', 10),
      now: at(30 * S),
      seen: {metrics: GOOD},
      want: 'wait',
    },
    {
      name: 'step 10 %, error ratio over the threshold → rollback at once',
      r: rolling('rolling_out', 10),
      now: at(30 * S),
      seen: {metrics: ERRORS},
      want: 'rollback',
      code: 'THRESHOLD_EXCEEDED',
    },
    {
      name: 'step 50 %, p99 over the threshold → rollback',
      r: rolling('rolling_out', 50),
      now: at(30 * S),
      seen: {metrics: SLOW},
      want: 'rollback',
      code: 'THRESHOLD_EXCEEDED',
    },
    {
      name: 'too few requests to judge, interval over, check passes → next step',
      r: rolling('rolling_out', 10),
      now: at(60 * S),
      seen: {http: PASS, metrics: QUIET},
      want: 'traffic',
      percent: 50,
    },
    {
      name: 'last step before 100 → 100',
      r: rolling('rolling_out', 50),
      now: at(60 * S),
      seen: {http: PASS, metrics: GOOD},
      want: 'traffic',
      percent: 100,
    },
    {
      name: 'interval over but the check fails → rollback',
      r: rolling('rolling_out', 50),
      now: at(60 * S),
      seen: {http: FAIL, metrics: GOOD},
      want: 'rollback',
      code: 'CHECK_FAILED',
    },
    {name: 'already deployed → none (no-op)', r: rolling('deployed', 100), now: at(0), seen: {}, want: 'none'},
    {name: 'already rolled back → none (no-op)', r: rolling('rolled_back', 0), now: at(0), seen: {}, want: 'none'},
  ];
  for (const row of rows) {
    it(row.name, () => {
      const d = decideStep(row.r, row.now, row.seen);
      assert.equal(d.kind, row.want, JSON.stringify(d));
      if (d.kind === 'traffic') assert.equal(d.percent, row.percent);
      if (d.kind === 'rollback') assert.equal(d.error.code, row.code);
    });
  }

  it('a rollback names the figures', () => {
    const d = decideStep(rolling('rolling_out', 10), at(S), {metrics: ERRORS});
    assert.equal(d.kind, 'rollback');
    if (d.kind === 'rollback')
      assert.match(d.error.message, /at 10% of traffic, 30 of 200 requests answered 5xx \(15%\), p99 80 ms: above the 5xx ratio of 1%/);
  });

  it('operator actions come first: abort rolls back, promote goes to 100 %, pause waits', () => {
    const r = rolling('rolling_out', 10);
    const aborted = decideStep(applyControl(r, 'abort', 'user:a@example.com', at(S)), at(S), {});
    assert.equal(aborted.kind, 'rollback');
    if (aborted.kind === 'rollback') assert.match(aborted.error.message, /aborted by user:a@example.com/);
    const promoted = decideStep(applyControl(r, 'promote', 'user:a@example.com', at(S)), at(S), {});
    assert.deepEqual(promoted.kind === 'traffic' && promoted.percent, 100);
    assert.equal(decideStep(applyControl(r, 'pause', 'user:a@example.com', at(S)), at(120 * S), {}).kind, 'wait');
  });
});

describe('applyStep: the release after a step', () => {
  it('verifying → rolling_out at the first step, one history entry and event per step', () => {
    const r = rolling('verifying', 0);
    const s1 = applyStep(r, decideStep(r, at(0), {http: PASS}), at(0));
    assert.equal(s1.state, 'rolling_out');
    assert.equal(s1.rollout?.traffic, 10);
    const s2 = applyStep(s1, decideStep(s1, at(60 * S), {http: PASS, metrics: GOOD}), at(60 * S));
    assert.equal(s2.rollout?.traffic, 50);
    assert.deepEqual(s2.history.filter((h) => h.state === 'rolling_out').map(eventKey), ['rolling_out@10', 'rolling_out@50']);
    const s3 = applyStep(s2, decideStep(s2, at(120 * S), {http: PASS, metrics: GOOD}), at(120 * S));
    assert.equal(s3.state, 'deployed');
    assert.deepEqual(unpublished({...s3, published: ['accepted']}), ['rolling_out@10', 'rolling_out@50', 'deployed']);
    const events = unpublished(s3).map((k) => releaseStatusMessage(s3, k, {projectId: 'p', region: 'r'}));
    const traffic = events.map((m) => (JSON.parse(m.data.toString()) as {traffic?: number}).traffic);
    assert.deepEqual(traffic, [undefined, 10, 50, 100]);
    assert.equal(events[1].attributes['ce-id'], 'hello/3/rolling_out@10');
    assert.equal(events[1].attributes['ce-type'], 'dev.dropdeploy.release.v1.rolling_out');
  });

  it('a rollback ends rolled_back with the reason and traffic 0', () => {
    const r = rolling('rolling_out', 10);
    const out = applyStep(r, decideStep(r, at(S), {metrics: ERRORS}), at(S));
    assert.equal(out.state, 'rolled_back');
    assert.equal(out.error?.code, 'THRESHOLD_EXCEEDED');
    assert.equal(out.rollout?.traffic, 0);
    assert.equal(out.rollout?.lastCheck?.kind, 'metrics');
  });

  it('a wait with nothing new changes nothing (no-op), a wait with a new check records it', () => {
    const r = rolling('rolling_out', 10);
    assert.equal(applyStep(r, {kind: 'wait', reason: 'x'}, at(S)), r);
    const seen = applyStep(r, decideStep(r, at(S), {metrics: QUIET}), at(S));
    assert.match(seen.rollout?.lastCheck?.detail ?? '', /fewer than 50: not judged yet/);
    assert.equal(seen.state, 'rolling_out');
  });

  it('a repeated step to the same percent adds no second entry (already there)', () => {
    const r = rolling('rolling_out', 10);
    const once = applyStep(r, {kind: 'traffic', percent: 50, reason: 'x', checks: []}, at(S));
    const twice = applyStep(
      {...once, rollout: {...once.rollout!, traffic: 10}},
      {kind: 'traffic', percent: 50, reason: 'x', checks: []},
      at(2 * S),
    );
    assert.equal(twice.history.filter((h) => h.traffic === 50).length, 1);
  });
});

describe('operator controls', () => {
  const r = rolling('rolling_out', 10);
  it('pause, then pause again (no-op), then resume restarts the interval', () => {
    const paused = applyControl(r, 'pause', 'user:a@example.com', at(S));
    assert.deepEqual(paused.rollout?.paused, {by: 'user:a@example.com', time: at(S).toISOString()});
    assert.equal(applyControl(paused, 'pause', 'user:b@example.com', at(2 * S)), paused);
    const resumed = applyControl(paused, 'resume', 'user:a@example.com', at(90 * S));
    assert.equal(resumed.rollout?.paused, undefined);
    assert.equal(resumed.rollout?.stepTime, at(90 * S).toISOString());
    assert.deepEqual(
      resumed.rollout?.controls.map((c) => c.action),
      ['pause', 'resume'],
    );
  });
  it('refuses actions on a release not rolling out, naming its state', () => {
    assert.match(controlProblem(rolling('deployed', 100), 'promote') ?? '', /is deployed, not rolling out/);
    assert.equal(controlProblem(r, 'abort'), undefined);
    assert.match(controlProblem(applyControl(r, 'abort', 'x', at(S)), 'promote') ?? '', /already being aborted/);
  });
});

describe('thresholds and steps', () => {
  it('judges only with enough requests', () => {
    assert.equal(judgeMetrics(QUIET, CANARY.thresholds), undefined);
    assert.equal(judgeMetrics({requests: 0, errors5xx: 0}, {...CANARY.thresholds, minRequests: 0}), undefined);
    assert.equal(judgeMetrics(GOOD, CANARY.thresholds)?.ok, true);
    assert.equal(judgeMetrics(ERRORS, CANARY.thresholds)?.ok, false);
  });
  it('next step', () => {
    assert.equal(nextStep(CANARY, 0), 10);
    assert.equal(nextStep(CANARY, 10), 50);
    assert.equal(nextStep(CANARY, 50), 100);
    assert.equal(nextStep(VERIFIED, 0), 100);
  });
  it('rollout tags are v<release>', () => {
    assert.ok(isRolloutTag('rollout-v12'));
    // Names people give tags are never taken for a rollout's.
    for (const t of ['v12', 'rollout-v0', 'preview', undefined, 'rollout-v1a', 'canary']) assert.ok(!isRolloutTag(t), String(t));
  });
});

describe('durations', () => {
  it('reads for people', () => {
    assert.equal(describeDurationMs(850), '850 ms');
    assert.equal(describeDurationMs(12_000), '12 s');
    assert.equal(describeDurationMs(300_000), '5 min');
    assert.equal(describeDurationMs(5_400_000 + 60_000 * 60), '2 h 30 min');
  });
});

describe('rollout traffic', () => {
  const live: RunService = {
    name: 'projects/p/locations/r/services/hello',
    labels: {'dropdeploy-release': 'v3'},
    etag: 'e1',
    traffic: [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 100},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-r3', percent: 0, tag: 'rollout-v3'},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-aaa', percent: 0, tag: 'preview'},
    ],
  };
  it('a rollout starts with all traffic on the stable revision and the new one tagged; another rollout tag goes', () => {
    const withOld = {
      ...live,
      traffic: [...live.traffic!, {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'x', percent: 0, tag: 'rollout-v2'}],
    };
    assert.deepEqual(noTrafficTagged(withOld, 'hello-00002-abc', 'hello-r3', 'rollout-v3'), live.traffic);
  });
  it('a step splits between stable and new, keeping other tags at 0 %', () => {
    assert.deepEqual(splitTraffic(live, rolling('rolling_out', 10), 10), [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 90},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00003-xyz', percent: 10, tag: 'rollout-v3'},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-aaa', percent: 0, tag: 'preview'},
    ]);
    assert.deepEqual(splitTraffic(live, rolling('rolling_out', 50), 0)[0], {
      type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
      revision: 'hello-00002-abc',
      percent: 100,
    });
    assert.deepEqual(splitTraffic(live, rolling('rolling_out', 50), 100)[0], {
      type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
      revision: 'hello-00003-xyz',
      percent: 100,
    });
  });
  it('plans an update with the etag, or nothing when the live traffic is already there', () => {
    const r = rolling('rolling_out', 10);
    const plan = planTraffic(live, r, 10);
    assert.equal(plan.kind, 'update');
    if (plan.kind === 'update') {
      assert.equal(plan.spec.etag, 'e1');
      assert.deepEqual(planTraffic({...live, traffic: plan.spec.traffic}, r, 10), {kind: 'same'});
    }
    assert.ok(
      sameTraffic([{type: 1 as never, percent: 0, tag: 'a'}], [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 0, tag: 'a'}]),
    );
  });
  it('a newer release on the service supersedes; one changed by hand stops the rollout', () => {
    const r = rolling('rolling_out', 10);
    assert.deepEqual(planTraffic({...live, labels: {'dropdeploy-release': 'v4'}}, r, 50), {kind: 'superseded', by: 4});
    assert.throws(() => planTraffic({...live, labels: {}}, r, 50), /changed outside dropdeploy/);
    assert.throws(() => planTraffic(undefined, r, 50), /was deleted/);
  });
});

describe('the step lock and the end of a step', () => {
  const now = at(0);
  const rows: Array<{name: string; r: Release; svc: Parameters<typeof decideStepLease>[1]; want: string; superseded?: number}> = [
    {name: 'free → go', r: rolling('rolling_out', 10), svc: {deployed: 2, deployStarted: 3}, want: 'go'},
    {
      name: 'held by a live deploy → busy',
      r: rolling('rolling_out', 10),
      svc: {deployStarted: 3, lock: {release: 3, holder: 'x', until: now.getTime() + 1}},
      want: 'busy',
    },
    {
      name: 'an expired lock → go',
      r: rolling('rolling_out', 10),
      svc: {deployStarted: 3, lock: {release: 3, holder: 'x', until: now.getTime()}},
      want: 'go',
    },
    {
      name: 'a newer release started deploying → superseded',
      r: rolling('verifying', 0),
      svc: {deployed: 2, deployStarted: 4},
      want: 'done',
      superseded: 4,
    },
    {name: 'not rolling out (already deployed) → done, no write', r: rolling('deployed', 100), svc: {deployed: 3}, want: 'done'},
  ];
  for (const row of rows) {
    it(row.name, () => {
      const d = decideStepLease(row.r, row.svc, 'me', now, 60_000);
      assert.equal(d.kind, row.want);
      if (d.kind === 'done') {
        assert.equal(d.write, row.superseded !== undefined);
        if (row.superseded) assert.equal(d.release.supersededBy, row.superseded);
      }
    });
  }
  it('only the holder records; a rollout at 100 % becomes the deployed release', () => {
    const done = {...rolling('deployed', 100)};
    const mine = {deployed: 2, lock: {release: 3, holder: 'me', until: 0}};
    assert.deepEqual(decideFinishStep(done, {...mine, lock: {...mine.lock, holder: 'other'}}, 'me', now), {unlock: false});
    const d = decideFinishStep(done, mine, 'me', now);
    assert.equal(d.deployed?.release, 3);
    assert.equal(d.deployed?.revision, 'hello-00003-xyz');
    assert.equal(decideFinishStep(rolling('rolling_out', 50), mine, 'me', now).deployed, undefined);
  });
});

describe('deploy decisions with rollouts', () => {
  it('a deploy that tagged a no-traffic revision moves to verifying, not deployed', () => {
    const r = {...rolling('deploying', 0), rollout: undefined};
    const ro = startRollout(CANARY, 3, {release: 2, revision: 'hello-00002-abc'}, T0, 'http://v3.local');
    const d = decideFinishDeploy(
      r,
      {deployed: 2, lock: {release: 3, holder: 'me', until: 0}},
      {revision: 'hello-00003-xyz', rollout: ro},
      'me',
      T0,
    );
    assert.equal(d.release.state, 'verifying');
    assert.equal(d.deployed, undefined);
    assert.match(d.release.history.at(-1)?.reason ?? '', /ready with no traffic, tagged rollout-v3 at http:\/\/v3.local/);
  });
  it('a release rolling out is not deployed again; an older one behind it is superseded', () => {
    const inRollout = rolling('rolling_out', 10);
    assert.equal(decideDeployLease(inRollout, {deployStarted: 3}, 'img', 'me', T0, 60_000).kind, 'done');
    const older = {...newRelease({service: 'hello', release: 2, trigger: 'upload', actor: 't'}, T0), state: 'building' as const};
    const d = decideDeployLease(older, {deployStarted: 3}, 'img', 'me', T0, 60_000, inRollout);
    assert.equal(d.kind, 'done');
    if (d.kind === 'done') assert.equal(d.release.supersededBy, 3);
  });
});

describe('which revision a deploy targets (LATEST is the latest ready revision)', () => {
  const svc = (latest: string, serving: Array<[string, number]>): RunService => ({
    latestReadyRevision: `projects/p/locations/r/services/hello/revisions/${latest}`,
    trafficStatuses: serving.map(([revision, percent]) => ({revision, percent})),
  });
  const rows: Array<{name: string; input: RunService; want: boolean}> = [
    {name: 'the latest ready revision serves everything → LATEST is safe', input: svc('hello-2', [['hello-2', 100]]), want: false},
    {
      name: 'a canary at 10 % is the latest ready → by name',
      input: svc('hello-3', [
        ['hello-2', 90],
        ['hello-3', 10],
      ]),
      want: true,
    },
    {name: 'a rolled-back revision is the latest ready → by name', input: svc('hello-3', [['hello-2', 100]]), want: true},
    {name: 'nothing ready yet → LATEST', input: {}, want: false},
  ];
  for (const row of rows) it(row.name, () => assert.equal(latestIsUnsafe(row.input), row.want));

  it('an immediate deploy after a rolled-back canary names its revision and sends it all traffic by name', () => {
    const existing: RunService = {
      ...svc('hello-r3', [['hello-r2', 100]]),
      labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dd', 'dropdeploy-release': 'v3'},
      template: {containers: [{image: 'old'}]},
      traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-r2', percent: 100}],
    };
    const plan = planDeploy(existing, {ingress: 'INGRESS_TRAFFIC_ALL'} as never, {installation: 'dd', release: 4, image: 'new'}, 'hello');
    assert.equal(plan.kind, 'update');
    if (plan.kind === 'update') {
      assert.equal(plan.spec.template?.revision, 'hello-r4');
      assert.deepEqual(plan.spec.traffic, [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-r4', percent: 100}]);
    }
    assert.equal(releaseRevision('hello', 4), 'hello-r4');
  });
});

describe('write-ahead steps and pause', () => {
  it('a recorded intent is carried out again as it was decided (a crash after Cloud Run took it)', () => {
    const r = rolling('rolling_out', 50);
    const d = decideStep(r, at(60 * S), {http: PASS, metrics: GOOD});
    const recorded = withIntent(r, d);
    assert.deepEqual(recorded.rollout?.intent, {percent: 100, reason: 'checks passed at 50%'});
    assert.deepEqual(stepNeeds(recorded, at(61 * S)), {http: false, metrics: false});
    const again = decideStep(recorded, at(61 * S), {});
    assert.deepEqual(again.kind === 'traffic' && again.percent, 100);
    const done = applyStep(recorded, again, at(61 * S));
    assert.equal(done.state, 'deployed');
    assert.equal(done.rollout?.intent, undefined);
  });
  it('a recorded rollback is carried out again with its reason; an abort still wins over a recorded step', () => {
    const r = rolling('rolling_out', 10);
    const back = withIntent(r, decideStep(r, at(S), {metrics: ERRORS}));
    const again = decideStep(back, at(2 * S), {});
    assert.equal(again.kind === 'rollback' && again.error.code, 'THRESHOLD_EXCEEDED');
    const forward = withIntent(r, {kind: 'traffic', percent: 50, reason: 'x', checks: []});
    const aborted = decideStep(applyControl(forward, 'abort', 'user:a@example.com', at(S)), at(S), {});
    assert.equal(aborted.kind === 'rollback' && aborted.error.code, 'ROLLOUT_ABORTED');
  });
  it('a paused canary still watches its metrics and goes back on a bad figure', () => {
    const paused = applyControl(rolling('rolling_out', 50), 'pause', 'user:a@example.com', at(S));
    assert.deepEqual(stepNeeds(paused, at(600 * S)), {http: false, metrics: true});
    assert.equal(decideStep(paused, at(600 * S), {metrics: GOOD}).kind, 'wait');
    assert.equal(decideStep(paused, at(600 * S), {metrics: ERRORS}).kind, 'rollback');
  });
});
