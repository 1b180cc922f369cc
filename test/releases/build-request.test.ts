import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {adoptionProblem, buildSpec, releaseOfBuild, type BuildFacts} from '../../src/releases/build-request';
import {buildCacheImage} from '../../src/releases/build-cache';
import {imageProblem, imageRepository} from '../../src/releases/naming';

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

describe('buildSpec with and without the build cache', () => {
  const repo = 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello';
  const fnSource = {...source, functionTarget: 'helloHttp', signatureType: 'cloudevent' as const};
  const fnEnv = ['GOOGLE_FUNCTION_TARGET=helloHttp', 'GOOGLE_FUNCTION_SIGNATURE_TYPE=cloudevent'];
  // What each row's steps must say: the step ids and images, then for each builder kind the lines
  // its script must hold (match) and must not (absent).
  const rows: Array<{
    name: string;
    input: {cache?: boolean; source: typeof source | typeof fnSource};
    want: {steps: Array<[id: string, name: string]>; env: string[]; match: RegExp[]; absent: RegExp[]};
  }> = [
    {
      name: 'cache off: the one uncached step, pack into the worker docker, nothing of a cache',
      input: {cache: false, source},
      want: {
        steps: [['build', 'gcr.io/cloud-builders/docker']],
        env: [],
        match: [
          /^ {2}docker build --network=cloudbuild -t europe-west1-docker\.pkg\.dev\/p-123\/dropdeploy\/hello:v3 \.$/m,
          /docker run --rm .* gcr\.io\/k8s-skaffold\/pack build \S+hello:v3 --builder gcr\.io\/buildpacks\/builder:latest --network cloudbuild --path \/workspace$/m,
        ],
        absent: [/cache/i, /--publish/],
      },
    },
    {
      name: 'cache unset in the request config: as off (parseConfig sets it; default on)',
      input: {source},
      want: {steps: [['build', 'gcr.io/cloud-builders/docker']], env: [], match: [], absent: [/cache/i]},
    },
    {
      name: 'cache on, Dockerfile: pull the cache (none yet is no failure), --cache-from with inline metadata, push it',
      input: {cache: true, source},
      want: {
        steps: [
          ['build', 'gcr.io/cloud-builders/docker'],
          ['buildpacks', 'gcr.io/k8s-skaffold/pack'],
          ['pull', 'gcr.io/cloud-builders/docker'],
        ],
        env: [],
        match: [
          new RegExp(`^ {2}docker pull ${repo}/cache:dockerfile \\|\\| echo 'No build cache yet; this build makes it'$`, 'm'),
          new RegExp(
            `^ {2}docker build --network=cloudbuild --cache-from ${repo}/cache:dockerfile --build-arg BUILDKIT_INLINE_CACHE=1 -t ${repo}:v3 -t ${repo}/cache:dockerfile \\.$`,
            'm',
          ),
          new RegExp(`^ {2}docker push ${repo}/cache:dockerfile \\|\\| echo 'warning: `, 'm'),
        ],
        absent: [/docker run/],
      },
    },
    {
      name: 'cache on, buildpacks: pack as its own step publishes with the cache image, then the image is pulled for Cloud Build to push',
      input: {cache: true, source},
      want: {
        steps: [
          ['build', 'gcr.io/cloud-builders/docker'],
          ['buildpacks', 'gcr.io/k8s-skaffold/pack'],
          ['pull', 'gcr.io/cloud-builders/docker'],
        ],
        env: [],
        match: [
          /^if \[ -f Dockerfile \]; then exit 0; fi$/m,
          new RegExp(
            `^pack build ${repo}:v3 --builder gcr\\.io/buildpacks/builder:latest --network cloudbuild --path /workspace --cache-image ${repo}/cache:buildpacks --publish$`,
            'm',
          ),
          new RegExp(`^if \\[ ! -f Dockerfile \\]; then docker pull ${repo}:v3; fi$`, 'm'),
        ],
        absent: [],
      },
    },
    {
      name: 'cache on, a function: every step carries the target, pack forwards it by name',
      input: {cache: true, source: fnSource},
      want: {
        steps: [
          ['build', 'gcr.io/cloud-builders/docker'],
          ['buildpacks', 'gcr.io/k8s-skaffold/pack'],
          ['pull', 'gcr.io/cloud-builders/docker'],
        ],
        env: fnEnv,
        match: [/--publish --env GOOGLE_FUNCTION_TARGET --env GOOGLE_FUNCTION_SIGNATURE_TYPE$/m],
        absent: [/helloHttp/],
      },
    },
    {
      name: 'cache off, a function: the uncached step forwards it to pack as before',
      input: {cache: false, source: fnSource},
      want: {
        steps: [['build', 'gcr.io/cloud-builders/docker']],
        env: fnEnv,
        match: [/ -e GOOGLE_FUNCTION_TARGET -e GOOGLE_FUNCTION_SIGNATURE_TYPE gcr\.io\/k8s-skaffold\/pack/],
        absent: [/helloHttp/, /cache/i],
      },
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const spec = buildSpec({...config, build: {...config.build, cache: r.input.cache}}, {service: 'hello', release: 3}, r.input.source);
      assert.deepEqual(
        spec.steps.map((s) => [s.id, s.name]),
        r.want.steps,
      );
      const scripts = spec.steps.map((s) => s.args[1]).join('\n');
      for (const m of r.want.match) assert.match(scripts, m);
      for (const a of r.want.absent) assert.doesNotMatch(scripts, a);
      for (const s of spec.steps) assert.deepEqual(s.env, r.want.env, `env of step ${s.id}`);
      assert.ok(!scripts.includes('$'), 'no $ for Cloud Build substitution to touch');
      // What the controller reads back and adoption compares is the same with or without cache.
      assert.deepEqual(spec.images, [`${repo}:v3`]);
      assert.deepEqual(spec.source, {storageSource: source});
    });
  }
  it('each step of a cached build runs only for its kind of source', () => {
    const [docker, pack, pull] = buildSpec(
      {...config, build: {...config.build, cache: true}},
      {service: 'hello', release: 3},
      source,
    ).steps;
    assert.match(
      docker.args[1],
      /^set -eu\nif \[ -f Dockerfile \]; then\n[^]*\nelse\n {2}echo 'No Dockerfile: the buildpacks step builds this source'\nfi$/,
    );
    assert.equal(pack.entrypoint, 'sh', 'the pack image has sh, not bash');
    assert.match(pack.args[1], /^set -eu\nif \[ -f Dockerfile \]; then exit 0; fi\npack build /);
    assert.match(pull.args[1], /^set -eu\nif \[ ! -f Dockerfile \]; then docker pull /);
  });
  it('adoption is the same with or without cache: a build started before the setting changed is still adopted', () => {
    const cached = buildSpec({...config, build: {...config.build, cache: true}}, {service: 'hello', release: 3}, source);
    const cold = buildSpec(config, {service: 'hello', release: 3}, source);
    const facts: BuildFacts = {source: cold.source.storageSource, requestedImages: cold.images};
    assert.equal(adoptionProblem(facts, cached), undefined);
  });
});

describe('buildCacheImage', () => {
  const c = {region: 'europe-west1', projectId: 'p-123', repository: 'dropdeploy'};
  const rows = [
    {
      name: 'buildpacks',
      input: {service: 'hello', kind: 'buildpacks' as const},
      want: 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello/cache:buildpacks',
    },
    {
      name: 'dockerfile',
      input: {service: 'hello', kind: 'dockerfile' as const},
      want: 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello/cache:dockerfile',
    },
    {
      name: 'a service named like another one with -cache keeps its own images apart',
      input: {service: 'hello-cache', kind: 'buildpacks' as const},
      want: 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello-cache/cache:buildpacks',
    },
  ];
  for (const r of rows) it(r.name, () => assert.equal(buildCacheImage(c, r.input.service, r.input.kind), r.want));
  it('never the image of any service', () => {
    const cache = buildCacheImage(c, 'hello', 'buildpacks');
    assert.ok(!cache.startsWith(`${imageRepository(c, 'hello')}:`));
    assert.equal(imageProblem(c, 'hello', `${cache.replace(/:buildpacks$/, '')}@sha256:${'a'.repeat(64)}`) !== undefined, true);
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
