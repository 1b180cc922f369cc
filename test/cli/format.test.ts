/**
 * Output formatting with a fixed clock: the releases and services tables, status, ages,
 * progress lines.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {age, envTable, progressLine, releasesTable, servicesTable, sourceOf, statusText} from '../../cli/format';
import {release} from './fixtures';

// Progress lines show local wall-clock time; pin the zone so the expectations hold anywhere.
process.env.TZ = 'UTC';
const NOW = new Date('2026-11-28T10:00:00.000Z');

describe('age', () => {
  const cases: Array<[string, string]> = [
    ['2026-11-28T10:00:00.000Z', '0s ago'],
    ['2026-11-28T09:59:18.000Z', '42s ago'],
    ['2026-11-28T09:55:00.000Z', '5m ago'],
    ['2026-11-28T07:00:00.000Z', '3h ago'],
    ['2026-11-26T10:00:00.000Z', '2d ago'],
    ['2026-09-01T10:00:00.000Z', '2026-09-01'],
    ['2026-11-28T10:00:05.000Z', '0s ago'],
  ];
  for (const [time, want] of cases) it(`${time} → ${want}`, () => assert.equal(age(time, NOW), want));
});

describe('releasesTable', () => {
  it('lays out releases newest first: source, rollback target, revision, error, superseded', () => {
    const rows = [
      release(5, {trigger: 'rollback', rollbackOf: 2, revision: 'web-00005-abc', createTime: '2026-11-28T09:59:30.000Z'}),
      release(4, {state: 'superseded', supersededBy: 5, createTime: '2026-11-28T09:50:00.000Z'}),
      release(3, {
        state: 'build_failed',
        createTime: '2026-11-28T07:00:00.000Z',
        error: {code: 'BUILD_FAILURE', message: 'Step #0 - "build": npm ERR! missing script: build, and then a very long tail of text'},
      }),
      release(2, {trigger: 'redeploy', revision: 'web-00002-xyz', createTime: '2026-11-26T10:00:00.000Z'}),
    ];
    assert.equal(
      releasesTable(rows, NOW),
      [
        'RELEASE  STATE         TRIGGER   CREATED  SOURCE          REVISION       ERROR',
        'v5       deployed      rollback  30s ago  rollback to v2  web-00005-abc',
        'v4       superseded    upload    10m ago  web/v4.zip#104  -              superseded by v5',
        'v3       build_failed  upload    3h ago   web/v3.zip#103  -              BUILD_FAILURE: Step #0 - "build": npm ERR! missing script:…',
        'v2       deployed      redeploy  2d ago   web/v2.zip#102  web-00002-xyz',
        '',
      ].join('\n'),
    );
  });
  it('says so when there are no releases', () => assert.equal(releasesTable([], NOW), 'no releases yet\n'));
});

describe('servicesTable', () => {
  it('shows the deployed release, or dashes', () => {
    const out = servicesTable(
      [
        {
          service: 'web',
          lastRelease: 6,
          deployed: {release: 5, revision: 'web-00005-abc', url: 'https://web-x.run.app', time: '2026-11-28T09:00:00.000Z'},
        },
        {service: 'api', lastRelease: 1},
      ],
      NOW,
    );
    assert.equal(
      out,
      [
        'SERVICE  DEPLOYED  SINCE   LATEST  REVISION       URL',
        'web      v5        1h ago  v6      web-00005-abc  https://web-x.run.app',
        'api      -         -       v1      -              -',
        '',
      ].join('\n'),
    );
  });
});

describe('statusText', () => {
  const svc = {
    service: 'web',
    lastRelease: 3,
    deployed: {
      release: 2,
      revision: 'web-00002-xyz',
      url: 'https://web-x.run.app',
      image: 'r/web@sha256:22',
      time: '2026-11-28T09:58:00.000Z',
    },
  };
  it('the deployed release and a different newest one', () => {
    assert.equal(
      statusText(svc, release(3, {state: 'building', trigger: 'redeploy', createTime: '2026-11-28T09:59:50.000Z'}), NOW),
      [
        'web: v2 deployed 2m ago',
        '  url       https://web-x.run.app',
        '  revision  web-00002-xyz',
        '  image     r/web@sha256:22',
        'newest: v3 building (redeploy, web/v3.zip#103, 10s ago)',
        '',
      ].join('\n'),
    );
  });
  it('a release deployed to several regions: a line per region', () => {
    const targets = [
      {region: 'europe-west1', project: 'my-project', state: 'deployed' as const, url: 'https://web-eu.run.app'},
      {region: 'us-east1', project: 'other-project', state: 'deployed' as const, url: 'https://web-us.run.app'},
    ];
    assert.deepEqual(statusText(svc, release(2, {targets}), NOW).split('\n').slice(4, 6), [
      '  europe-west1 (my-project)            deployed    https://web-eu.run.app',
      '  us-east1 (other-project)             deployed    https://web-us.run.app',
    ]);
  });
  it('no second line when the newest is the deployed one; the error of a failed newest one', () => {
    assert.doesNotMatch(statusText(svc, release(2), NOW), /newest/);
    assert.match(
      statusText(
        {service: 'api', lastRelease: 1},
        release(1, {service: 'api', state: 'rejected', error: {code: 'INVALID_METADATA', message: 'bad'}}),
        NOW,
      ),
      /^api: nothing deployed yet\nnewest: v1 rejected \(upload, web\/v1.zip#101, 1h ago\) INVALID_METADATA: bad\n$/,
    );
  });
});

describe('progressLine', () => {
  const r = release(7, {buildLogUrl: 'http://logs/7', url: 'https://web-x.run.app', revision: 'web-00007-abc'});
  const cases: Array<{state: string; reason?: string; want: string}> = [
    {state: 'accepted', want: '09:00:00  v7  accepted'},
    {state: 'building', want: '09:00:00  v7  building      build log: http://logs/7'},
    {state: 'deployed', want: '09:00:00  v7  deployed      https://web-x.run.app (revision web-00007-abc)'},
    {state: 'build_failed', reason: 'BUILD_FAILURE', want: '09:00:00  v7  build_failed  BUILD_FAILURE'},
    {state: 'deploy_failed', reason: 'REVISION_FAILED', want: '09:00:00  v7  deploy_failed REVISION_FAILED'},
  ];
  for (const c of cases) {
    it(c.state, () =>
      assert.equal(progressLine(r, {state: c.state, time: '2026-11-28T09:00:00.000Z', ...(c.reason ? {reason: c.reason} : {})}), c.want),
    );
  }
});

describe('env', () => {
  it('lists values, and Secret Manager references as references', () => {
    const text = envTable({
      service: 'web',
      release: 4,
      env: [
        {name: 'GREETING', value: 'hello'},
        {name: 'DB_PASSWORD', valueSource: {secretKeyRef: {secret: 'db-password', version: '3'}}},
        {name: 'API_KEY', valueSource: {secretKeyRef: {secret: 'api-key'}}},
        {name: 'EMPTY', value: ''},
      ],
    });
    assert.equal(
      text,
      'NAME         VALUE\n' +
        'GREETING     hello\n' +
        'DB_PASSWORD  (secret db-password, version 3)\n' +
        'API_KEY      (secret api-key, version latest)\n' +
        'EMPTY\n',
    );
  });
  it('no variables: says how to set one', () => {
    assert.equal(
      envTable({service: 'web', env: []}),
      'web has no environment variables; set one with `dropdeploy env web set NAME=VALUE`\n',
    );
  });
  it('a config release shows its change, by names, as its source', () => {
    const r = release(6, {
      trigger: 'config',
      source: undefined,
      env: {
        set: [
          {name: 'A', value: '1'},
          {name: 'B_KEY', redacted: true},
        ],
        unset: ['C'],
      },
    });
    assert.equal(sourceOf(r), 'env: set A, B_KEY; unset C');
  });
});
