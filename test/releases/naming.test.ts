import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {
  classifyObject,
  functionSettings,
  imageByDigest,
  imageProblem,
  releaseImageTag,
  rolloutOverride,
  serviceNameProblem,
  sourceKey,
} from '../../src/releases/naming';

describe('classifyObject', () => {
  const cases: Array<{name: string; object: string; prefix?: string; want: {kind: string; service?: string; reason?: RegExp}}> = [
    {name: 'service folder, tar.gz', object: 'hello/v3.tar.gz', want: {kind: 'source', service: 'hello'}},
    {name: 'service folder, deep path', object: 'hello/ci/build-77.tgz', want: {kind: 'source', service: 'hello'}},
    {name: 'zip', object: 'api-2/src.zip', want: {kind: 'source', service: 'api-2'}},
    {name: 'top level names the service by file', object: 'hello.tar.gz', want: {kind: 'source', service: 'hello'}},
    {name: 'extension is case-insensitive', object: 'hello/V3.TAR.GZ', want: {kind: 'source', service: 'hello'}},
    {name: 'prefix stripped', object: 'deploy/hello/v1.zip', prefix: 'deploy/', want: {kind: 'source', service: 'hello'}},
    {
      name: 'outside the prefix',
      object: 'other/hello/v1.zip',
      prefix: 'deploy/',
      want: {kind: 'ignored', reason: /outside the configured prefix/},
    },
    {name: 'not an archive', object: 'hello/readme.md', want: {kind: 'ignored', reason: /not a source archive/}},
    {name: 'tar without gzip', object: 'hello/v1.tar', want: {kind: 'ignored', reason: /not a source archive/}},
    {name: 'folder placeholder', object: 'hello/', want: {kind: 'ignored'}},
    {name: 'uppercase service', object: 'Hello/v1.tar.gz', want: {kind: 'rejected', reason: /uppercase/}},
    {name: 'starts with digit', object: '1hello/v1.tar.gz', want: {kind: 'rejected', reason: /start with a letter/}},
    {name: 'trailing hyphen', object: 'hello-/v1.tar.gz', want: {kind: 'rejected', reason: /end with a hyphen/}},
    {name: 'underscore', object: 'hello_world/v1.tar.gz', want: {kind: 'rejected', reason: /lowercase letters, digits and hyphens/}},
    {name: '50 characters', object: `${'a'.repeat(50)}/v1.tar.gz`, want: {kind: 'rejected', reason: /at most 49/}},
    {name: '49 characters is fine', object: `${'a'.repeat(49)}/v1.tar.gz`, want: {kind: 'source', service: 'a'.repeat(49)}},
    {name: 'empty service segment', object: '/v1.tar.gz', want: {kind: 'rejected', reason: /empty/}},
    {name: 'dot-dot segment', object: '../v1.tar.gz', want: {kind: 'rejected'}},
    {name: 'only an extension', object: 'hello/.tar.gz', want: {kind: 'rejected', reason: /no file name/}},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = classifyObject(c.object, c.prefix);
      assert.equal(got.kind, c.want.kind, JSON.stringify(got));
      if (c.want.service) assert.equal((got as {service: string}).service, c.want.service);
      if (c.want.reason) assert.match((got as {reason: string}).reason, c.want.reason);
    });
  }
  it('a rejection says how to fix it', () => {
    const got = classifyObject('My App/v1.zip');
    assert.equal(got.kind, 'rejected');
    assert.match((got as {reason: string}).reason, /rename the object to <service>\/<file>\.zip/);
  });
});

