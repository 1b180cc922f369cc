import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {adoptionProblem, buildSpec, releaseOfBuild, type BuildFacts} from '../../src/releases/build-request';

const config = {
  projectId: 'p-123',
  region: 'europe-west1',
  repository: 'dropdeploy',
  firestore: {root: 'dropdeploy'},
  build: {timeoutSeconds: 900},
};
const source = {bucket: 'dd-sources', object: 'hello/v3.tar.gz', generation: '1700000000000001'};

describe('buildSpec', () => {
  const spec = buildSpec(config, {service: 'hello', release: 3}, source);
  it('reads exactly the uploaded generation', () => {
    assert.deepEqual(spec.source, {storageSource: {bucket: 'dd-sources', object: 'hello/v3.tar.gz', generation: '1700000000000001'}});
  });
  it('pushes the release-tagged image', () => assert.deepEqual(spec.images, ['europe-west1-docker.pkg.dev/p-123/dropdeploy/hello:v3']));
  it('tags and substitutions identify the release', () => {
    assert.deepEqual(spec.tags, ['dropdeploy', 'dd-dropdeploy-hello-v3']);
    assert.deepEqual(spec.substitutions, {_DD_ROOT: 'dropdeploy', _DD_SERVICE: 'hello', _DD_RELEASE: '3'});
    assert.deepEqual(releaseOfBuild(spec, 'dropdeploy'), {service: 'hello', release: 3});
    assert.equal(releaseOfBuild(spec, 'staging'), undefined, "another installation's build");
  });
  it('builds with a Dockerfile when present, else with buildpacks', () => {
    const script = spec.steps[0].args[1];
    assert.match(
      script,
      /if \[ -f Dockerfile \]; then\n {2}docker build --network=cloudbuild -t europe-west1-docker\.pkg\.dev\/p-123\/dropdeploy\/hello:v3 \./,
    );
    assert.match(script, /gcr\.io\/k8s-skaffold\/pack build \S+hello:v3 --builder gcr\.io\/buildpacks\/builder:latest/);
    assert.ok(!script.includes('$'), 'no $ for Cloud Build substitution to touch');
    assert.deepEqual(spec.steps[0].env, []);
  });
  it('uses config timeout; no service account → default logging', () => {
    assert.deepEqual(spec.timeout, {seconds: 900});
    assert.equal(spec.serviceAccount, undefined);
    assert.deepEqual(spec.options, {substitutionOption: 'ALLOW_LOOSE'});
  });
  it('a build service account gets CLOUD_LOGGING_ONLY, machine type passes through', () => {
    const s = buildSpec(
      {...config, build: {timeoutSeconds: 600, serviceAccount: 'builder@p-123.iam.gserviceaccount.com', machineType: 'E2_HIGHCPU_8'}},
      {service: 'hello', release: 1},
      source,
    );
    assert.equal(s.serviceAccount, 'projects/p-123/serviceAccounts/builder@p-123.iam.gserviceaccount.com');
    assert.equal(s.options.logging, 'CLOUD_LOGGING_ONLY');
    assert.equal(s.options.machineType, 'E2_HIGHCPU_8');
  });
  it('a function source passes GOOGLE_FUNCTION_TARGET and signature type to the buildpacks', () => {
    const s = buildSpec(config, {service: 'fn', release: 2}, {...source, functionTarget: 'helloHttp', signatureType: 'cloudevent'});
    assert.deepEqual(s.steps[0].env, ['GOOGLE_FUNCTION_TARGET=helloHttp', 'GOOGLE_FUNCTION_SIGNATURE_TYPE=cloudevent']);
    assert.match(s.steps[0].args[1], / -e GOOGLE_FUNCTION_TARGET -e GOOGLE_FUNCTION_SIGNATURE_TYPE gcr\.io\/k8s-skaffold\/pack/);
    assert.match(s.steps[0].args[1], /--env GOOGLE_FUNCTION_TARGET --env GOOGLE_FUNCTION_SIGNATURE_TYPE$/m);
  });
});

describe('releaseOfBuild', () => {
  const cases = [
    {
      name: 'ours',
      b: {tags: ['dropdeploy'], substitutions: {_DD_ROOT: 'dropdeploy', _DD_SERVICE: 'a', _DD_RELEASE: '2'}},
      want: {service: 'a', release: 2},
    },
    {
      name: 'no dropdeploy tag',
      b: {tags: ['other'], substitutions: {_DD_ROOT: 'dropdeploy', _DD_SERVICE: 'a', _DD_RELEASE: '2'}},
      want: undefined,
    },
    {
      name: 'another installation',
      b: {tags: ['dropdeploy'], substitutions: {_DD_ROOT: 'staging', _DD_SERVICE: 'a', _DD_RELEASE: '2'}},
      want: undefined,
    },
    {name: 'no substitutions', b: {tags: ['dropdeploy']}, want: undefined},
    {
      name: 'bad release number',
      b: {tags: ['dropdeploy'], substitutions: {_DD_ROOT: 'dropdeploy', _DD_SERVICE: 'a', _DD_RELEASE: 'x'}},
      want: undefined,
    },
    {name: 'nulls from the API', b: {tags: null, substitutions: null}, want: undefined},
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(releaseOfBuild(c.b, 'dropdeploy'), c.want));
});

describe('adoptionProblem', () => {
  const sa = 'builder@p-123.iam.gserviceaccount.com';
  const want = buildSpec({...config, build: {timeoutSeconds: 600, serviceAccount: sa}}, {service: 'hello', release: 3}, source);
  const exact: BuildFacts = {source: want.source.storageSource, serviceAccount: want.serviceAccount, requestedImages: want.images};
  const byDefault = buildSpec(config, {service: 'hello', release: 3}, source);
  const rows: Array<{name: string; build: BuildFacts; want: RegExp | undefined; spec?: 'default'}> = [
    {name: 'the very build the release asks for → adopted', build: exact, want: undefined},
    {
      name: 'another generation of the same object',
      build: {...exact, source: {...source, generation: '1'}},
      want: /built gs:\/\/dd-sources\/hello\/v3\.tar\.gz#1, not .*#1700000000000001/,
    },
    {name: 'another object', build: {...exact, source: {...source, object: 'evil/x.tgz'}}, want: /built gs:\/\/dd-sources\/evil\/x\.tgz/},
    {name: 'no storage source at all', build: {...exact, source: undefined}, want: /built no Cloud Storage source/},
    {
      name: 'another service account',
      build: {...exact, serviceAccount: 'projects/p-123/serviceAccounts/owner@p-123.iam.gserviceaccount.com'},
      want: /ran as projects\/p-123\/serviceAccounts\/owner@/,
    },
    {
      name: 'the default service account where one is configured',
      build: {...exact, serviceAccount: undefined},
      want: /ran as the default build service account/,
    },
    {
      name: 'another image',
      build: {...exact, requestedImages: ['europe-west1-docker.pkg.dev/p-123/other/hello:v3']},
      want: /pushes .*other\/hello:v3, not/,
    },
    {
      name: 'no account configured: whichever default Cloud Build filled in',
      build: {...exact, serviceAccount: 'projects/p-123/serviceAccounts/123-compute@developer.gserviceaccount.com'},
      want: undefined,
      spec: 'default',
    },
    {name: 'an extra image', build: {...exact, requestedImages: [...want.images, 'gcr.io/x/y']}, want: /pushes/},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = adoptionProblem(r.build, r.spec ? byDefault : want);
      if (r.want) assert.match(got ?? '', r.want);
      else assert.equal(got, undefined);
    });
  }
});
