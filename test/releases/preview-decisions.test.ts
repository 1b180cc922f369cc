import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import type {DeployLock} from '../../src/releases/decisions';
import {
  claimedPreview,
  decideFinishPreview,
  decidePreviewLease,
  decidePreviewRemoval,
  listedPreviews,
  removedPreview,
  type PreviewState,
} from '../../src/releases/preview-decisions';
import {newRelease, type Release, type State} from '../../src/releases/release';

const NOW = new Date('2026-01-01T00:00:00Z');
const LEASE = 60_000;

function rel(n: number, state: State = 'building'): Release {
  const r = newRelease({service: 'web', release: n, trigger: 'upload', actor: 'a', preview: {name: 'pr-7'}}, NOW);
  return {...r, state};
}
const lock = (holder: string, until = NOW.getTime() + 1000, release = 3): DeployLock => ({holder, until, release});

describe('decidePreviewLease', () => {
  const cases: Array<{
    name: string;
    r: Release;
    lock?: DeployLock;
    p?: PreviewState;
    want: {kind: string; state?: string; supersededBy?: number; started?: number};
  }> = [
    {name: 'first deploy of the preview: go', r: rel(5), want: {kind: 'go', state: 'deploying', started: 5}},
    {name: 'the main line deployed v20: still go (never superseded by it)', r: rel(5), p: {latest: 5}, want: {kind: 'go', started: 5}},
    {
      name: 'a newer release of the preview started: superseded',
      r: rel(5),
      p: {latest: 7, started: 7},
      want: {kind: 'done', state: 'superseded', supersededBy: 7},
    },
    {
      name: 'a newer release of the preview serves: superseded',
      r: rel(5),
      p: {latest: 7, release: 7},
      want: {kind: 'done', state: 'superseded', supersededBy: 7},
    },
    {
      name: 'removed after this release was claimed: superseded by the removal',
      r: rel(5),
      p: {latest: 5, removed: {through: 5, time: 't', actor: 'x'}},
      want: {kind: 'done', state: 'superseded'},
    },
    {name: 'claimed after a removal: go', r: rel(6), p: {latest: 6, removed: {through: 5, time: 't', actor: 'x'}}, want: {kind: 'go'}},
    {name: 'another deploy of the service holds the lock: busy', r: rel(5), lock: lock('other'), want: {kind: 'busy'}},
    {name: "another's expired lock: go", r: rel(5), lock: lock('other', NOW.getTime() - 1), want: {kind: 'go'}},
    {name: 'own lock (a repeat): go', r: rel(5), lock: lock('me'), want: {kind: 'go'}},
    {name: 'already deployed: done, nothing written (no-op)', r: rel(5, 'deployed'), want: {kind: 'done', state: 'deployed'}},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = decidePreviewLease(c.r, c.lock, c.p, 'img', 'me', NOW, LEASE);
      assert.equal(got.kind, c.want.kind);
      if (got.kind === 'done') {
        assert.equal(got.release.state, c.want.state);
        assert.equal(got.write, c.want.state !== c.r.state);
        if (c.want.supersededBy) assert.equal(got.release.supersededBy, c.want.supersededBy);
      }
      if (got.kind === 'go') {
        assert.equal(got.lock.holder, 'me');
        assert.equal(got.release.state, 'deploying');
        if (c.want.started) assert.equal(got.preview.started, c.want.started);
      }
    });
  }
});

