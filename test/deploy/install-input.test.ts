/**
 * deploy/install.sh refuses input that could not reach Google Cloud as meant, before it runs any
 * gcloud command: names against each service's naming rules, and the controller settings taken
 * from the environment (no value can set another variable). Runs against the recording stub.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {BASE, R, envVars, ok, oneCall, mutations, run, sandbox, show} from './install-harness';

describe('deploy/install.sh name flags', () => {
  // [flag, value, words the message must contain]: each is refused before anything runs.
  const bad: [string, string, RegExp][] = [
    ['--project', 'My-Project', /6-30 lowercase letters/],
    ['--project', 'proj-', /not ending with a hyphen/],
    ['--region', 'europe_west1', /such as europe-west1/],
    ['--prefix', 'Drop', /lowercase letters/],
    ['--prefix', 'a-very-long-prefix-x', /at most 19/],
    ['--prefix', 'goog', /goog/],
    ['--bucket', 'ab', /at least 3/],
    ['--bucket', 'Bad_Bucket', /lowercase letters/],
    ['--bucket', '-bucket', /start and end with a letter or digit/],
    ['--bucket', '192.168.0.1', /IP address/],
    ['--bucket', 'goog-sources', /goog/],
    ['--bucket', 'my-google-sources', /google/],
    ['--bucket', 'my-g00gle-sources', /google/],
    ['--bucket', 'a..b', /\.\./],
    ['--bucket', 'x'.repeat(64), /63/],
    ['--bucket', `${'x'.repeat(64)}.example.com`, /63/],
    ['--bucket', 'bucket,x', /lowercase letters/],
    ['--repository', 'Repo', /lowercase letters/],
    ['--repository', '1repo', /starting with a letter/],
    ['--repository', 'repo_x', /lowercase letters, digits or hyphens/],
    ['--repository', 'r'.repeat(64), /1-63/],
    ['--status-topic', 'ab', /3-255/],
    ['--status-topic', '1topic', /starting with a letter/],
    ['--status-topic', 'goog-status', /goog/],
    ['--status-topic', 'topic/x', /letters, digits/],
    ['--firestore-location', 'europe', /such as europe-west1/],
    ['--firestore-location', 'EUR3', /multi-region such as eur3/],
    ['--invoker', 'user:ana', /user:EMAIL/],
    ['--invoker', 'user:a@b.com,user:c@d.com', /one per --invoker/],
    ['--invoker', 'ana@example.com', /user:EMAIL/],
    ['--invoker', 'domain:', /domain:DOMAIN/],
  ];
  for (const [name, value, rule] of bad) {
    it(`refuses ${name} ${JSON.stringify(value.length > 30 ? value.slice(0, 12) + '…' : value)}, naming the flag and the rule`, () => {
      const r = run(sandbox(), [...BASE, '--dry-run', name, value]);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(`${name} "${value}"`), `flag not named:\n${r.stderr}`);
      assert.match(r.stderr, rule);
      assert.deepEqual(r.calls, []);
    });
  }

  it('accepts names the services accept', () => {
    ok(
      run(sandbox(), [
        '--project',
        'abcdef',
        '--region',
        'us-central1',
        '--dry-run',
        '--prefix',
        'd',
        '--bucket',
        'gs://my.sources_bucket-1',
        '--repository',
        'r',
        '--status-topic',
        'Status~topic+1%.x_y',
        '--firestore-location',
        'nam5',
        '--invoker',
        'domain:example.com',
        '--invoker',
        'group:ops@example.com',
        '--invoker',
        'principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/ci/*',
      ]),
    );
    ok(run(sandbox(), [...BASE, '--dry-run', '--firestore-location', 'eur3']));
  });

  it('checks the names made from --prefix and --project too', () => {
    const r = run(sandbox(), ['--project', 'my-google-project', '--region', R, '--dry-run']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bucket "dropdeploy-sources-my-google-project".*google.*--bucket/);
  });

  it('puts the index in the database DROPDEPLOY_FIRESTORE_DATABASE names', () => {
    const sb = sandbox();
    const r = ok(run(sb, BASE, {env: {DROPDEPLOY_FIRESTORE_DATABASE: 'dropdeploy-db'}}));
    oneCall(r, 'firestore', 'databases', 'create', '--database=dropdeploy-db');
    oneCall(r, 'firestore', 'indexes', 'composite', 'create', '--database=dropdeploy-db', '--collection-group=releases');
    const again = ok(run(sb, BASE, {env: {DROPDEPLOY_FIRESTORE_DATABASE: 'dropdeploy-db'}}));
    assert.deepEqual(mutations(again), [], show(mutations(again)));
  });

  it('refuses a DROPDEPLOY_FIRESTORE_DATABASE that is not a database id, naming the variable', () => {
    const r = run(sandbox(), [...BASE, '--dry-run'], {env: {DROPDEPLOY_FIRESTORE_DATABASE: 'Bad_DB'}});
    assert.equal(r.status, 2);
    assert.match(r.stderr, /DROPDEPLOY_FIRESTORE_DATABASE "Bad_DB".*\(default\) or 4-63/);
  });
});

describe('deploy/install.sh controller settings from the environment', () => {
  const refused = (env: Record<string, string>) => {
    const r = run(sandbox(), BASE, {env});
    assert.notEqual(r.status, 0, `accepted ${JSON.stringify(env)}\n${r.stdout}`);
    assert.deepEqual(r.calls, [], 'refused before calling gcloud');
    return r;
  };

  it('passes a JSON default rollout policy to every function as it is', () => {
    const policy = '{"strategy": "canary", "steps": [10, 50, 100], "check": {"path": "/healthz"}}';
    const r = ok(run(sandbox(), BASE, {env: {DROPDEPLOY_ROLLOUT_POLICY: policy}}));
    for (const fn of ['dropdeploy-events', 'dropdeploy-api', 'dropdeploy-reconcile'])
      assert.equal(envVars(oneCall(r, 'functions', 'deploy', fn)).DROPDEPLOY_ROLLOUT_POLICY, policy, fn);
  });

  it('passes DROPDEPLOY_BUILD_CACHE=false to every function; unset, the functions get none (their default: on)', () => {
    const off = ok(run(sandbox(), BASE, {env: {DROPDEPLOY_BUILD_CACHE: 'false'}}));
    const dflt = ok(run(sandbox(), BASE));
    for (const fn of ['dropdeploy-events', 'dropdeploy-api', 'dropdeploy-reconcile']) {
      assert.equal(envVars(oneCall(off, 'functions', 'deploy', fn)).DROPDEPLOY_BUILD_CACHE, 'false', fn);
      assert.equal(envVars(oneCall(dflt, 'functions', 'deploy', fn)).DROPDEPLOY_BUILD_CACHE, undefined, fn);
    }
  });

  it('passes a value with "," and "|" intact: it cannot inject another variable', () => {
    const r = ok(
      run(sandbox(), BASE, {
        env: {DROPDEPLOY_PREFIX: 'x|DROPDEPLOY_API_AUTH=none', DROPDEPLOY_ADMIN_PRINCIPALS: 'user:a@b.com,user:c@d.com'},
      }),
    );
    for (const fn of ['dropdeploy-events', 'dropdeploy-api']) {
      const env = envVars(oneCall(r, 'functions', 'deploy', fn));
      assert.equal(env.DROPDEPLOY_PREFIX, 'x|DROPDEPLOY_API_AUTH=none');
      assert.equal(env.DROPDEPLOY_ADMIN_PRINCIPALS, 'user:a@b.com,user:c@d.com');
      assert.equal(env.DROPDEPLOY_API_AUTH, 'cloud-run-iam');
    }
  });

  it('refuses a value with a newline, naming the variable', () => {
    const r = refused({DROPDEPLOY_PREFIX: 'deploy/\nDROPDEPLOY_API_AUTH=none'});
    assert.match(r.stderr, /DROPDEPLOY_PREFIX.*(newline|control character)/);
  });

  it('refuses values that leave gcloud no delimiter, naming the variable', () => {
    const every = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    const r = refused({DROPDEPLOY_ADMIN_PRINCIPALS: every});
    assert.match(r.stderr, /DROPDEPLOY_ADMIN_PRINCIPALS/);
    assert.match(r.stderr, /delimiter/);
  });

  it("refuses a DROPDEPLOY_LEASE_SECONDS that does not outlast the functions' 540 s timeout", () => {
    for (const lease of ['540', '60', 'ten']) {
      const r = refused({DROPDEPLOY_LEASE_SECONDS: lease});
      assert.match(r.stderr, new RegExp(`DROPDEPLOY_LEASE_SECONDS="${lease}".*greater than 540`));
    }
    const r = ok(run(sandbox(), BASE, {env: {DROPDEPLOY_LEASE_SECONDS: '541'}}));
    assert.equal(envVars(oneCall(r, 'functions', 'deploy', 'dropdeploy-events')).DROPDEPLOY_LEASE_SECONDS, '541');
  });

  it('refuses DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS from the environment: it is the real --timeout', () => {
    const r = refused({DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '900'});
    assert.match(r.stderr, /DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS.*540/);
  });

  it('never takes DROPDEPLOY_API_AUTH from the environment: the API is always cloud-run-iam', () => {
    const r = refused({DROPDEPLOY_API_AUTH: 'none'});
    assert.match(r.stderr, /DROPDEPLOY_API_AUTH.*cloud-run-iam/);
    const same = ok(run(sandbox(), BASE, {env: {DROPDEPLOY_API_AUTH: 'cloud-run-iam'}}));
    assert.equal(envVars(oneCall(same, 'functions', 'deploy', 'dropdeploy-api')).DROPDEPLOY_API_AUTH, 'cloud-run-iam');
  });
});
