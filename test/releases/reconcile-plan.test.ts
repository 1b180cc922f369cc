import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {nextStep, uploadCandidates} from '../../src/releases/reconcile-plan';
import {newRelease, type Release, type State} from '../../src/releases/release';

const T0 = new Date('2026-12-01T12:00:00Z');
const source = {bucket: 'b', object: 'hello/v1.zip', generation: '1'};

function at(state: State, extra: Partial<Release> = {}): Release {
  return {...newRelease({service: 'hello', release: 2, trigger: 'upload', actor: 'test'}, T0), state, ...extra};
}

describe('nextStep', () => {
  const rows: Array<{name: string; r: Release; want: ReturnType<typeof nextStep>['kind']; detail?: string}> = [
    {name: 'accepted upload → build', r: at('accepted', {source}), want: 'build'},
    {name: 'accepted rollback (has its image) → deploy, no build', r: at('accepted', {source, image: 'img@sha256:1', trigger: 'rollback'}), want: 'deploy'},
    {name: 'accepted with nothing → none', r: at('accepted'), want: 'none'},
    {name: 'building → ask Cloud Build', r: at('building', {source, buildId: 'b-1'}), want: 'check-build'},
    {name: 'building without a build id → none', r: at('building', {source}), want: 'none'},
    {name: 'deploying → deploy again (the lease decides)', r: at('deploying', {image: 'img@sha256:1'}), want: 'deploy'},
    {name: 'deployed → none (already done)', r: at('deployed', {image: 'img@sha256:1'}), want: 'none'},
    {name: 'superseded → none (already done)', r: at('superseded'), want: 'none'},
  ];
  for (const r of rows) it(r.name, () => assert.equal(nextStep(r.r).kind, r.want));
  it('names the build and the image it goes on with', () => {
    assert.deepEqual(nextStep(at('building', {buildId: 'b-9'})), {kind: 'check-build', buildId: 'b-9'});
    assert.deepEqual(nextStep(at('deploying', {image: 'i@sha256:2'})), {kind: 'deploy', image: 'i@sha256:2'});
  });
});

describe('uploadCandidates', () => {
  const ago = (s: number) => new Date(T0.getTime() - s * 1000).toISOString();
  const opts = {graceMs: 60_000, lookbackMs: 3_600_000, prefix: '', controllerServices: ['dropdeploy-api']};
  const rows: Array<{name: string; obj: {name: string; timeCreated?: string}; want: boolean}> = [
    {name: 'a source created 5 minutes ago → a candidate', obj: {name: 'hello/v1.zip', timeCreated: ago(300)}, want: true},
    {name: 'created inside the grace period → left to its event', obj: {name: 'hello/v2.zip', timeCreated: ago(10)}, want: false},
    {name: 'older than the look-back → left alone', obj: {name: 'hello/v0.zip', timeCreated: ago(7200)}, want: false},
    {name: 'not an archive → ignored', obj: {name: 'hello/readme.txt', timeCreated: ago(300)}, want: false},
    {name: 'an invalid service name → not claimed (its event rejects it)', obj: {name: 'Hello/v1.zip', timeCreated: ago(300)}, want: false},
    {name: 'the controller\'s own function → never', obj: {name: 'dropdeploy-api/x.tgz', timeCreated: ago(300)}, want: false},
    {name: 'no creation time → not judged', obj: {name: 'hello/v3.zip'}, want: false},
  ];
  for (const r of rows) it(r.name, () => assert.equal(uploadCandidates([r.obj], T0, opts).length, r.want ? 1 : 0));
  it('honours the object prefix', () => {
    assert.equal(uploadCandidates([{name: 'deploy/hello/v1.zip', timeCreated: ago(300)}, {name: 'hello/v1.zip', timeCreated: ago(300)}], T0, {...opts, prefix: 'deploy/'}).length, 1);
  });
});
