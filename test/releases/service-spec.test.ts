import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  installationId,
  liveRelease,
  newService,
  notManagedReason,
  planDeploy,
  updatedService,
  type RunService,
} from '../../src/releases/service-spec';
import {PermanentError} from '../../src/errors';
import type {EnvChangeRecord} from '../../src/releases/env-record';

const deploy = {installation: 'dropdeploy', release: 4, image: 'r/hello@sha256:new', sourceNote: 'gs://b/hello/v4.zip#9', buildId: 'b4'};

describe('newService', () => {
  it('applies the configured defaults and sends all traffic to the latest revision', () => {
    const s = newService(
      {ingress: 'INGRESS_TRAFFIC_ALL', memory: '1Gi', cpu: '2', maxInstances: 5, serviceAccount: 'run@p.iam.gserviceaccount.com'},
      deploy,
    );
    assert.deepEqual(s.labels, {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', 'dropdeploy-release': 'v4'});
    assert.deepEqual(s.annotations, {'dropdeploy.dev/source': 'gs://b/hello/v4.zip#9', 'dropdeploy.dev/build': 'b4'});
    assert.equal(s.ingress, 'INGRESS_TRAFFIC_ALL');
    assert.deepEqual(s.template, {
      labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', 'dropdeploy-release': 'v4'},
      containers: [{image: 'r/hello@sha256:new', resources: {limits: {memory: '1Gi', cpu: '2'}}}],
      serviceAccount: 'run@p.iam.gserviceaccount.com',
      scaling: {maxInstanceCount: 5},
    });
    assert.deepEqual(s.traffic, [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}]);
  });
});

describe('updatedService', () => {
  const existing: RunService = {
    name: 'projects/p/locations/r/services/hello',
    etag: '"abc"',
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', 'dropdeploy-release': 'v3', team: 'payments'},
    annotations: {'dropdeploy.dev/source': 'old', 'ops.example.com/owner': 'ana'},
    ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
    template: {
      revision: 'hello-pinned',
      labels: {'dropdeploy-release': 'v3', tier: 'gold'},
      serviceAccount: 'custom@p.iam.gserviceaccount.com',
      scaling: {minInstanceCount: 1, maxInstanceCount: 3},
      containers: [
        {name: 'sidecar', image: 'r/proxy:1'},
        {
          name: 'app',
          image: 'r/hello@sha256:old',
          ports: [{containerPort: 8080}],
          env: [
            {name: 'GREETING', value: 'hi'},
            {name: 'TOKEN', valueSource: {secretKeyRef: {secret: 'token', version: '2'}}},
          ],
          command: ['node', 'worker.js'],
          args: ['--queue', 'jobs'],
          workingDir: '/workspace/app',
          resources: {limits: {memory: '2Gi', cpu: '1'}},
        },
      ],
    },
    traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00001-abc', percent: 100}],
  };
  const got = updatedService(existing, deploy, 'hello');

  it('replaces only the serving container image', () => {
    assert.equal(got.template!.containers![1].image, 'r/hello@sha256:new');
    assert.equal(got.template!.containers![0].image, 'r/proxy:1');
  });
  it('keeps every operator setting', () => {
    assert.deepEqual(got.template!.containers![1].env, [
      {name: 'GREETING', value: 'hi'},
      {name: 'TOKEN', valueSource: {secretKeyRef: {secret: 'token', version: '2'}}},
    ]);
    assert.deepEqual(got.template!.containers![1].command, ['node', 'worker.js']);
    assert.deepEqual(got.template!.containers![1].args, ['--queue', 'jobs']);
    assert.equal(got.template!.containers![1].workingDir, '/workspace/app');
    assert.deepEqual(got.template!.containers![1].resources, {limits: {memory: '2Gi', cpu: '1'}});
    assert.equal(got.template!.serviceAccount, 'custom@p.iam.gserviceaccount.com');
    assert.deepEqual(got.template!.scaling, {minInstanceCount: 1, maxInstanceCount: 3});
    assert.equal(got.ingress, 'INGRESS_TRAFFIC_INTERNAL_ONLY');
    assert.equal(got.etag, '"abc"', 'the etag goes back so a concurrent change is refused');
    assert.equal(got.labels!.team, 'payments');
    assert.equal(got.annotations!['ops.example.com/owner'], 'ana');
    assert.equal(got.template!.labels!.tier, 'gold');
  });
  it("changes nothing else: with the image, traffic, fixed revision name and dropdeploy's own labels and annotations put back, it is the service read", () => {
    const back = structuredClone(got);
    back.template!.containers![1].image = existing.template!.containers![1].image;
    back.template!.revision = existing.template!.revision;
    const own = {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', 'dropdeploy-release': 'v4'};
    assert.deepEqual(back.template!.labels, {...existing.template!.labels, ...own});
    back.template!.labels = existing.template!.labels;
    back.labels!['dropdeploy-release'] = 'v3';
    back.annotations = {...back.annotations, 'dropdeploy.dev/source': 'old'};
    delete back.annotations['dropdeploy.dev/build'];
    back.traffic = existing.traffic;
    assert.deepEqual(back, existing);
  });
  it('updates dropdeploy labels and annotations', () => {
    assert.equal(got.labels!['dropdeploy-release'], 'v4');
    assert.equal(got.template!.labels!['dropdeploy-release'], 'v4');
    assert.equal(got.annotations!['dropdeploy.dev/source'], 'gs://b/hello/v4.zip#9');
  });
  it('moves 100% of traffic to the latest revision (ends a pinned split) and drops a fixed revision name', () => {
    assert.deepEqual(got.traffic, [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}]);
    assert.equal(got.template!.revision, undefined);
  });
  it('keeps tagged traffic targets (at 0%) and drops a stale build annotation on a rollback', () => {
    const withTag = {
      ...existing,
      annotations: {'dropdeploy.dev/build': 'b3'},
      traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 0, tag: 'preview'}],
    };
    const rolled = updatedService(
      withTag,
      {installation: 'dropdeploy', release: 5, image: 'r/hello@sha256:old', sourceNote: 'rollback to v2'},
      'hello',
    );
    assert.deepEqual(rolled.traffic, [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 0, tag: 'preview'},
    ]);
    assert.equal(rolled.annotations!['dropdeploy.dev/build'], undefined);
    assert.equal(rolled.annotations!['dropdeploy.dev/source'], 'rollback to v2');
  });
  it('does not modify its input', () => {
    assert.equal(existing.template!.containers![1].image, 'r/hello@sha256:old');
    assert.equal(existing.labels!['dropdeploy-release'], 'v3');
  });
  it('refuses a service dropdeploy does not manage', () => {
    const foreign = {...existing, labels: {team: 'payments'}};
    assert.match(
      notManagedReason(foreign, 'hello', 'dropdeploy')!,
      /not managed by dropdeploy.*managed-by=dropdeploy and dropdeploy-installation=dropdeploy/,
    );
    assert.throws(
      () => updatedService(foreign, deploy, 'hello'),
      (e: unknown) => e instanceof PermanentError && e.code === 'NOT_MANAGED',
    );
  });
  it('refuses a service of another installation, or of one that did not name itself', () => {
    const other = {...existing, labels: {...existing.labels, 'dropdeploy-installation': 'staging'}};
    assert.match(
      notManagedReason(other, 'hello', 'dropdeploy')!,
      /another dropdeploy installation \("staging"\), not by this one \("dropdeploy"\)/,
    );
    const {'dropdeploy-installation': _i, ...unnamed} = existing.labels!;
    assert.match(
      notManagedReason({...existing, labels: unnamed}, 'hello', 'dropdeploy')!,
      /did not name itself.*dropdeploy-installation=dropdeploy/,
    );
    assert.equal(notManagedReason(existing, 'hello', 'dropdeploy'), undefined);
  });
  it('takes over a service made before the installation label only when it runs what this store deployed there', () => {
    const {'dropdeploy-installation': _i, ...unnamed} = existing.labels!;
    const old = {...existing, labels: unnamed};
    assert.equal(notManagedReason(old, 'hello', 'dropdeploy', 3), undefined, 'runs v3, the store deployed v3');
    assert.match(
      notManagedReason(old, 'hello', 'dropdeploy', 2)!,
      /did not name itself/,
      'runs v3, the store deployed v2: not provably ours',
    );
    assert.match(notManagedReason(old, 'hello', 'dropdeploy')!, /did not name itself/, 'the store deployed nothing there');
    assert.equal(
      updatedService(old, {...deploy, recordedRelease: 3}, 'hello').labels!['dropdeploy-installation'],
      'dropdeploy',
      'the update names the installation',
    );
  });
});