describe('decideFinishPreview', () => {
  const deploying = rel(5, 'deploying');
  it('success: deployed with the preview URL; the preview moves to it; the lock goes', () => {
    const got = decideFinishPreview(
      deploying,
      lock('me'),
      {latest: 5, started: 5, release: 2, url: 'u2'},
      {revision: 'web-p5', url: 'u'},
      'me',
      NOW,
    );
    assert.equal(got.release.state, 'deployed');
    assert.deepEqual(got.release.preview, {name: 'pr-7', url: 'u'});
    assert.equal(got.release.url, 'u');
    assert.match(got.release.history.at(-1)!.reason!, /preview "pr-7" at u, with no traffic/);
    assert.equal(got.preview?.release, 5);
    assert.equal(got.preview?.url, 'u');
    assert.equal(got.unlock, true);
  });
  it('success after a newer one of the preview moved it: recorded, the preview stays on the newer', () => {
    const got = decideFinishPreview(deploying, lock('me'), {latest: 7, release: 7}, {revision: 'web-p5', url: 'u'}, 'me', NOW);
    assert.equal(got.release.state, 'deployed');
    assert.equal(got.preview, undefined);
  });
  it('failure from the holder: deploy_failed', () => {
    const got = decideFinishPreview(deploying, lock('me'), {latest: 5}, {error: {code: 'X', message: 'm'}}, 'me', NOW);
    assert.equal(got.release.state, 'deploy_failed');
  });
  it('failure after the lock was taken over: nothing recorded, the lock is not ours to free', () => {
    const got = decideFinishPreview(deploying, lock('other'), {latest: 5}, {error: {code: 'X', message: 'm'}}, 'me', NOW);
    assert.equal(got.release.state, 'deploying');
    assert.equal(got.unlock, false);
  });
  it('superseded by a newer release of the preview seen on Cloud Run', () => {
    const got = decideFinishPreview(deploying, lock('me'), {latest: 8}, {supersededBy: 8}, 'me', NOW);
    assert.equal(got.release.state, 'superseded');
  });
});

describe('decidePreviewRemoval', () => {
  const removed = {through: 5, time: 't', actor: 'x'};
  const cases: Array<{name: string; p?: PreviewState; lock?: DeployLock; generation?: string; want: string}> = [
    {name: 'unknown preview: unknown (a no-op)', want: 'unknown'},
    {name: 'a live preview: go', p: {latest: 5, generation: '100'}, want: 'go'},
    {name: 'the deleted generation is the newest: go', p: {latest: 5, generation: '100'}, generation: '100', want: 'go'},
    {name: 'an overwritten generation was deleted: kept', p: {latest: 5, generation: '200'}, generation: '100', want: 'kept'},
    {name: 'removed already: done (a no-op)', p: {latest: 5, removed}, want: 'done'},
    {name: 'removed, then uploaded again: go', p: {latest: 6, removed}, want: 'go'},
    {name: 'a deploy of the service holds the lock: busy', p: {latest: 5}, lock: lock('other'), want: 'busy'},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = decidePreviewRemoval(c.p, c.lock, 'me', NOW, LEASE, c.generation);
      assert.equal(got.kind, c.want);
      if (got.kind === 'go') assert.equal(got.through, c.p!.latest);
    });
  }
});

describe('preview bookkeeping', () => {
  it('a claim raises latest and records its generation; an older claim changes nothing', () => {
    assert.deepEqual(claimedPreview(undefined, 3, '10'), {latest: 3, generation: '10'});
    const p = {latest: 5, generation: '20'};
    assert.equal(claimedPreview(p, 4, '15'), p);
    assert.equal(claimedPreview(p, 5, '20'), p);
  });
  it('a removal drops the URL and keeps what it served', () => {
    const got = removedPreview({latest: 5, release: 5, revision: 'web-p5', url: 'u'}, 5, 'api', NOW);
    assert.deepEqual(got, {latest: 5, release: 5, revision: 'web-p5', removed: {through: 5, time: NOW.toISOString(), actor: 'api'}});
  });
  it('lists live previews by name, a removed one not, a re-uploaded one without the old URL', () => {
    const got = listedPreviews({
      zeta: {latest: 4},
      gone: {latest: 2, release: 2, removed: {through: 2, time: 't', actor: 'x'}},
      alpha: {latest: 6, release: 6, revision: 'web-p6', url: 'u', time: 't'},
      again: {latest: 9, release: 3, revision: 'web-p3', removed: {through: 3, time: 't', actor: 'x'}},
    });
    assert.deepEqual(got, [
      {name: 'again', latestRelease: 9},
      {name: 'alpha', latestRelease: 6, release: 6, revision: 'web-p6', url: 'u', time: 't'},
      {name: 'zeta', latestRelease: 4},
    ]);
  });
});