describe('classifyObject: previews', () => {
  const cases: Array<{name: string; object: string; want: {kind: string; service?: string; preview?: string; reason?: RegExp}}> = [
    {name: 'a preview', object: 'web/previews/pr-7.tgz', want: {kind: 'source', service: 'web', preview: 'pr-7'}},
    {name: 'zip and tar.gz too', object: 'web/previews/docs.tar.gz', want: {kind: 'source', service: 'web', preview: 'docs'}},
    {name: 'upper-case extension', object: 'web/previews/docs.ZIP', want: {kind: 'source', service: 'web', preview: 'docs'}},
    {name: 'a file named previews is the main line', object: 'web/previews.tgz', want: {kind: 'source', service: 'web'}},
    {name: 'another folder is the main line', object: 'web/preview/x.tgz', want: {kind: 'source', service: 'web'}},
    {
      name: 'rollout-v<digits> is reserved for rollouts',
      object: 'web/previews/rollout-v12.tgz',
      want: {kind: 'rejected', reason: /reserved: tags rollout-v<digits>/},
    },
    {name: 'v12, a name people give tags, is a preview', object: 'web/previews/v12.tgz', want: {kind: 'source', preview: 'v12'}},
    {name: 'v-something is fine', object: 'web/previews/v12-docs.tgz', want: {kind: 'source', preview: 'v12-docs'}},
    {name: 'uppercase', object: 'web/previews/PR-7.tgz', want: {kind: 'rejected', reason: /uppercase/}},
    {name: 'starts with a digit', object: 'web/previews/7.tgz', want: {kind: 'rejected', reason: /start with a letter/}},
    {name: 'trailing hyphen', object: 'web/previews/pr-.tgz', want: {kind: 'rejected', reason: /end with a hyphen/}},
    {name: 'underscore', object: 'web/previews/pr_7.tgz', want: {kind: 'rejected', reason: /lowercase letters, digits and hyphens/}},
    {name: 'a subfolder', object: 'web/previews/a/b.tgz', want: {kind: 'rejected', reason: /subfolder/}},
    {name: 'no name', object: 'web/previews/.tgz', want: {kind: 'rejected', reason: /no file name/}},
    {
      name: 'tag and service at 46 characters',
      object: `web/previews/${'a'.repeat(43)}.tgz`,
      want: {kind: 'source', preview: 'a'.repeat(43)},
    },
    {
      name: 'tag and service over 46 characters',
      object: `web/previews/${'a'.repeat(44)}.tgz`,
      want: {kind: 'rejected', reason: /at most 46/},
    },
    {name: 'an invalid service still names the problem', object: 'Web/previews/pr.tgz', want: {kind: 'rejected', reason: /uppercase/}},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = classifyObject(c.object);
      assert.equal(got.kind, c.want.kind, JSON.stringify(got));
      if (c.want.service) assert.equal((got as {service: string}).service, c.want.service);
      if (got.kind === 'source') assert.equal(got.preview, c.want.preview);
      if (c.want.reason) assert.match((got as {reason: string}).reason, c.want.reason);
    });
  }
  it('a rejected preview says how to fix it', () => {
    const got = classifyObject('web/previews/Bad.tgz');
    assert.match((got as {reason: string}).reason, /rename the object to web\/previews\/<name>\.tgz/);
  });
});

describe('serviceNameProblem', () => {
  for (const ok of ['a', 'hello', 'a-b-c', 'x1', 'a'.repeat(49)])
    it(`"${ok}" is valid`, () => assert.equal(serviceNameProblem(ok), undefined));
  for (const bad of ['', 'A', '-a', 'a-', 'a.b', 'a/b', '..', 'a b', 'ü', 'a'.repeat(50)]) {
    it(`"${bad}" is invalid`, () => assert.ok(serviceNameProblem(bad)));
  }
});

describe('functionSettings', () => {
  const cases: Array<{name: string; md: Record<string, string>; want: {ok: boolean; [k: string]: unknown}}> = [
    {name: 'no metadata: an app', md: {}, want: {ok: true}},
    {name: 'target only: http', md: {'function-target': 'helloHttp'}, want: {ok: true, functionTarget: 'helloHttp', signatureType: 'http'}},
    {
      name: 'cloudevent',
      md: {'function-target': 'onEvent', 'function-signature-type': 'cloudevent'},
      want: {ok: true, functionTarget: 'onEvent', signatureType: 'cloudevent'},
    },
    {name: 'signature without target', md: {'function-signature-type': 'http'}, want: {ok: false}},
    {name: 'target with shell characters', md: {'function-target': 'x; rm -rf /'}, want: {ok: false}},
    {name: 'unknown signature', md: {'function-target': 'x', 'function-signature-type': 'grpc'}, want: {ok: false}},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = functionSettings(c.md);
      if (c.want.ok) assert.deepEqual(got, c.want);
      else assert.equal(got.ok, false);
    });
  }
});

