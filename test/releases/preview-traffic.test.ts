import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {planPreview, planPreviewRemoval, previewRevisionRelease, type PreviewDeploy} from '../../src/releases/preview-traffic';
import type {RunService} from '../../src/releases/service-spec';

const REV = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
const IMAGE = 'europe-west1-docker.pkg.dev/p/r/web@sha256:' + 'b'.repeat(64);
const D: PreviewDeploy = {installation: 'dd', release: 9, image: IMAGE, name: 'pr-7'};

function live(traffic: RunService['traffic'], extra: Partial<RunService> = {}): RunService {
  return {
    name: 'projects/p/locations/l/services/web',
    etag: 'e1',
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dd', 'dropdeploy-release': 'v8'},
    template: {labels: {'dropdeploy-release': 'v8'}, containers: [{image: 'old', env: [{name: 'A', value: '1'}]}]},
    latestReadyRevision: 'projects/p/locations/l/services/web/revisions/web-00008-abc',
    traffic,
    ...extra,
  };
}

describe('planPreview', () => {
  const cases: Array<{name: string; existing: RunService; want: {kind: string; traffic?: unknown[]; by?: number}}> = [
    {
      name: 'LATEST 100 is pinned to the latest ready revision; the preview is tagged at 0',
      existing: live([{type: LATEST, percent: 100}]),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00008-abc', percent: 100},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
    {
      name: 'no traffic listed means LATEST 100 (Cloud Run default)',
      existing: live(undefined),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00008-abc', percent: 100},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
    {
      name: "a canary's split and its tag stay exactly; a verifying LATEST tag is pinned",
      existing: live([
        {type: REV, revision: 'web-00006-x', percent: 90},
        {type: REV, revision: 'web-00007-y', percent: 10, tag: 'v7'},
        {type: LATEST, percent: 0, tag: 'v8'},
        {type: REV, revision: 'web-p3', percent: 0, tag: 'docs'},
      ]),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00006-x', percent: 90},
          {type: REV, revision: 'web-00007-y', percent: 10, tag: 'v7'},
          {type: REV, revision: 'web-00008-abc', percent: 0, tag: 'v8'},
          {type: REV, revision: 'web-p3', percent: 0, tag: 'docs'},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
    {
      name: 'an older release of the preview: its tag moves (the old target goes)',
      existing: live([
        {type: LATEST, percent: 100},
        {type: REV, revision: 'web-p4', percent: 0, tag: 'pr-7'},
      ]),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00008-abc', percent: 100},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
    {
      name: 'the tag on a target someone gave traffic: the traffic stays, untagged',
      existing: live([
        {type: REV, revision: 'web-00008-abc', percent: 80},
        {type: REV, revision: 'web-p4', percent: 20, tag: 'pr-7'},
      ]),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00008-abc', percent: 80},
          {type: REV, revision: 'web-p4', percent: 20},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
    {
      name: 'already tagged on this release (a repeat after a crash): no-op',
      existing: live([
        {type: REV, revision: 'web-00008-abc', percent: 100},
        {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
      ]),
      want: {kind: 'same'},
    },
    {
      name: 'tagged on a newer release of the preview: superseded',
      existing: live([
        {type: LATEST, percent: 100},
        {type: REV, revision: 'web-p12', percent: 0, tag: 'pr-7'},
      ]),
      want: {kind: 'superseded', by: 12},
    },
    {
      name: 'a newer main-line release does not supersede a preview',
      existing: live([{type: LATEST, percent: 100}], {
        labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dd', 'dropdeploy-release': 'v20'},
      }),
      want: {
        kind: 'update',
        traffic: [
          {type: REV, revision: 'web-00008-abc', percent: 100},
          {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        ],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planPreview(c.existing, D, 'web');
      assert.equal(got.kind, c.want.kind);
      if (got.kind === 'superseded') assert.equal(got.by, c.want.by);
      if (got.kind !== 'update') return;
      assert.deepEqual(got.spec.traffic, c.want.traffic);
      assert.deepEqual(got.spec.labels, c.existing.labels, 'service labels (the main-line fence) stay');
      assert.equal(got.spec.etag, 'e1', 'fenced by the read');
      assert.equal(got.spec.template?.revision, 'web-p9');
      assert.equal(got.spec.template?.containers?.[0].image, IMAGE);
      assert.deepEqual(got.spec.template?.containers?.[0].env, [{name: 'A', value: '1'}]);
      assert.equal(got.spec.template?.labels?.['dropdeploy-release'], 'v9');
    });
  }
  it('refuses a service that does not exist yet, saying to deploy the main line first', () => {
    assert.throws(() => planPreview(undefined, D, 'web'), /upload web\/<file>\.tgz first/);
  });
  it('refuses a service this installation does not manage', () => {
    assert.throws(() => planPreview(live([], {labels: {}}), D, 'web'), /not managed by dropdeploy/);
  });
  it('refuses LATEST traffic with no ready revision to pin it to', () => {
    assert.throws(() => planPreview(live([{type: LATEST, percent: 100}], {latestReadyRevision: undefined}), D, 'web'), /no ready revision/);
  });
});

describe('planPreviewRemoval', () => {
  const cases: Array<{name: string; existing?: RunService; want: RunService['traffic'] | 'none'}> = [
    {
      name: 'the tag goes; everything else stays (LATEST not pinned: no new revision)',
      existing: live([
        {type: LATEST, percent: 100},
        {type: REV, revision: 'web-p9', percent: 0, tag: 'pr-7'},
        {type: REV, revision: 'web-p3', percent: 0, tag: 'docs'},
      ]),
      want: [
        {type: LATEST, percent: 100},
        {type: REV, revision: 'web-p3', percent: 0, tag: 'docs'},
      ],
    },
    {
      name: 'a tagged target with traffic keeps its traffic, untagged',
      existing: live([
        {type: REV, revision: 'a', percent: 50},
        {type: REV, revision: 'web-p9', percent: 50, tag: 'pr-7'},
      ]),
      want: [
        {type: REV, revision: 'a', percent: 50},
        {type: REV, revision: 'web-p9', percent: 50},
      ],
    },
    {name: 'no such tag (removed already): no-op', existing: live([{type: LATEST, percent: 100}]), want: 'none'},
    {name: 'no service: no-op', want: 'none'},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planPreviewRemoval(c.existing, 'pr-7');
      if (c.want === 'none') return assert.equal(got.kind, 'none');
      assert.equal(got.kind, 'update');
      if (got.kind === 'update') {
        assert.deepEqual(got.spec.traffic, c.want);
        assert.equal(got.spec.etag, 'e1');
      }
    });
  }
});

describe('previewRevisionRelease', () => {
  const cases: Array<{revision?: string; want?: number}> = [
    {revision: 'web-p9', want: 9},
    {revision: 'web-p0'},
    {revision: 'web-00009-abc'},
    {revision: 'other-p9'},
    {revision: 'web-p9x'},
    {},
  ];
  for (const c of cases)
    it(`${c.revision ?? '(none)'} → ${c.want ?? 'none'}`, () => assert.equal(previewRevisionRelease('web', c.revision), c.want));
});
