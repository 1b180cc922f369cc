import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {durations, parseConfig} from '../src/config';
import {ConfigError} from '../src/errors';
import {DEFAULT_POLICY, type RolloutPolicy} from '../src/releases/rollout-policy';

const valid = {
  DROPDEPLOY_PROJECT: 'my-project',
  DROPDEPLOY_REGION: 'europe-west1',
  DROPDEPLOY_REPOSITORY: 'dropdeploy',
  DROPDEPLOY_STATUS_TOPIC: 'dropdeploy-status',
  DROPDEPLOY_BUCKETS: 'my-sources, gs://other-sources',
  // The default API auth (google-id-token) needs both, or the controller refuses to start.
  DROPDEPLOY_API_AUDIENCE: 'https://dd-api.example',
  DROPDEPLOY_ADMIN_PRINCIPALS: 'user:ops@example.com',
};

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.problems;
  }
  return [];
}

describe('parseConfig', () => {
  it('parses a minimal environment with defaults', () => {
    const c = parseConfig(valid);
    assert.equal(c.projectId, 'my-project');
    assert.deepEqual(c.buckets, ['my-sources', 'other-sources']);
    assert.equal(c.prefix, '');
    assert.equal(c.build.timeoutSeconds, 1200);
    assert.equal(c.build.cache, true, 'builds use their cache images unless told not to');
    assert.equal(c.service.ingress, 'INGRESS_TRAFFIC_ALL');
    assert.deepEqual(c.firestore, {databaseId: '(default)', root: 'dropdeploy'});
    assert.deepEqual(c.endpoints, {cloudBuild: undefined, cloudRun: undefined, monitoring: undefined});
    assert.equal(c.logFormat, 'json');
    assert.equal(c.preloadClients, false);
  });
  it('takes GOOGLE_CLOUD_PROJECT when DROPDEPLOY_PROJECT is unset', () => {
    const {DROPDEPLOY_PROJECT: _, ...rest} = valid;
    assert.equal(parseConfig({...rest, GOOGLE_CLOUD_PROJECT: 'from-platform'}).projectId, 'from-platform');
  });
  it('parses every optional setting', () => {
    const c = parseConfig({
      ...valid,
      DROPDEPLOY_PREFIX: 'deploy',
      DROPDEPLOY_BUILD_SERVICE_ACCOUNT: 'b@my-project.iam.gserviceaccount.com',
      DROPDEPLOY_BUILD_MACHINE_TYPE: 'E2_HIGHCPU_8',
      DROPDEPLOY_BUILD_TIMEOUT_SECONDS: '600',
      DROPDEPLOY_SERVICE_MEMORY: '1Gi',
      DROPDEPLOY_SERVICE_CPU: '2',
      DROPDEPLOY_SERVICE_MAX_INSTANCES: '10',
      DROPDEPLOY_SERVICE_INGRESS: 'internal',
      DROPDEPLOY_CLOUD_BUILD_ENDPOINT: '127.0.0.1:9100',
      DROPDEPLOY_CLOUD_RUN_ENDPOINT: 'localhost:9200',
      DROPDEPLOY_MONITORING_ENDPOINT: '127.0.0.1:9300',
      DROPDEPLOY_LOG_FORMAT: 'pretty',
      DROPDEPLOY_PRELOAD_CLIENTS: 'true',
      DROPDEPLOY_BUILD_CACHE: 'false',
    });
    assert.equal(c.prefix, 'deploy/');
    assert.equal(c.build.cache, false);
    assert.equal(c.preloadClients, true);
    assert.equal(c.build.machineType, 'E2_HIGHCPU_8');
    assert.equal(c.build.timeoutSeconds, 600);
    assert.deepEqual(c.service, {
      serviceAccount: undefined,
      memory: '1Gi',
      cpu: '2',
      maxInstances: 10,
      ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
    });
    assert.deepEqual(c.endpoints, {cloudBuild: '127.0.0.1:9100', cloudRun: 'localhost:9200', monitoring: '127.0.0.1:9300'});
  });
  it('reports every problem at once, naming each variable', () => {
    const p = problems({
      DROPDEPLOY_REGION: 'Europe',
      DROPDEPLOY_BUCKETS: 'ok-bucket,Bad_Bucket',
      DROPDEPLOY_BUILD_TIMEOUT_SECONDS: 'ten',
      DROPDEPLOY_SERVICE_INGRESS: 'public',
    });
    const text = p.join('\n');
    for (const name of [
      'DROPDEPLOY_PROJECT',
      'DROPDEPLOY_REGION',
      'DROPDEPLOY_REPOSITORY',
      'DROPDEPLOY_STATUS_TOPIC',
      'DROPDEPLOY_BUCKETS: "Bad_Bucket"',
      'DROPDEPLOY_BUILD_TIMEOUT_SECONDS',
      'DROPDEPLOY_SERVICE_INGRESS',
    ]) {
      assert.ok(text.includes(name), `mentions ${name}:\n${text}`);
    }
    assert.match(text, /DROPDEPLOY_PROJECT is not set: set it to the Google Cloud project id/);
  });
  const invalid: Array<[string, string]> = [
    ['DROPDEPLOY_BUILD_MACHINE_TYPE', 'HUGE'],
    ['DROPDEPLOY_BUILD_SERVICE_ACCOUNT', 'not-an-email'],
    ['DROPDEPLOY_SERVICE_MEMORY', '512MB'],
    ['DROPDEPLOY_SERVICE_MAX_INSTANCES', '0'],
    ['DROPDEPLOY_PREFIX', '/abs'],
    ['DROPDEPLOY_CLOUD_RUN_ENDPOINT', 'http://x'],
    ['DROPDEPLOY_MONITORING_ENDPOINT', 'http://x'],
    ['DROPDEPLOY_LEASE_SECONDS', '1'],
    ['DROPDEPLOY_LEASE_SECONDS', '540'],
    ['DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS', '900'],
    ['DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS', '2'],
    ['DROPDEPLOY_WAIT_SECONDS', '540'],
    ['DROPDEPLOY_CONTROLLER_SERVICES', 'dropdeploy-api,Bad_Name'],
    ['DROPDEPLOY_LOG_FORMAT', 'xml'],
    ['DROPDEPLOY_PRELOAD_CLIENTS', 'yes'],
    ['DROPDEPLOY_BUILD_CACHE', 'off'],
  ];
  it('time limits agree: the lease outlives the function timeout, the waits end inside it', () => {
    const c = parseConfig({...valid, DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '60', DROPDEPLOY_LEASE_SECONDS: '90'});
    assert.deepEqual([c.functionTimeoutSeconds, c.leaseSeconds, c.waitSeconds], [60, 90, 30]);
    const d = durations(c);
    assert.ok(d.handlerMs < 60_000 && d.handlerMs >= 45_000, `handler budget ${d.handlerMs}`);
    assert.ok(d.renewEveryMs < d.leaseMs);
    assert.deepEqual(durations(parseConfig(valid)), {
      leaseMs: 900_000,
      waitMs: 60_000,
      handlerMs: 510_000,
      renewEveryMs: 300_000,
      graceMs: 120_000,
      lookbackMs: 86_400_000,
    });
    assert.match(problems({...valid, DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '900'}).join('\n'), /set DROPDEPLOY_LEASE_SECONDS above it/);
  });
  it("the controller's own services: the listed ones and K_SERVICE", () => {
    const c = parseConfig({
      ...valid,
      DROPDEPLOY_CONTROLLER_SERVICES: 'dropdeploy-events, dropdeploy-api',
      K_SERVICE: 'dropdeploy-reconcile',
    });
    assert.deepEqual(c.controllerServices, ['dropdeploy-events', 'dropdeploy-api', 'dropdeploy-reconcile']);
  });
  for (const [name, value] of invalid) {
    it(`${name}=${value} is refused by name`, () => {
      const p = problems({...valid, [name]: value});
      assert.equal(p.length, 1, p.join('\n'));
      assert.ok(p[0].startsWith(name), p[0]);
    });
  }

  describe('API auth fails closed', () => {
    const {DROPDEPLOY_API_AUDIENCE: _a, DROPDEPLOY_ADMIN_PRINCIPALS: _p, ...bare} = valid;
    const cases: Array<{name: string; input: Record<string, string>; want: RegExp[]}> = [
      {
        name: 'none on Cloud Run (K_SERVICE set)',
        input: {...bare, DROPDEPLOY_API_AUTH: 'none', K_SERVICE: 'dropdeploy-api'},
        want: [/^DROPDEPLOY_API_AUTH=none is refused on Cloud Run \(K_SERVICE=dropdeploy-api is set\)/],
      },
      {
        name: 'google-id-token (the default) without audience and admins',
        input: bare,
        want: [
          /^DROPDEPLOY_API_AUDIENCE is not set: DROPDEPLOY_API_AUTH=google-id-token needs/,
          /^DROPDEPLOY_ADMIN_PRINCIPALS is not set: DROPDEPLOY_API_AUTH=google-id-token needs/,
        ],
      },
      {
        name: 'google-id-token without admins',
        input: {...bare, DROPDEPLOY_API_AUTH: 'google-id-token', DROPDEPLOY_API_AUDIENCE: 'https://x.example'},
        want: [/^DROPDEPLOY_ADMIN_PRINCIPALS is not set/],
      },
      {
        name: 'cloud-run-iam off Cloud Run (no K_SERVICE)',
        input: {...bare, DROPDEPLOY_API_AUTH: 'cloud-run-iam'},
        want: [/^DROPDEPLOY_API_AUTH=cloud-run-iam needs K_SERVICE/],
      },
      {
        name: 'a K_SERVICE that is no service name',
        input: {...bare, DROPDEPLOY_API_AUTH: 'cloud-run-iam', K_SERVICE: 'Not A Service'},
        want: [/^K_SERVICE="Not A Service" is not valid/],
      },
    ];
    for (const c of cases) {
      it(`refuses ${c.name}, naming the variables`, () => {
        const p = problems(c.input);
        assert.equal(p.length, c.want.length, p.join('\n'));
        c.want.forEach((re, i) => assert.match(p[i], re));
      });
    }
    it('reports an auth refusal together with the other problems', () => {
      const p = problems({...bare, DROPDEPLOY_REGION: '', DROPDEPLOY_API_AUTH: 'none', K_SERVICE: 'dropdeploy-api'});
      assert.ok(p.some((x) => x.startsWith('DROPDEPLOY_REGION')) && p.some((x) => x.startsWith('DROPDEPLOY_API_AUTH=none')), p.join('\n'));
    });
    const accepted: Array<{name: string; input: Record<string, string>; want: object}> = [
      {
        name: 'none off Cloud Run (the local stack)',
        input: {...bare, DROPDEPLOY_API_AUTH: 'none'},
        want: {auth: 'none', audiences: [], adminPrincipals: [], certsUrl: undefined, service: undefined},
      },
      {
        name: 'google-id-token with audience and admins',
        input: valid,
        want: {
          auth: 'google-id-token',
          audiences: ['https://dd-api.example'],
          adminPrincipals: ['user:ops@example.com'],
          certsUrl: undefined,
          service: undefined,
        },
      },
      {
        name: 'cloud-run-iam on Cloud Run; admins optional',
        input: {...bare, DROPDEPLOY_API_AUTH: 'cloud-run-iam', K_SERVICE: 'dropdeploy-api'},
        want: {auth: 'cloud-run-iam', audiences: [], adminPrincipals: [], certsUrl: undefined, service: 'dropdeploy-api'},
      },
    ];
    for (const c of accepted) {
      it(`accepts ${c.name}`, () => assert.deepEqual(parseConfig(c.input).api, c.want));
    }
  });
});