describe('planDeploy (the fence)', () => {
  const live = (label?: string): RunService => ({
    name: 'projects/p/locations/r/services/hello',
    etag: '"e7"',
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', ...(label ? {'dropdeploy-release': label} : {})},
    template: {containers: [{image: 'old'}]},
  });
  const defaults = {ingress: 'INGRESS_TRAFFIC_ALL' as const};
  const rows: Array<{name: string; existing?: RunService; want: string}> = [
    {name: 'no service → create', want: 'create'},
    {name: 'an older release serves → update', existing: live('v3'), want: 'update'},
    {name: 'this very release serves (a redelivery) → update again, idempotent', existing: live('v4'), want: 'update'},
    {name: 'a newer release serves → superseded, nothing sent', existing: live('v5'), want: 'superseded:5'},
    {name: 'no release label → update', existing: live(), want: 'update'},
    {name: 'a malformed release label is no release → update', existing: live('v05x'), want: 'update'},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const plan = planDeploy(r.existing, defaults, deploy, 'hello');
      assert.equal(plan.kind === 'superseded' ? `superseded:${plan.by}` : plan.kind, r.want);
      // The update carries the etag of the very read it was planned from.
      if (plan.kind === 'update') assert.equal(plan.spec.etag, '"e7"');
    });
  }
  it("refuses another installation's service before looking at its release", () => {
    const other = {...live('v1'), labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'prod', 'dropdeploy-release': 'v1'}};
    assert.throws(
      () => planDeploy(other, defaults, deploy, 'hello'),
      (e: unknown) => e instanceof PermanentError && e.code === 'NOT_MANAGED',
    );
  });
  it('reads the release label', () => {
    assert.equal(liveRelease(live('v12')), 12);
    assert.equal(liveRelease(live('12')), undefined);
  });
});

