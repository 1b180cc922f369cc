import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {newService, notManagedReason, updatedService, type RunService} from '../../src/releases/service-spec';
import {PermanentError} from '../../src/errors';

const deploy = {release: 4, image: 'r/hello@sha256:new', sourceNote: 'gs://b/hello/v4.zip#9', buildId: 'b4'};

describe('newService', () => {
  it('applies the configured defaults and sends all traffic to the latest revision', () => {
    const s = newService({ingress: 'INGRESS_TRAFFIC_ALL', memory: '1Gi', cpu: '2', maxInstances: 5, serviceAccount: 'run@p.iam.gserviceaccount.com'}, deploy);
    assert.deepEqual(s.labels, {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v4'});
    assert.deepEqual(s.annotations, {'dropdeploy.dev/source': 'gs://b/hello/v4.zip#9', 'dropdeploy.dev/build': 'b4'});
    assert.equal(s.ingress, 'INGRESS_TRAFFIC_ALL');
    assert.deepEqual(s.template, {
      labels: {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v4'},
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
    labels: {'managed-by': 'dropdeploy', 'dropdeploy-release': 'v3', team: 'payments'},
    annotations: {'dropdeploy.dev/source': 'old', 'ops.example.com/owner': 'ana'},
    ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
    template: {
      revision: 'hello-pinned',
      labels: {'dropdeploy-release': 'v3', tier: 'gold'},
      serviceAccount: 'custom@p.iam.gserviceaccount.com',
      scaling: {minInstanceCount: 1, maxInstanceCount: 3},
      containers: [
        {name: 'sidecar', image: 'r/proxy:1'},
        {name: 'app', image: 'r/hello@sha256:old', ports: [{containerPort: 8080}], env: [{name: 'GREETING', value: 'hi'}], resources: {limits: {memory: '2Gi', cpu: '1'}}},
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
    assert.deepEqual(got.template!.containers![1].env, [{name: 'GREETING', value: 'hi'}]);
    assert.deepEqual(got.template!.containers![1].resources, {limits: {memory: '2Gi', cpu: '1'}});
    assert.equal(got.template!.serviceAccount, 'custom@p.iam.gserviceaccount.com');
    assert.deepEqual(got.template!.scaling, {minInstanceCount: 1, maxInstanceCount: 3});
    assert.equal(got.ingress, 'INGRESS_TRAFFIC_INTERNAL_ONLY');
    assert.equal(got.etag, '"abc"', 'the etag goes back so a concurrent change is refused');
    assert.equal(got.labels!.team, 'payments');
    assert.equal(got.annotations!['ops.example.com/owner'], 'ana');
    assert.equal(got.template!.labels!.tier, 'gold');
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
    const withTag = {...existing, annotations: {'dropdeploy.dev/build': 'b3'}, traffic: [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 0, tag: 'preview'}]};
    const rolled = updatedService(withTag, {release: 5, image: 'r/hello@sha256:old', sourceNote: 'rollback to v2'}, 'hello');
    assert.deepEqual(rolled.traffic, [{type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100}, {type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'hello-00002-abc', percent: 0, tag: 'preview'}]);
    assert.equal(rolled.annotations!['dropdeploy.dev/build'], undefined);
    assert.equal(rolled.annotations!['dropdeploy.dev/source'], 'rollback to v2');
  });
  it('does not modify its input', () => {
    assert.equal(existing.template!.containers![1].image, 'r/hello@sha256:old');
    assert.equal(existing.labels!['dropdeploy-release'], 'v3');
  });
  it('refuses a service dropdeploy does not manage', () => {
    const foreign = {...existing, labels: {team: 'payments'}};
    assert.match(notManagedReason(foreign, 'hello')!, /not managed by dropdeploy.*managed-by=dropdeploy/);
    assert.throws(() => updatedService(foreign, deploy, 'hello'), (e: unknown) => e instanceof PermanentError && e.code === 'NOT_MANAGED');
  });
});