describe('DROPDEPLOY_ROLLOUT_POLICY: the default rollout policy', () => {
  const rows: Array<{name: string; input: string | undefined; want: RolloutPolicy | RegExp[]}> = [
    {name: 'unset: the built-in immediate', input: undefined, want: DEFAULT_POLICY},
    {name: 'a strategy name', input: 'canary', want: {...DEFAULT_POLICY, strategy: 'canary'}},
    {
      name: 'a partial JSON policy, merged over the built-in one',
      input: '{"strategy": "verified", "check": {"path": "/healthz"}}',
      want: {...DEFAULT_POLICY, strategy: 'verified', check: {...DEFAULT_POLICY.check, path: '/healthz'}},
    },
    {name: 'the built-in policy itself: no change', input: JSON.stringify(DEFAULT_POLICY), want: DEFAULT_POLICY},
    {name: 'not JSON', input: '{strategy: canary}', want: [/^DROPDEPLOY_ROLLOUT_POLICY is not valid JSON .*: set it to a strategy/]},
    {name: 'an unknown word', input: 'bluegreen', want: [/^DROPDEPLOY_ROLLOUT_POLICY is "bluegreen", neither a strategy/]},
    {
      name: 'every bad field, named',
      input: '{"steps": [50, 10], "check": {"timeout": "5 seconds"}}',
      want: [
        /^DROPDEPLOY_ROLLOUT_POLICY field steps\[1\] must be above/,
        /^DROPDEPLOY_ROLLOUT_POLICY field check\.timeout must be a Google JSON Duration/,
      ],
    },
    {
      name: 'targets for every service, the controller’s region first',
      input: '{"targets": [{"region": "europe-west1"}, {"region": "us-east1"}], "targetOrder": "parallel"}',
      want: {...DEFAULT_POLICY, targets: [{region: 'europe-west1'}, {region: 'us-east1'}], targetOrder: 'parallel'},
    },
    {
      name: 'targets that do not start with the controller’s region',
      input: '{"targets": [{"region": "us-east1"}, {"region": "europe-west1"}]}',
      want: [/^DROPDEPLOY_ROLLOUT_POLICY targets\[0\] is us-east1 \(project my-project\), but the first target is the primary/],
    },
    {
      name: 'canary over several targets',
      input: '{"strategy": "canary", "targets": [{"region": "europe-west1"}, {"region": "us-east1"}]}',
      want: [/^DROPDEPLOY_ROLLOUT_POLICY a canary rollout over several targets is not supported/],
    },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const env = r.input === undefined ? valid : {...valid, DROPDEPLOY_ROLLOUT_POLICY: r.input};
      if (Array.isArray(r.want)) {
        const p = problems(env);
        assert.equal(p.length, r.want.length, p.join('\n'));
        r.want.forEach((re, i) => assert.match(p[i], re));
      } else assert.deepEqual(parseConfig(env).rolloutPolicy, r.want);
    });
  }
});