describe('installationId', () => {
  const rows: Array<{name: string; databaseId: string; root: string; want: string | RegExp}> = [
    {name: 'the default database: the root', databaseId: '(default)', root: 'dropdeploy', want: 'dropdeploy'},
    {name: 'a named database is hashed with the root', databaseId: 'ops', root: 'dd', want: /^i-[0-9a-f]{20}$/},
    {name: 'a root with uppercase is hashed (label values are lowercase)', databaseId: '(default)', root: 'Prod', want: /^i-[0-9a-f]{20}$/},
  ];
  for (const r of rows) it(r.name, () => assert.match(installationId(r), r.want instanceof RegExp ? r.want : new RegExp(`^${r.want}$`)));
  it('never gives two installations one value', () => {
    assert.notEqual(installationId({databaseId: '(default)', root: 'Prod'}), installationId({databaseId: '(default)', root: 'PROD'}));
    assert.notEqual(installationId({databaseId: '(default)', root: 'a--b'}), installationId({databaseId: 'a', root: 'b'}));
    for (const id of [installationId({databaseId: 'a-very-long-database-name-that-goes-on-and-on', root: 'and-a-long-root-name-too'})])
      assert.ok(id.length <= 63);
  });
});

describe('a config release (an environment change) deploys', () => {
  const live = (label: string): RunService => ({
    name: 'projects/p/locations/r/services/hello',
    etag: '"e9"',
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'dropdeploy', 'dropdeploy-release': label},
    annotations: {'dropdeploy.dev/source': 'gs://b/hello/v3.zip#7', 'dropdeploy.dev/build': 'b3'},
    template: {
      containers: [
        {name: 'sidecar', image: 'r/proxy:1', env: [{name: 'SIDE', value: 's'}]},
        {
          name: 'app',
          image: 'r/hello@sha256:3',
          ports: [{containerPort: 8080}],
          env: [
            {name: 'GREETING', value: 'hi'},
            {name: 'API_KEY', valueSource: {secretKeyRef: {secret: 'api-key', version: 'latest'}}},
            {name: 'OLD', value: 'x'},
          ],
        },
      ],
    },
  });
  const config = (record: EnvChangeRecord, values: Record<string, string> = {}) => ({
    installation: 'dropdeploy',
    release: 4,
    image: 'r/hello@sha256:3',
    env: {record, values},
  });
  const defaults = {ingress: 'INGRESS_TRAFFIC_ALL' as const};

  it('the change on the serving container only, secret references of other names kept, with the etag of the read', () => {
    const plan = planDeploy(
      live('v3'),
      defaults,
      config({
        set: [
          {name: 'GREETING', value: 'hello'},
          {name: 'NEW', value: 'n'},
        ],
        unset: ['OLD'],
      }),
      'hello',
    );
    assert.equal(plan.kind, 'update');
    if (plan.kind !== 'update') return;
    assert.equal(plan.spec.etag, '"e9"');
    const [sidecar, app] = plan.spec.template!.containers!;
    assert.deepEqual(sidecar.env, [{name: 'SIDE', value: 's'}]);
    assert.deepEqual(app.env, [
      {name: 'GREETING', value: 'hello'},
      {name: 'API_KEY', valueSource: {secretKeyRef: {secret: 'api-key', version: 'latest'}}},
      {name: 'NEW', value: 'n'},
    ]);
    assert.equal(plan.spec.labels!['dropdeploy-release'], 'v4');
    // The same image, so the build annotation stays true.
    assert.equal(plan.spec.annotations!['dropdeploy.dev/build'], 'b3');
  });
  it('redacted values come from the request', () => {
    const plan = planDeploy(
      live('v3'),
      defaults,
      config({set: [{name: 'DB_PASSWORD', redacted: true}], unset: []}, {DB_PASSWORD: 'pw'}),
      'hello',
    );
    assert.ok(plan.kind === 'update');
    assert.deepEqual(plan.spec.template!.containers![1].env!.at(-1), {name: 'DB_PASSWORD', value: 'pw'});
  });
  it('redacted values that are not at hand, not live yet: refused, nothing sent (the change must be made again)', () => {
    assert.throws(
      () => planDeploy(live('v3'), defaults, config({set: [{name: 'DB_PASSWORD', redacted: true}], unset: []}), 'hello'),
      (e: unknown) => e instanceof PermanentError && e.code === 'ENV_VALUES_NOT_STORED' && /DB_PASSWORD/.test(e.message),
    );
  });
  it('redacted values that are not at hand, but this release is live already (a repeated deploy): left as they are', () => {
    const applied = live('v4');
    applied.template!.containers![1].env!.push({name: 'DB_PASSWORD', value: 'pw'});
    const plan = planDeploy(applied, defaults, config({set: [{name: 'DB_PASSWORD', redacted: true}], unset: []}), 'hello');
    assert.ok(plan.kind === 'update');
    assert.deepEqual(plan.spec.template!.containers![1].env!.at(-1), {name: 'DB_PASSWORD', value: 'pw'});
  });
  it('a newer release live: superseded, as any release', () => {
    assert.deepEqual(planDeploy(live('v5'), defaults, config({set: [{name: 'A', value: '1'}], unset: []}), 'hello'), {
      kind: 'superseded',
      by: 5,
    });
  });
  it('no Cloud Run service (deleted by hand): created with the env', () => {
    const plan = planDeploy(undefined, defaults, config({set: [{name: 'A', value: '1'}], unset: ['B']}), 'hello');
    assert.ok(plan.kind === 'create');
    assert.deepEqual(plan.spec.template!.containers![0].env, [{name: 'A', value: '1'}]);
  });
  it('a base env (a rollback restoring, or the serving revision over a failed one) replaces the template env; the change goes on it', () => {
    const request = {
      ...config({set: [{name: 'DB_PASSWORD', redacted: true}], unset: []}, {DB_PASSWORD: 'pw'}),
      baseEnv: [{name: 'NAME', value: 'a'}],
    };
    const plan = planDeploy(live('v3'), defaults, request, 'hello');
    assert.ok(plan.kind === 'update');
    assert.deepEqual(plan.spec.template!.containers![1].env, [
      {name: 'NAME', value: 'a'},
      {name: 'DB_PASSWORD', value: 'pw'},
    ]);
    // Not the template's env, so not what this release may have written: with this release live,
    // a redacted value not at hand is still refused rather than silently left out.
    assert.throws(
      () => planDeploy(live('v4'), defaults, {...request, env: {...request.env, values: {}}}, 'hello'),
      (e: unknown) => e instanceof PermanentError && e.code === 'ENV_VALUES_NOT_STORED',
    );
  });
  it('a base env with no change: the env is the base, the sidecar untouched', () => {
    const plan = planDeploy(
      live('v3'),
      defaults,
      {installation: 'dropdeploy', release: 4, image: 'r/hello@sha256:2', baseEnv: [{name: 'NAME', value: 'a'}]},
      'hello',
    );
    assert.ok(plan.kind === 'update');
    assert.deepEqual(plan.spec.template!.containers![1].env, [{name: 'NAME', value: 'a'}]);
    assert.deepEqual(plan.spec.template!.containers![0].env, [{name: 'SIDE', value: 's'}]);
    const created = planDeploy(
      undefined,
      defaults,
      {installation: 'dropdeploy', release: 4, image: 'r/hello@sha256:2', baseEnv: [{name: 'NAME', value: 'a'}]},
      'hello',
    );
    assert.ok(created.kind === 'create');
    assert.deepEqual(created.spec.template!.containers![0].env, [{name: 'NAME', value: 'a'}]);
  });
  it('more than 1,000 variables: refused', () => {
    const set = Array.from({length: 1001}, (_, i) => ({name: `V${i}`, value: 'x'}));
    assert.throws(() => planDeploy(live('v3'), defaults, config({set, unset: []}), 'hello'), /at most 1000/);
  });
});
