import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  knativeCondition,
  knativeRevision,
  knativeService,
  knativeServiceProblem,
  v2ServiceFromKnative,
  type KnativeService,
  type V2Service,
} from '../../../local/cloud-run/knative-mapping';
import type {Condition, Revision} from '../../../local/cloud-run/messages';
import {canonicalJson} from '../../../local/cloud-run/template';

const ctx = {project: 'p1', region: 'europe-west1'};
const ts = (s: number) => ({seconds: String(s), nanos: 0});
const NAME = 'projects/p1/locations/europe-west1/services/web';
const IMAGE = 'europe-west1-docker.pkg.dev/p1/dd/web@sha256:' + 'a'.repeat(64);

/** A v2 Service as the emulator stores it after a deploy (defaults filled in). */
function stored(extra: Partial<V2Service> = {}): V2Service {
  return {
    name: NAME,
    uid: 'u-1',
    generation: '3',
    observedGeneration: '3',
    etag: 'etag-3',
    createTime: ts(1_700_000_000),
    creator: 'dd@example.com',
    lastModifier: 'op@example.com',
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v3'},
    annotations: {'dropdeploy.dev/source': 'gs://b/web/v3.tgz#1'},
    uri: 'http://127.0.0.1:9000',
    template: {
      labels: {'managed-by': 'dropdeploy'},
      timeout: {seconds: '300'},
      maxInstanceRequestConcurrency: 80,
      scaling: {maxInstanceCount: 4},
      vpcAccess: {connector: 'c1'},
      containers: [
        {
          image: IMAGE,
          env: [
            {name: 'A', value: '1'},
            {name: 'S', valueSource: {secretKeyRef: {secret: 'db', version: '2'}}},
          ],
          ports: [{name: 'http1', containerPort: 8080}],
          resources: {limits: {cpu: '1000m', memory: '512Mi'}, cpuIdle: true},
          volumeMounts: [{name: 'v', mountPath: '/data'}],
        },
      ],
    } as unknown as V2Service['template'],
    traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}],
    trafficStatuses: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100, revision: 'web-00003-abc'}],
    latestReadyRevision: `${NAME}/revisions/web-00003-abc`,
    latestCreatedRevision: `${NAME}/revisions/web-00003-abc`,
    terminalCondition: {type: 'Ready', state: 'CONDITION_SUCCEEDED', lastTransitionTime: ts(1_700_000_100)},
    conditions: [
      {type: 'RoutesReady', state: 'CONDITION_SUCCEEDED'},
      {type: 'ConfigurationsReady', state: 'CONDITION_SUCCEEDED'},
    ],
    ...extra,
  };
}

/** What gcloud PUTs back after reading `k`: the same object with `change` applied to the first container (and the annotations gcloud adds). */
function asGcloudSends(
  k: KnativeService,
  change: (c: NonNullable<KnativeService['spec']['template']['spec']['containers']>[number]) => void,
): KnativeService {
  const sent = JSON.parse(JSON.stringify(k)) as KnativeService;
  delete sent.status;
  sent.metadata.annotations = {...sent.metadata.annotations, 'run.googleapis.com/client-name': 'gcloud'};
  sent.spec.template.metadata = {
    ...sent.spec.template.metadata,
    annotations: {
      ...sent.spec.template.metadata?.annotations,
      'run.googleapis.com/client-name': 'gcloud',
      'client.knative.dev/user-image': IMAGE,
    },
    labels: {...sent.spec.template.metadata?.labels, 'client.knative.dev/nonce': 'xyz'},
  };
  change(sent.spec.template.spec.containers![0]);
  return sent;
}