describe('rolloutOverride: metadata dropdeploy-rollout', () => {
  const rows: Array<{name: string; input: Record<string, string>; want: {ok: true; rollout?: object} | RegExp}> = [
    {name: 'absent: the service policy applies', input: {'function-target': 'x'}, want: {ok: true}},
    {name: 'a strategy name', input: {'dropdeploy-rollout': 'verified'}, want: {ok: true, rollout: {strategy: 'verified'}}},
    {
      name: 'a partial JSON policy',
      input: {'dropdeploy-rollout': '{"strategy":"canary","steps":[20,100],"check":{"path":"/healthz"}}'},
      want: {ok: true, rollout: {strategy: 'canary', steps: [20, 100], check: {path: '/healthz'}}},
    },
    {name: 'an empty JSON object overrides nothing', input: {'dropdeploy-rollout': '{}'}, want: {ok: true}},
    {
      name: 'an unknown strategy',
      input: {'dropdeploy-rollout': 'bluegreen'},
      want: /^metadata dropdeploy-rollout is "bluegreen", neither a strategy .*or leave it out/,
    },
    {name: 'empty', input: {'dropdeploy-rollout': ''}, want: /^metadata dropdeploy-rollout is "", neither/},
    {name: 'broken JSON', input: {'dropdeploy-rollout': '{"steps":[10,100]'}, want: /^metadata dropdeploy-rollout is not valid JSON/},
    {
      name: 'a bad field, named',
      input: {'dropdeploy-rollout': '{"interval":"5m"}'},
      want: /^metadata dropdeploy-rollout field interval must be a Google JSON Duration.*"300s"/,
    },
    {
      // Bucket-write rights must not pick the regions and projects a service deploys to.
      name: 'targets are refused: they are set through the service policy only',
      input: {'dropdeploy-rollout': '{"targets":[{"region":"us-central1"},{"region":"asia-east1","project":"someone-elses"}]}'},
      want: /^metadata dropdeploy-rollout may not set targets: .*`dropdeploy policy <service> --targets .*PATCH \/v1\/services\/<service>\/policy/,
    },
    {
      name: 'targetOrder is refused',
      input: {'dropdeploy-rollout': '{"strategy":"immediate","targetOrder":"parallel"}'},
      want: /^metadata dropdeploy-rollout may not set targetOrder: /,
    },
    {
      name: 'onTargetFailure is refused',
      input: {'dropdeploy-rollout': '{"onTargetFailure":"rollback"}'},
      want: /^metadata dropdeploy-rollout may not set onTargetFailure: /,
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = rolloutOverride(r.input);
      if (r.want instanceof RegExp) assert.match(got.ok ? '(accepted)' : got.reason, r.want);
      else assert.deepEqual(got, r.want);
    });
  }
});

describe('image names', () => {
  const cfg = {region: 'europe-west1', projectId: 'p-123', repository: 'dropdeploy'};
  it('tags the release image with vN', () =>
    assert.equal(releaseImageTag(cfg, 'hello', 3), 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello:v3'));
  it('deploys by digest, never by tag', () => {
    assert.equal(
      imageByDigest('europe-west1-docker.pkg.dev/p-123/dropdeploy/hello:v3', 'sha256:abc'),
      'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello@sha256:abc',
    );
    assert.equal(imageByDigest('localhost:5000/r/hello:v3', 'sha256:abc'), 'localhost:5000/r/hello@sha256:abc');
  });
});

describe('sourceKey', () => {
  it('differs per generation and has no slash', () => {
    const a = sourceKey('b', 'hello/v1.tar.gz', '1');
    assert.notEqual(a, sourceKey('b', 'hello/v1.tar.gz', '2'));
    assert.ok(!a.includes('/'));
  });
  it('is never "." or ".."', () => assert.notEqual(sourceKey('.', '.', ''), '..'));
});

describe("classifyObject: the controller's own functions", () => {
  it('an upload naming one of them is rejected with the reason', () => {
    const got = classifyObject('dropdeploy-api/x.tgz', '', ['dropdeploy-events', 'dropdeploy-api']);
    assert.equal(got.kind, 'rejected');
    assert.match(
      got.kind === 'rejected' ? got.reason : '',
      /"dropdeploy-api" is one of dropdeploy's own functions \(DROPDEPLOY_CONTROLLER_SERVICES\).*another service name/,
    );
  });
  it('other services are sources as before', () => {
    assert.deepEqual(classifyObject('dropdeploy-apis/x.tgz', '', ['dropdeploy-api']), {kind: 'source', service: 'dropdeploy-apis'});
  });
});

describe('imageProblem', () => {
  const c = {region: 'europe-west1', projectId: 'p-123', repository: 'dropdeploy'};
  const digest = 'sha256:' + 'ab'.repeat(32);
  const rows: Array<{name: string; image: string; ok: boolean}> = [
    {
      name: "the service's image in the repository, by digest",
      image: `europe-west1-docker.pkg.dev/p-123/dropdeploy/hello@${digest}`,
      ok: true,
    },
    {name: 'a tag, not a digest', image: 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello:v3', ok: false},
    {name: 'another repository', image: `europe-west1-docker.pkg.dev/p-123/other/hello@${digest}`, ok: false},
    {name: "another service's image", image: `europe-west1-docker.pkg.dev/p-123/dropdeploy/hello-admin@${digest}`, ok: false},
    {name: 'another registry', image: `gcr.io/p-123/hello@${digest}`, ok: false},
    {name: 'a malformed digest', image: 'europe-west1-docker.pkg.dev/p-123/dropdeploy/hello@sha256:xyz', ok: false},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = imageProblem(c, 'hello', r.image);
      if (r.ok) assert.equal(got, undefined);
      else assert.match(got ?? '', /is not europe-west1-docker\.pkg\.dev\/p-123\/dropdeploy\/hello@sha256:<digest>/);
    });
  }
});
