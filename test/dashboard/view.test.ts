/**
 * The dashboard's view model: the API's JSON in, what the page shows and offers out.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import type {releaseView as apiReleaseView} from '../../src/http/api';
import type {ServiceSummary} from '../../src/ports';
import type {PreviewView} from '../../src/releases/preview-decisions';
import {
  ago,
  announcements,
  digestOf,
  errorMessage,
  releaseActions,
  releaseView,
  safeHttpUrl,
  serviceOfHash,
  serviceView,
  shortDigest,
  targetsView,
  toneOf,
  type PreviewJson,
  type ReleaseJson,
  type ServiceJson,
  type TargetJson,
  type TargetView,
} from '../../src/dashboard/view';

const DIGEST = 'sha256:479dc4c778340b6481f75d49439f4fc38362951d59570dece38940d2350df01f';
const IMAGE = `europe-west1-docker.pkg.dev/p/dropdeploy/web@${DIGEST}`;

function rel(release: number, state: string, extra: Partial<ReleaseJson> = {}): ReleaseJson {
  return {
    service: 'web',
    release,
    state,
    trigger: 'upload',
    actor: `gs://src/web/v${release}.tgz#${release}00`,
    source: {bucket: 'src', object: `web/v${release}.tgz`, generation: `${release}00`},
    createTime: `2026-12-03T10:0${release}:00.000Z`,
    updateTime: `2026-12-03T10:0${release}:30.000Z`,
    history: [{state: 'accepted', time: `2026-12-03T10:0${release}:00.000Z`}],
    ...(state === 'deployed' ? {image: IMAGE, revision: `web-0000${release}`, url: 'https://web-abc.a.run.app'} : {}),
    ...extra,
  };
}

// The API's release (minus its bookkeeping), service and preview must stay readable as the page
// reads them (the page is a program of its own, so it declares them again): a field renamed or
// retyped in the controller fails this compile.
const _apiReleasesFit = (r: ReturnType<typeof apiReleaseView>): ReleaseJson => r;
const _apiServicesFit = (s: ServiceSummary): ServiceJson => s;
const _apiPreviewsFit = (p: PreviewView): PreviewJson => p;
void [_apiReleasesFit, _apiServicesFit, _apiPreviewsFit];

describe('dashboard view: states and values', () => {
  const tones = [
    {state: 'accepted', want: 'progress'},
    {state: 'building', want: 'progress'},
    {state: 'verifying', want: 'progress'},
    {state: 'rolling_out', want: 'progress'},
    {state: 'deployed', want: 'ok'},
    {state: 'build_failed', want: 'failed'},
    {state: 'deploy_failed', want: 'failed'},
    {state: 'rejected', want: 'failed'},
    {state: 'rolled_back', want: 'failed'},
    {state: 'superseded', want: 'neutral'},
  ];
  for (const t of tones) it(`${t.state} is ${t.want}`, () => assert.equal(toneOf(t.state), t.want));

  const urls = [
    {name: 'https', input: 'https://web-abc.a.run.app', want: 'https://web-abc.a.run.app/'},
    {name: 'http on loopback', input: 'http://127.0.0.1:4000/x?y=1', want: 'http://127.0.0.1:4000/x?y=1'},
    {name: 'javascript: is no link', input: 'javascript:alert(1)', want: undefined},
    {name: 'data: is no link', input: 'data:text/html,<script>alert(1)</script>', want: undefined},
    {name: 'not a URL', input: 'web-abc', want: undefined},
    {name: 'none', input: undefined, want: undefined},
  ];
  for (const u of urls) it(`safeHttpUrl: ${u.name}`, () => assert.equal(safeHttpUrl(u.input), u.want));

  it('digests: of an image by digest, none of a tag; cut to 12 hex digits', () => {
    assert.equal(digestOf(IMAGE), DIGEST);
    assert.equal(digestOf('europe-west1-docker.pkg.dev/p/r/web:v3'), undefined);
    assert.equal(shortDigest(DIGEST), 'sha256:479dc4c77834');
    assert.equal(shortDigest('md5:xyz'), 'md5:xyz');
  });

  const agos = [
    {iso: '2026-12-03T10:00:00Z', want: '0 s ago'},
    {iso: '2026-12-03T09:59:15Z', want: '45 s ago'},
    {iso: '2026-12-03T09:55:00Z', want: '5 min ago'},
    {iso: '2026-12-03T07:00:00Z', want: '3 h ago'},
    {iso: '2026-11-30T10:00:00Z', want: '3 d ago'},
    {iso: '2026-12-03T10:00:05Z', want: '0 s ago'},
    {iso: 'yesterday', want: 'yesterday'},
  ];
  for (const a of agos) it(`ago(${a.iso}) = ${a.want}`, () => assert.equal(ago(a.iso, new Date('2026-12-03T10:00:00Z')), a.want));

  it('an API error answer gives its message; anything else says what came back', () => {
    assert.equal(
      errorMessage(409, {error: {code: 409, status: 'FAILED_PRECONDITION', message: 'v2 was never deployed'}}),
      '409: v2 was never deployed',
    );
    assert.equal(errorMessage(502, 'Bad gateway'), 'the API answered 502 without an error message');
    assert.equal(errorMessage(500, null), 'the API answered 500 without an error message');
  });
});

describe('dashboard view: the service a link names', () => {
  const rows: Array<[string, string | undefined]> = [
    ['#web', 'web'],
    ['web', 'web'],
    ['', undefined],
    ['#', undefined],
    ['#my%2Dservice', 'my-service'],
    // A hand-made link that is not valid percent-encoding shows the first service, not an error on every poll.
    ['#%E0', undefined],
    ['#%', undefined],
  ];
  for (const [hash, want] of rows) it(`${JSON.stringify(hash)} → ${String(want)}`, () => assert.equal(serviceOfHash(hash), want));
});

describe('dashboard view: actions offered', () => {
  const kinds = (r: ReleaseJson, serving?: number) => releaseActions(r, serving).map((a) => a.kind);
  const rollout = (extra: Partial<NonNullable<ReleaseJson['rollout']>> = {}): ReleaseJson['rollout'] => ({
    policy: {strategy: 'canary'},
    traffic: 10,
    stable: {release: 2, revision: 'web-00002'},
    ...extra,
  });
  const rows: Array<{name: string; r: ReleaseJson; serving?: number; want: string[]}> = [
    {name: 'a deployed release that does not serve: roll back to it', r: rel(2, 'deployed'), serving: 3, want: ['rollback']},
    {name: 'the serving release: nothing (already there)', r: rel(3, 'deployed'), serving: 3, want: []},
    {name: 'a failed build: nothing (no image)', r: rel(4, 'build_failed'), serving: 3, want: []},
    {name: 'superseded: nothing (never deployed)', r: rel(4, 'superseded', {image: IMAGE}), serving: 3, want: []},
    {name: 'a deployed preview: no rollback onto the main URL', r: rel(5, 'deployed', {preview: {name: 'pr-1'}}), serving: 3, want: []},
    {name: 'in progress: nothing yet', r: rel(6, 'building'), serving: 3, want: []},
    {
      name: 'rolling out: promote, abort, pause',
      r: rel(7, 'rolling_out', {rollout: rollout()}),
      serving: 2,
      want: ['promote', 'abort', 'pause'],
    },
    {
      name: 'verifying: the same',
      r: rel(7, 'verifying', {rollout: rollout({traffic: 0})}),
      serving: 2,
      want: ['promote', 'abort', 'pause'],
    },
    {
      name: 'paused: resume instead of pause',
      r: rel(7, 'rolling_out', {rollout: rollout({paused: {by: 'user:a@b.c', time: '2026-12-03T10:00:00Z'}})}),
      serving: 2,
      want: ['promote', 'abort', 'resume'],
    },
    {
      name: 'a promote already asked for: no second promote or abort',
      r: rel(7, 'rolling_out', {rollout: rollout({pending: 'promote'})}),
      serving: 2,
      want: ['pause'],
    },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(kinds(row.r, row.serving), row.want));

  it('each action is the API call the CLI makes, path-escaped', () => {
    assert.deepEqual(releaseActions(rel(2, 'deployed'), 3), [
      {
        kind: 'rollback',
        label: 'Roll back to v2',
        confirm: "Deploy v2's image of web again, as a new release (no rebuild)?",
        method: 'POST',
        path: '/v1/services/web:rollback',
        body: {release: 2},
      },
    ]);
    const [promote] = releaseActions(rel(7, 'rolling_out', {rollout: rollout()}), 2);
    assert.equal(promote.path, '/v1/services/web/releases/7:promote');
    assert.deepEqual(promote.body, {});
  });
});

describe('dashboard view: a service and its timeline', () => {
  const svc = {
    service: 'web',
    lastRelease: 4,
    deployed: {release: 3, image: IMAGE, url: 'https://web-abc.a.run.app', time: '2026-12-03T10:03:30.000Z'},
  };
  const releases = [
    rel(4, 'building', {buildId: 'b4', buildLogUrl: 'https://console.cloud.google.com/cloud-build/builds/b4'}),
    rel(3, 'deployed', {trigger: 'rollback', rollbackOf: 1, actor: 'user:ops@example.com'}),
    rel(2, 'build_failed', {error: {code: 'BUILD_FAILED', message: 'npm ERR! missing script: build'}}),
    rel(1, 'deployed'),
  ];

  it('serving release, status, last change and redeploy', () => {
    const v = serviceView(svc, releases);
    assert.deepEqual(v.serving, {
      release: 3,
      label: 'v3',
      since: '2026-12-03T10:03:30.000Z',
      url: 'https://web-abc.a.run.app/',
      digest: DIGEST,
      by: 'user:ops@example.com',
      trigger: 'rollback',
    });
    assert.equal(v.status, 'v4 building (serving v3)');
    assert.equal(v.tone, 'progress');
    assert.deepEqual(v.lastChange, {time: '2026-12-03T10:04:30.000Z', actor: releases[0].actor, label: 'v4 building'});
    assert.deepEqual(
      v.actions.map((a) => [a.kind, a.path]),
      [['redeploy', '/v1/services/web:redeploy']],
    );
  });

  const statuses: Array<{name: string; releases: ReleaseJson[]; deployed?: boolean; want: [string, string]}> = [
    {name: 'newest serves', releases: [rel(1, 'deployed')], deployed: true, want: ['serving v1', 'ok']},
    {
      name: 'newest failed',
      releases: [rel(2, 'build_failed'), rel(1, 'deployed')],
      deployed: true,
      want: ['v2 build_failed (serving v1)', 'failed'],
    },
    {
      name: 'newest superseded: still serving',
      releases: [rel(2, 'superseded'), rel(1, 'deployed')],
      deployed: true,
      want: ['serving v1', 'ok'],
    },
    {name: 'first upload building', releases: [rel(1, 'building')], want: ['v1 building', 'progress']},
    {name: 'first upload rejected', releases: [rel(1, 'rejected')], want: ['v1 rejected', 'failed']},
    {
      name: 'a preview in progress does not change the main line',
      releases: [rel(2, 'building', {preview: {name: 'pr-1'}}), rel(1, 'deployed')],
      deployed: true,
      want: ['serving v1', 'ok'],
    },
  ];
  for (const s of statuses)
    it(`status: ${s.name}`, () => {
      const service = {service: 'web', lastRelease: s.releases[0].release, ...(s.deployed ? {deployed: {release: 1, time: 'x'}} : {})};
      const v = serviceView(service, s.releases);
      assert.deepEqual([v.status, v.tone], s.want);
    });

  it('no source anywhere (nothing to rebuild): no redeploy', () => {
    const {source: _s, ...noSource} = rel(1, 'deployed');
    assert.deepEqual(serviceView({service: 'web', lastRelease: 1}, [noSource]).actions, []);
  });

  it('a timeline entry: what, source and generation, digest, build log, error, steps', () => {
    const [v4, v3, v2] = serviceView(svc, releases).timeline;
    assert.equal(v4.what, 'upload of web/v4.tgz');
    assert.equal(v4.source, 'gs://src/web/v4.tgz');
    assert.equal(v4.generation, '400');
    assert.equal(v4.buildLogUrl, 'https://console.cloud.google.com/cloud-build/builds/b4');
    assert.equal(v4.serving, false);
    assert.equal(v3.what, 'rollback to v1');
    assert.equal(v3.digest, DIGEST);
    assert.equal(v3.serving, true);
    assert.equal(v2.error, 'BUILD_FAILED: npm ERR! missing script: build');
    assert.equal(v2.tone, 'failed');
    assert.deepEqual(v2.steps, [{state: 'accepted', tone: 'progress', time: '2026-12-03T10:02:00.000Z'}]);
  });

  it('rollout progress, preview URL, superseded-by; links only when http(s)', () => {
    const v = releaseView(
      rel(5, 'rolling_out', {
        rollout: {
          policy: {},
          traffic: 30,
          stable: {release: 3, revision: 'web-00003'},
          lastCheck: {kind: 'metrics', ok: true, time: 't', traffic: 30, detail: '0 of 120 requests failed'},
        },
        history: [
          {state: 'accepted', time: 't0'},
          {state: 'rolling_out', time: 't1', traffic: 30, reason: 'step 2'},
        ],
        buildLogUrl: 'javascript:alert(1)',
      }),
      3,
    );
    assert.deepEqual(v.rollout, {
      traffic: 30,
      stable: 'v3 (web-00003)',
      lastCheck: 'metrics check at 30 %: passed (0 of 120 requests failed)',
    });
    assert.equal(v.steps[1].detail, '30 % of traffic: step 2');
    assert.equal(v.buildLogUrl, undefined);
    assert.equal(releaseView(rel(6, 'superseded', {supersededBy: 7}), 3).error, 'superseded by v7');
    const p = releaseView(rel(8, 'deployed', {preview: {name: 'pr-7', url: 'https://pr-7---web-abc.a.run.app'}}), 3);
    assert.deepEqual(p.preview, {name: 'pr-7', url: 'https://pr-7---web-abc.a.run.app/'});
    assert.equal(p.what, 'preview pr-7: upload of web/v8.tgz');
  });

  it('previews: the release each serves, with its URL', () => {
    const v = serviceView(svc, releases, [
      {name: 'pr-1', latestRelease: 5, release: 5, url: 'https://pr-1---web.a.run.app'},
      {name: 'pr-2', latestRelease: 6, url: 'javascript:x'},
    ]);
    assert.deepEqual(v.previews, [
      {name: 'pr-1', label: 'v5', url: 'https://pr-1---web.a.run.app/'},
      {name: 'pr-2', label: 'v6 (not deployed yet)'},
    ]);
  });
});

describe('dashboard view: what the live region announces', () => {
  const rows: Array<{name: string; before?: ReleaseJson[]; after: ReleaseJson[]; want: string[]}> = [
    {name: 'the first read: nothing', after: [rel(1, 'deployed')], want: []},
    {name: 'no change: nothing', before: [rel(1, 'deployed')], after: [rel(1, 'deployed')], want: []},
    {
      name: 'a new upload',
      before: [rel(1, 'deployed')],
      after: [rel(2, 'accepted'), rel(1, 'deployed')],
      want: ['web v2 (upload of web/v2.tgz): accepted'],
    },
    {name: 'a state change', before: [rel(2, 'building')], after: [rel(2, 'deployed')], want: ['web v2: building → deployed']},
    {
      name: 'several, oldest first',
      before: [rel(1, 'building')],
      after: [rel(3, 'accepted', {trigger: 'rollback', rollbackOf: 1}), rel(2, 'accepted'), rel(1, 'deployed')],
      want: ['web v1: building → deployed', 'web v2 (upload of web/v2.tgz): accepted', 'web v3 (rollback to v1): accepted'],
    },
  ];
  rows.push(
    {
      name: 'older releases shown by a longer page are not new',
      before: [rel(5, 'deployed')],
      after: [rel(5, 'deployed'), rel(4, 'deployed'), rel(3, 'build_failed')],
      want: [],
    },
    {
      name: 'a first release of a new service is new',
      before: [rel(5, 'deployed')],
      after: [{...rel(1, 'accepted'), service: 'api'}, rel(5, 'deployed')],
      want: ['api v1 (upload of web/v1.tgz): accepted'],
    },
  );
  for (const r of rows) it(r.name, () => assert.deepEqual(announcements(r.before, r.after), r.want));
});

describe('dashboard view: deploy targets', () => {
  const US = 'https://web-us-abc.a.run.app';
  const EU = 'https://web-eu-abc.a.run.app';
  const t = (region: string, state: string, extra: Partial<TargetJson> = {}): TargetJson => ({region, project: 'p', state, ...extra});
  const quota = {code: 'FAILED_PRECONDITION', message: 'quota exceeded in europe-west1'};
  const rows: Array<{name: string; targets?: TargetJson[]; want?: TargetView[]}> = [
    {name: 'no targets (one region): none shown, as before', targets: undefined, want: undefined},
    {name: 'an empty list: none shown either', targets: [], want: undefined},
    {
      name: 'two deployed: each its revision and own URL',
      targets: [
        t('us-central1', 'deployed', {revision: 'web-00003-us', url: US}),
        t('europe-west1', 'deployed', {revision: 'web-00003-eu', url: EU}),
      ],
      want: [
        {region: 'us-central1', name: 'us-central1', state: 'deployed', tone: 'ok', revision: 'web-00003-us', url: `${US}/`},
        {region: 'europe-west1', name: 'europe-west1', state: 'deployed', tone: 'ok', revision: 'web-00003-eu', url: `${EU}/`},
      ],
    },
    {
      name: 'one failed, one kept: the failed one says why',
      targets: [
        t('us-central1', 'deployed', {revision: 'web-00004-us', url: US, previousRevision: 'web-00003-us'}),
        t('europe-west1', 'failed', {url: EU, previousRevision: 'web-00003-eu', error: quota}),
      ],
      want: [
        {region: 'us-central1', name: 'us-central1', state: 'deployed', tone: 'ok', revision: 'web-00004-us', url: `${US}/`},
        {
          region: 'europe-west1',
          name: 'europe-west1',
          state: 'failed',
          tone: 'failed',
          url: `${EU}/`,
          error: 'FAILED_PRECONDITION: quota exceeded in europe-west1',
        },
      ],
    },
    {
      name: 'one rolled back: back on the revision from before',
      targets: [
        t('us-central1', 'rolled_back', {revision: 'web-00004-us', url: US, previousRevision: 'web-00003-us'}),
        t('europe-west1', 'failed', {error: quota}),
      ],
      want: [
        {
          region: 'us-central1',
          name: 'us-central1',
          state: 'rolled_back',
          tone: 'neutral',
          revision: 'web-00004-us',
          url: `${US}/`,
          detail: 'back on web-00003-us',
        },
        {
          region: 'europe-west1',
          name: 'europe-west1',
          state: 'failed',
          tone: 'failed',
          error: 'FAILED_PRECONDITION: quota exceeded in europe-west1',
        },
      ],
    },
    {
      name: 'pending and deploying: in progress, no URL yet',
      targets: [t('us-central1', 'deploying'), t('europe-west1', 'pending')],
      want: [
        {region: 'us-central1', name: 'us-central1', state: 'deploying', tone: 'progress'},
        {region: 'europe-west1', name: 'europe-west1', state: 'pending', tone: 'progress'},
      ],
    },
    {
      name: "another project is named, the controller's own is not; skipped, superseded; no javascript: link",
      targets: [
        t('us-central1', 'deployed', {url: US}),
        t('asia-east1', 'skipped', {project: 'other-project'}),
        t('europe-west1', 'superseded', {supersededBy: 7, url: 'javascript:alert(1)'}),
      ],
      want: [
        {region: 'us-central1', name: 'us-central1', state: 'deployed', tone: 'ok', url: `${US}/`},
        {region: 'asia-east1', project: 'other-project', name: 'asia-east1 (project other-project)', state: 'skipped', tone: 'neutral'},
        {region: 'europe-west1', name: 'europe-west1', state: 'superseded', tone: 'neutral', detail: 'runs v7 already'},
      ],
    },
  ];
  for (const row of rows) {
    it(`targetsView: ${row.name}`, () => assert.deepEqual(targetsView(row.targets), row.want));
    it(`timeline entry: ${row.name}`, () => {
      const v = releaseView(rel(4, 'deployed', row.targets ? {targets: row.targets} : {}), 4);
      assert.deepEqual(v.targets, row.want);
      if (!row.want) assert.ok(!('targets' in v), 'a one-region release has no targets field at all');
    });
  }

  it("the service card: the serving release's regions, not a newer failed release's", () => {
    const two = [t('us-central1', 'deployed', {url: US}), t('europe-west1', 'deployed', {url: EU})];
    const v = serviceView({service: 'web', lastRelease: 4, deployed: {release: 3, url: US, time: 'x'}}, [
      rel(4, 'deploy_failed', {targets: [t('us-central1', 'deployed', {url: US}), t('europe-west1', 'failed', {error: quota})]}),
      rel(3, 'deployed', {targets: two}),
    ]);
    assert.deepEqual(
      v.serving?.targets?.map((x) => [x.name, x.state, x.url]),
      [
        ['us-central1', 'deployed', `${US}/`],
        ['europe-west1', 'deployed', `${EU}/`],
      ],
    );
    assert.equal(v.status, 'v4 deploy_failed (serving v3)');
    const one = serviceView({service: 'web', lastRelease: 1, deployed: {release: 1, url: US, time: 'x'}}, [rel(1, 'deployed')]);
    assert.ok(one.serving && !('targets' in one.serving), 'a one-region service card is as before');
  });
});
