import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {lostBehind, nextStep, uploadCandidates} from '../../src/releases/reconcile-plan';
import {newRelease, type Release, type State} from '../../src/releases/release';

const T0 = new Date('2026-12-01T12:00:00Z');
const source = {bucket: 'b', object: 'hello/v1.zip', generation: '1'};

function at(state: State, extra: Partial<Release> = {}): Release {
  return {...newRelease({service: 'hello', release: 2, trigger: 'upload', actor: 'test'}, T0), state, ...extra};
}

describe('nextStep', () => {
  const rows: Array<{name: string; r: Release; want: ReturnType<typeof nextStep>['kind']; detail?: string}> = [
    {name: 'accepted upload → build', r: at('accepted', {source}), want: 'build'},
    {
      name: 'accepted rollback (has its image) → deploy, no build',
      r: at('accepted', {source, image: 'img@sha256:1', trigger: 'rollback'}),
      want: 'deploy',
    },
    {name: 'accepted with nothing to build or deploy → ended (rejected)', r: at('accepted'), want: 'fail'},
    {name: 'building → ask Cloud Build', r: at('building', {source, buildId: 'b-1'}), want: 'check-build'},
    {name: 'building without a build id → ended (build_failed)', r: at('building', {source}), want: 'fail'},
    {name: 'deploying without an image → ended (deploy_failed)', r: at('deploying'), want: 'fail'},
    {name: 'deploying → deploy again (the lease decides)', r: at('deploying', {image: 'img@sha256:1'}), want: 'deploy'},
    {name: 'deployed → none (already done)', r: at('deployed', {image: 'img@sha256:1'}), want: 'none'},
    {name: 'superseded → none (already done)', r: at('superseded'), want: 'none'},
  ];
  for (const r of rows) it(r.name, () => assert.equal(nextStep(r.r, T0).kind, r.want));
  it('names the build and the image it goes on with', () => {
    assert.deepEqual(nextStep(at('building', {buildId: 'b-9'}), T0), {kind: 'check-build', buildId: 'b-9'});
    assert.deepEqual(nextStep(at('deploying', {image: 'i@sha256:2'}), T0), {kind: 'deploy', image: 'i@sha256:2'});
  });
  it('an ended release says why, in a terminal state', () => {
    const step = nextStep(at('building', {source}), T0);
    assert.equal(step.kind === 'fail' && step.release.state, 'build_failed');
    assert.match(step.kind === 'fail' ? step.release.error!.message : '', /records no build id; nothing can move it on/);
  });
});

describe('uploadCandidates', () => {
  const ago = (s: number) => new Date(T0.getTime() - s * 1000).toISOString();
  const opts = {graceMs: 60_000, lookbackMs: 3_600_000, prefix: '', controllerServices: ['dropdeploy-api']};
  const rows: Array<{name: string; obj: {name: string; timeCreated?: string; metadata?: Record<string, string>}; want: boolean}> = [
    {name: 'a source created 5 minutes ago → a candidate', obj: {name: 'hello/v1.zip', timeCreated: ago(300)}, want: true},
    {name: 'created inside the grace period → left to its event', obj: {name: 'hello/v2.zip', timeCreated: ago(10)}, want: false},
    {name: 'older than the look-back → left alone', obj: {name: 'hello/v0.zip', timeCreated: ago(7200)}, want: false},
    {name: 'not an archive → ignored', obj: {name: 'hello/readme.txt', timeCreated: ago(300)}, want: false},
    {name: 'an invalid service name → not claimed (its event rejects it)', obj: {name: 'Hello/v1.zip', timeCreated: ago(300)}, want: false},
    {name: "the controller's own function → never", obj: {name: 'dropdeploy-api/x.tgz', timeCreated: ago(300)}, want: false},
    {name: 'no creation time → not judged', obj: {name: 'hello/v3.zip'}, want: false},
    {
      name: 'a function source → a candidate',
      obj: {name: 'fn/v1.zip', timeCreated: ago(300), metadata: {'function-target': 'hello'}},
      want: true,
    },
    {
      name: 'metadata its event would reject → left out (a rejection records nothing to stop the next run)',
      obj: {name: 'fn/v2.zip', timeCreated: ago(300), metadata: {'function-signature-type': 'http'}},
      want: false,
    },
    {
      name: 'a rollout override its event would reject → left out',
      obj: {name: 'web/v2.zip', timeCreated: ago(300), metadata: {'dropdeploy-rollout': 'fast'}},
      want: false,
    },
    {
      name: 'a good rollout override → a candidate',
      obj: {name: 'web/v3.zip', timeCreated: ago(300), metadata: {'dropdeploy-rollout': 'canary'}},
      want: true,
    },
  ];
  for (const r of rows) it(r.name, () => assert.equal(uploadCandidates([{metadata: {}, ...r.obj}], T0, opts).length, r.want ? 1 : 0));
  it('honours the object prefix', () => {
    assert.equal(
      uploadCandidates(
        [
          {name: 'deploy/hello/v1.zip', timeCreated: ago(300), metadata: {}},
          {name: 'hello/v1.zip', timeCreated: ago(300), metadata: {}},
        ],
        T0,
        {...opts, prefix: 'deploy/'},
      ).length,
      1,
    );
  });
  it('oldest first (not in name order: v10 sorts before v9), with the service named', () => {
    const got = uploadCandidates(
      [
        {name: 'hello/v9.zip', timeCreated: ago(400), metadata: {}},
        {name: 'hello/v10.zip', timeCreated: ago(300), metadata: {}},
      ],
      T0,
      opts,
    );
    assert.deepEqual(
      got.map((o) => [o.name, o.service]),
      [
        ['hello/v9.zip', 'hello'],
        ['hello/v10.zip', 'hello'],
      ],
    );
  });
});

describe('lostBehind', () => {
  const upload = (created: string, accepted: string) => ({
    release: 5,
    trigger: 'upload' as const,
    createTime: accepted,
    source: {...source, timeCreated: created},
  });
  const rows: Array<{name: string; lost: string; newest?: Parameters<typeof lostBehind>[1]; want?: number}> = [
    {
      name: "uploaded before the newest release's upload → behind it",
      lost: '2026-12-01T12:00:00Z',
      newest: upload('2026-12-01T12:00:30Z', '2026-12-01T12:00:31Z'),
      want: 5,
    },
    {
      name: 'uploaded after it → not behind (it is the newest now)',
      lost: '2026-12-01T12:02:00Z',
      newest: upload('2026-12-01T12:01:00Z', '2026-12-01T12:01:01Z'),
    },
    {
      name: 'uploaded after an older upload whose release was only made later → not behind',
      lost: '2026-12-01T12:00:00Z',
      newest: upload('2026-12-01T11:59:59Z', '2026-12-01T12:00:05Z'),
    },
    {
      name: 'an upload release without its upload time (older store): its acceptance time counts',
      lost: '2026-12-01T12:00:00Z',
      newest: {release: 5, trigger: 'upload', createTime: '2026-12-01T12:00:05Z', source},
      want: 5,
    },
    {
      name: "an operator's later rollback is ahead, whatever it redeployed",
      lost: '2026-12-01T12:03:00Z',
      newest: {
        release: 5,
        trigger: 'rollback',
        createTime: '2026-12-01T12:05:00Z',
        source: {...source, timeCreated: '2026-12-01T11:00:00Z'},
      },
      want: 5,
    },
    {name: 'a service with no release yet: nothing is ahead', lost: '2026-12-01T12:00:00Z'},
  ];
  for (const r of rows) it(r.name, () => assert.equal(lostBehind(r.lost, r.newest), r.want));
});