describe('Cloud Run v1 (Knative) view of a v2 service', () => {
  const k = knativeService(stored(), ctx);

  const rows: Array<{name: string; got: () => unknown; want: unknown}> = [
    {name: 'kind and apiVersion', got: () => [k.apiVersion, k.kind], want: ['serving.knative.dev/v1', 'Service']},
    {
      name: 'metadata: name, namespace = project, generation, resourceVersion = etag, creation time',
      got: () => [k.metadata.name, k.metadata.namespace, k.metadata.generation, k.metadata.resourceVersion, k.metadata.creationTimestamp],
      want: ['web', 'p1', 3, 'etag-3', '2023-11-14T22:13:20Z'],
    },
    {name: 'selfLink', got: () => k.metadata.selfLink, want: '/apis/serving.knative.dev/v1/namespaces/p1/services/web'},
    {
      name: 'labels: v2 labels plus the location label',
      got: () => k.metadata.labels,
      want: {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v3', 'cloud.googleapis.com/location': 'europe-west1'},
    },
    {
      name: 'annotations: v2 annotations plus creator and lastModifier',
      got: () => k.metadata.annotations,
      want: {
        'dropdeploy.dev/source': 'gs://b/web/v3.tgz#1',
        'serving.knative.dev/creator': 'dd@example.com',
        'serving.knative.dev/lastModifier': 'op@example.com',
      },
    },
    {
      name: 'template: concurrency, timeout in seconds, containers with env (literal and secret), ports, limits',
      got: () => k.spec.template.spec,
      want: {
        containerConcurrency: 80,
        timeoutSeconds: 300,
        containers: [
          {
            image: IMAGE,
            env: [
              {name: 'A', value: '1'},
              {name: 'S', valueFrom: {secretKeyRef: {name: 'db', key: '2'}}},
            ],
            ports: [{name: 'http1', containerPort: 8080}],
            resources: {limits: {cpu: '1000m', memory: '512Mi'}},
          },
        ],
      },
    },
    {
      name: 'template metadata: labels, scaling as the autoscaling annotation, no name unless the caller named the revision',
      got: () => k.spec.template.metadata,
      want: {labels: {'managed-by': 'dropdeploy'}, annotations: {'autoscaling.knative.dev/maxScale': '4'}},
    },
    {name: 'spec traffic: LATEST as latestRevision', got: () => k.spec.traffic, want: [{latestRevision: true, percent: 100}]},
    {
      name: 'status: Ready first, then ConfigurationsReady and RoutesReady, all True',
      got: () => k.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      want: ['Ready=True', 'ConfigurationsReady=True', 'RoutesReady=True'],
    },
    {
      name: 'status: observedGeneration, revisions by short name, url',
      got: () => [
        k.status?.observedGeneration,
        k.status?.latestReadyRevisionName,
        k.status?.latestCreatedRevisionName,
        k.status?.url,
        k.status?.address?.url,
      ],
      want: [3, 'web-00003-abc', 'web-00003-abc', 'http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
    },
    {
      name: 'status traffic: the revision LATEST resolves to',
      got: () => k.status?.traffic,
      want: [{latestRevision: true, revisionName: 'web-00003-abc', percent: 100}],
    },
    {
      name: 'a rollout in progress: Ready Unknown, observedGeneration of the new generation',
      got: () =>
        knativeService(
          stored({
            generation: '4',
            observedGeneration: '4',
            terminalCondition: {type: 'Ready', state: 'CONDITION_RECONCILING'},
            conditions: undefined,
            latestCreatedRevision: `${NAME}/revisions/web-00004-xyz`,
          }),
          ctx,
        ).status,
      want: {
        observedGeneration: 4,
        conditions: [{type: 'Ready', status: 'Unknown'}],
        latestReadyRevisionName: 'web-00003-abc',
        latestCreatedRevisionName: 'web-00004-xyz',
        url: 'http://127.0.0.1:9000',
        address: {url: 'http://127.0.0.1:9000'},
        traffic: [{latestRevision: true, revisionName: 'web-00003-abc', percent: 100}],
      },
    },
    {
      name: 'tagged traffic: revision, tag, and the tag URL in status',
      got: () => {
        const s = knativeService(
          stored({
            traffic: [
              {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00002-old', percent: 100},
              {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 0, tag: 'next'},
            ],
            trafficStatuses: [
              {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00002-old', percent: 100},
              {
                type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST',
                revision: 'web-00003-abc',
                percent: 0,
                tag: 'next',
                uri: 'http://127.0.0.1:9001',
              },
            ],
          }),
          ctx,
        );
        return [s.spec.traffic, s.status?.traffic];
      },
      want: [
        [
          {revisionName: 'web-00002-old', percent: 100},
          {latestRevision: true, percent: 0, tag: 'next'},
        ],
        [
          {revisionName: 'web-00002-old', percent: 100},
          {latestRevision: true, revisionName: 'web-00003-abc', percent: 0, tag: 'next', url: 'http://127.0.0.1:9001'},
        ],
      ],
    },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(row.got(), row.want));
});

describe('v1 conditions from v2 conditions', () => {
  const rows: Array<{name: string; input: Condition; want: unknown}> = [
    {name: 'succeeded → True', input: {type: 'Ready', state: 'CONDITION_SUCCEEDED'}, want: {type: 'Ready', status: 'True'}},
    {
      name: 'failed → False with reason, message, severity Error',
      input: {
        type: 'Ready',
        state: 'CONDITION_FAILED',
        reason: 'REVISION_FAILED',
        message: 'boom',
        severity: 'ERROR',
        lastTransitionTime: ts(1),
      },
      want: {
        type: 'Ready',
        status: 'False',
        reason: 'REVISION_FAILED',
        message: 'boom',
        severity: 'Error',
        lastTransitionTime: '1970-01-01T00:00:01Z',
      },
    },
    {name: 'reconciling → Unknown', input: {type: 'Ready', state: 'CONDITION_RECONCILING'}, want: {type: 'Ready', status: 'Unknown'}},
    {name: 'pending → Unknown', input: {type: 'RoutesReady', state: 'CONDITION_PENDING'}, want: {type: 'RoutesReady', status: 'Unknown'}},
    {
      name: 'a revision reason is the reason',
      input: {type: 'ContainerHealthy', state: 'CONDITION_FAILED', revisionReason: 'HEALTH_CHECK_CONTAINER_ERROR'},
      want: {type: 'ContainerHealthy', status: 'False', reason: 'HEALTH_CHECK_CONTAINER_ERROR'},
    },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(knativeCondition(row.input), row.want));
});

describe('a Knative Service PUT back onto v2', () => {
  const current = stored();
  const k = knativeService(current, ctx);
  const template = (s: V2Service) => canonicalJson(s.template);

  it('sent back unchanged (with gcloud’s own annotations and nonce): the same template, so no new revision', () => {
    const v2 = v2ServiceFromKnative(
      current,
      asGcloudSends(k, () => undefined),
    );
    assert.equal(template(v2), template(current));
    assert.deepEqual(v2.labels, current.labels);
    assert.deepEqual(v2.annotations, current.annotations);
    assert.deepEqual(v2.traffic, current.traffic);
    assert.equal(v2.etag, 'etag-3');
  });

  const rows: Array<{name: string; change: Parameters<typeof asGcloudSends>[1]; wantEnv: unknown}> = [
    {
      name: '--update-env-vars B=2: env gains B, the secret reference stays',
      change: (c) => c.env!.push({name: 'B', value: '2'}),
      wantEnv: [
        {name: 'A', value: '1'},
        {name: 'S', valueSource: {secretKeyRef: {secret: 'db', version: '2'}}},
        {name: 'B', value: '2'},
      ],
    },
    {
      name: '--update-env-vars A=changed',
      change: (c) => (c.env![0].value = 'changed'),
      wantEnv: [
        {name: 'A', value: 'changed'},
        {name: 'S', valueSource: {secretKeyRef: {secret: 'db', version: '2'}}},
      ],
    },
    {
      name: '--remove-env-vars A',
      change: (c) => (c.env = c.env!.filter((e) => e.name !== 'A')),
      wantEnv: [{name: 'S', valueSource: {secretKeyRef: {secret: 'db', version: '2'}}}],
    },
    {name: '--clear-env-vars: no env at all', change: (c) => delete c.env, wantEnv: undefined},
  ];
  for (const row of rows) {
    it(`${row.name}; every field v1 has no word for stays`, () => {
      const v2 = v2ServiceFromKnative(current, asGcloudSends(k, row.change));
      const c = v2.template!.containers![0] as Record<string, unknown>;
      assert.deepEqual(c.env, row.wantEnv);
      const others = (t: V2Service['template']) => {
        const copy = JSON.parse(JSON.stringify(t)) as {containers: Array<{env?: unknown}>};
        delete copy.containers[0].env;
        return canonicalJson(copy);
      };
      assert.equal(others(v2.template), others(current.template), 'only env changed');
      assert.deepEqual((c.resources as {cpuIdle?: boolean}).cpuIdle, true);
      assert.deepEqual(c.volumeMounts, [{name: 'v', mountPath: '/data'}]);
    });
  }

  it('metadata changes: the location label and server annotations are not stored; a revision name becomes template.revision', () => {
    const sent = asGcloudSends(k, () => undefined);
    sent.metadata.labels = {...sent.metadata.labels, team: 'a'};
    sent.spec.template.metadata!.name = 'web-custom';
    sent.spec.template.metadata!.annotations!['autoscaling.knative.dev/minScale'] = '1';
    const v2 = v2ServiceFromKnative(current, sent);
    assert.deepEqual(v2.labels, {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v3', team: 'a'});
    assert.deepEqual(v2.annotations, {'dropdeploy.dev/source': 'gs://b/web/v3.tgz#1'});
    assert.equal(v2.template?.revision, 'web-custom');
    assert.deepEqual(v2.template?.scaling, {maxInstanceCount: 4, minInstanceCount: 1});
    assert.deepEqual(v2.template?.labels, {'managed-by': 'dropdeploy'});
  });

  it('traffic: pinned revision and a tag', () => {
    const sent = asGcloudSends(k, () => undefined);
    sent.spec.traffic = [
      {revisionName: 'web-00002-old', percent: 90},
      {latestRevision: true, percent: 10, tag: 'next'},
    ];
    assert.deepEqual(v2ServiceFromKnative(current, sent).traffic, [
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'web-00002-old', percent: 90},
      {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 10, tag: 'next'},
    ]);
  });

  const problems: Array<{name: string; input: unknown; want: RegExp | undefined}> = [
    {name: 'what was read is fine', input: k, want: undefined},
    {name: 'not an object', input: 'x', want: /must be a serving\.knative\.dev\/v1 Service/},
    {
      name: 'another name',
      input: {...k, metadata: {...k.metadata, name: 'other'}},
      want: /metadata\.name 'other' does not match the service 'web'/,
    },
    {
      name: 'no containers',
      input: {...k, spec: {template: {spec: {containers: []}}}},
      want: /spec\.template\.spec\.containers: at least one/,
    },
    {
      name: 'a container without image',
      input: {...k, spec: {template: {spec: {containers: [{}]}}}},
      want: /containers\[0\]\.image: image is required/,
    },
    {
      name: 'a traffic target with neither revision nor latest',
      input: {...k, spec: {...k.spec, traffic: [{percent: 100}]}},
      want: /spec\.traffic: each target needs latestRevision/,
    },
  ];
  for (const row of problems) {
    it(`problem: ${row.name}`, () => {
      const got = knativeServiceProblem(row.input, 'web');
      if (row.want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', row.want);
    });
  }
});

describe('Cloud Run v1 view of a v2 revision', () => {
  const rev: Revision & {createTime: ReturnType<typeof ts>; uid: string} = {
    name: `${NAME}/revisions/web-00003-abc`,
    uid: 'r-1',
    service: NAME,
    createTime: ts(1_700_000_000),
    creator: 'dd@example.com',
    etag: 'e',
    logUri: 'http://127.0.0.1:1/logs/web-00003-abc',
    labels: {'managed-by': 'dropdeploy'},
    containers: [{image: IMAGE, env: [{name: 'A', value: '1'}]}],
    conditions: [{type: 'Ready', state: 'CONDITION_SUCCEEDED'}],
  };
  it('serving: labels tie it to its service and route, Active True, image digest and log URL in status', () => {
    const r = knativeRevision(rev, ctx, true);
    assert.equal(r.metadata.name, 'web-00003-abc');
    assert.deepEqual(r.metadata.labels, {
      'managed-by': 'dropdeploy',
      'serving.knative.dev/service': 'web',
      'serving.knative.dev/configuration': 'web',
      'serving.knative.dev/route': 'web',
      'cloud.googleapis.com/location': 'europe-west1',
    });
    assert.deepEqual(
      r.status.conditions.map((c) => `${c.type}=${c.status}`),
      ['Ready=True', 'Active=True'],
    );
    assert.equal(r.status.imageDigest, IMAGE);
    assert.equal(r.status.logUrl, rev.logUri);
    assert.deepEqual(r.spec.containers, [{image: IMAGE, env: [{name: 'A', value: '1'}]}]);
  });
  it('not serving: no route label, Active False', () => {
    const r = knativeRevision(rev, ctx, false);
    assert.equal(r.metadata.labels?.['serving.knative.dev/route'], undefined);
    assert.deepEqual(
      r.status.conditions.find((c) => c.type === 'Active'),
      {type: 'Active', status: 'False', reason: 'Reserve'},
    );
  });
});
