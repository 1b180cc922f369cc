/**
 * The `dropdeploy` CLI end to end: the compiled CLI as a child process against a real local
 * stack (official Pub/Sub and Firestore emulators, local Cloud Build and Cloud Run emulators).
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {grpc} from 'google-gax';
import {ServicesClient} from '@google-cloud/run';
import {Stack} from '../stack';
import {asRelease} from '../../cli/fixtures';
import {cli, startCli, type CliResult} from '../../cli/run-cli';
import type {ApiRelease} from '../../../cli/types';

const DIGEST = (c: string) => 'sha256:' + c.repeat(64);
const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

/** The states a run printed as progress lines (`HH:MM:SS  vN  state …`), in order. */
function printedStates(out: string, n: number): string[] {
  return [...out.matchAll(new RegExp(`^\\d\\d:\\d\\d:\\d\\d  v${n}  (\\w+)`, 'gm'))].map((m) => m[1]);
}

// Stack.start() fails with a clear message when the emulators are missing (run via `npm test`).
describe('dropdeploy CLI against a local stack', {timeout: 180_000}, () => {
  let stack: Stack;
  let url: string;
  const dd = (...args: string[]) => cli([...args, '--url', url]);
  /** Release `n` of web, as the API answers it. */
  const webRelease = async (n: number): Promise<ApiRelease> => {
    const res = await stack.api('GET', `/v1/services/web/releases/${n}`);
    const json: unknown = res.json;
    assert.equal(res.status, 200, JSON.stringify(json));
    return asRelease(json);
  };

  before(async () => {
    stack = await Stack.start();
    url = stack.apiUrl;
    for (const n of [1, 2]) {
      assert.equal(await stack.upload(`web/v${n}.zip`, `10${n}`), 204);
      await stack.build.setStatus(stack.buildIdOf('web', n), 'SUCCESS', {digest: DIGEST(String(n))});
      await stack.waitFor(`web v${n} deployed`, () => stack.statesOf('web', n).includes('deployed'));
    }
  });
  after(async () => {
    await stack?.stop();
  });

  it("releases: a table of both releases; --json is the API's JSON", async () => {
    const r = await dd('releases', 'web');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^RELEASE +STATE +TRIGGER +CREATED +SOURCE +REVISION +ERROR\n/);
    assert.match(r.stdout, /^v2 +deployed +upload +\d+s ago +web\/v2\.zip#102 +web-\S+\n/m);
    assert.match(r.stdout, /^v1 +deployed +upload +\d+s ago +web\/v1\.zip#101 +web-\S+\n/m);
    const j = await dd('releases', 'web', '--json');
    assert.equal(j.code, 0, show(j));
    const parsed = JSON.parse(j.stdout) as {releases: Array<{release: number}>};
    assert.deepEqual(
      parsed.releases.map((x) => x.release),
      [2, 1],
    );
    const one = await dd('releases', 'web', '--limit', '1', '--json');
    assert.deepEqual((JSON.parse(one.stdout) as {releases: unknown[]}).releases.length, 1);
  });

  it('status: the deployed release and its URL', async () => {
    const deployedUrl = (await webRelease(2)).url;
    assert.ok(deployedUrl);
    const r = await dd('status', 'web');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^web: v2 deployed \d+s ago\n/);
    assert.ok(r.stdout.includes(`  url       ${deployedUrl}\n`), r.stdout);
    assert.doesNotMatch(r.stdout, /newest/);
  });

  it('services: a table with web', async () => {
    const r = await dd('services');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^SERVICE +DEPLOYED +SINCE +LATEST +REVISION +URL\nweb +v2 +\d+s ago +v2 +web-\S+ +http/);
  });

  it('rollback web 1: waits, prints the states as they come, exits 0', async () => {
    const r = await dd('rollback', 'web', 'v1');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^rollback of web to v1: release v3\n/);
    assert.deepEqual(printedStates(r.stdout, 3), ['accepted', 'deploying', 'deployed']);
    assert.match((await webRelease(3)).image ?? '(no image)', /@sha256:1{64}$/);
  });

  it('redeploy web: follows a slow build through building → deploying → deployed, exits 0', async () => {
    const run = startCli(['redeploy', 'web', '--url', url]);
    // The build stays QUEUED until completed here: the CLI must be visibly waiting on it first.
    await stack.waitFor('the CLI to show v4 building', () => /v4 {2}building/.test(run.stdout()), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(run.child.exitCode, null, 'still waiting');
    await stack.build.setStatus(stack.buildIdOf('web', 4), 'SUCCESS', {digest: DIGEST('4')});
    const r = await run.done;
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(printedStates(r.stdout, 4), ['accepted', 'building', 'deploying', 'deployed']);
    assert.match(r.stdout, /v4 {2}building +build log: http:\/\/127\.0\.0\.1:\d+\/builds\/\S+\n/);
    assert.match(r.stdout, /v4 {2}deployed +http\S+ \(revision web-\S+\)\n/);
    assert.ok(r.ms > 1500, `took ${r.ms} ms`);
  });

  it('redeploy --no-wait: returns at once with the release number', async () => {
    const r = await dd('redeploy', 'web', '--no-wait');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^v5 building: redeploy of web; follow it with `dropdeploy releases web`\n$/);
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    stack.putObject('web/v1.zip', '101');
    const j = await dd('redeploy', 'web', '--no-wait', '--json', '--source', 'gs://dd-sources/web/v1.zip#101');
    assert.equal(j.code, 0, show(j));
    const release = JSON.parse(j.stdout) as {release: number; state: string; source: {generation: string}};
    assert.deepEqual([release.release, release.state, release.source.generation], [6, 'building', '101']);
  });

  it('a failing build: exit 1 with the error and the build log URL', async () => {
    const run = startCli(['redeploy', 'web', '--url', url]);
    await stack.waitFor('the CLI to show v7 building', () => /v7 {2}building/.test(run.stdout()), 20_000);
    await stack.build.setStatus(stack.buildIdOf('web', 7), 'FAILURE', {failureDetail: 'npm ERR! missing script: build'});
    const r = await run.done;
    assert.equal(r.code, 1, show(r));
    assert.deepEqual(printedStates(r.stdout, 7), ['accepted', 'building', 'build_failed']);
    const logUrl = (await webRelease(7)).buildLogUrl;
    assert.ok(logUrl);
    assert.match(r.stderr, /^dropdeploy: v7 of web ended build_failed: BUILD_FAILURE: .*npm ERR! missing script: build/m);
    assert.ok(r.stderr.includes(`build log: ${logUrl}\n`), r.stderr);
  });

  it('logs: the build log URL of a release, or of the newest built one', async () => {
    const v1 = (await webRelease(1)).buildLogUrl;
    assert.ok(v1);
    const r = await dd('logs', 'web', '1');
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, `${v1}\n`);
    const newest = await dd('logs', 'web');
    assert.equal(newest.stdout, `${(await webRelease(7)).buildLogUrl ?? '(no build log)'}\n`);
    const rollback = await dd('logs', 'web', 'v3');
    assert.equal(rollback.code, 1, show(rollback));
    assert.match(rollback.stderr, /v3 of web has no build log: it is a rollback to v1.*`dropdeploy logs web 1`/);
  });

  it("rollback to a release that never deployed: the API's reason, exit 1", async () => {
    const r = await dd('rollback', 'web', '7');
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /release v7 of "web" was never deployed \(it is build_failed\).*\(409 FAILED_PRECONDITION\)/);
  });

  it('an unknown service: exit 1 with what to do', async () => {
    for (const args of [
      ['releases', 'ghost'],
      ['status', 'ghost'],
      ['rollback', 'ghost', '1'],
      ['logs', 'ghost', '1'],
    ]) {
      const r = await dd(...args);
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stderr, 'dropdeploy: dropdeploy manages no service ghost; see `dropdeploy services`\n', args.join(' '));
    }
  });

  it('env: list, set (a config release, waited for), the secret reference it replaces, unset; errors from the API', async () => {
    assert.equal(await stack.upload('cfg/v1.zip', '301'), 204);
    await stack.build.setStatus(stack.buildIdOf('cfg', 1), 'SUCCESS', {digest: DIGEST('c')});
    await stack.waitFor('cfg v1 deployed', () => stack.statesOf('cfg', 1).includes('deployed'));
    const empty = await dd('env', 'cfg');
    assert.equal(empty.code, 0, show(empty));
    assert.equal(empty.stdout, 'cfg has no environment variables; set one with `dropdeploy env cfg set NAME=VALUE`\n');

    // An operator's Secret Manager reference, set with the official client.
    const client = new ServicesClient({apiEndpoint: '127.0.0.1', port: stack.run.port, sslCreds: grpc.credentials.createInsecure()});
    try {
      const [svc] = await client.getService({name: `projects/${stack.config.projectId}/locations/europe-west1/services/cfg`});
      svc.template!.containers![0].env = [{name: 'DB_PASSWORD', valueSource: {secretKeyRef: {secret: 'db-password', version: '3'}}}];
      await (await client.updateService({service: svc}))[0].promise();
    } finally {
      await client.close();
    }
    const set = await dd('env', 'cfg', 'set', 'GREETING=hello there', 'API_KEY=sk-live-1', 'DB_PASSWORD=plain');
    assert.equal(set.code, 0, show(set));
    assert.match(set.stdout, /^DB_PASSWORD is a Secret Manager reference \(secret db-password, version 3\); it becomes a plain value\n/);
    assert.match(set.stdout, /^environment change of cfg \(set GREETING, API_KEY, DB_PASSWORD\): release v2\n/m);
    assert.deepEqual(printedStates(set.stdout, 2), ['accepted', 'deploying', 'deployed']);

    const list = await dd('env', 'cfg');
    assert.equal(list.code, 0, show(list));
    assert.equal(list.stdout, 'NAME         VALUE\nDB_PASSWORD  plain\nGREETING     hello there\nAPI_KEY      sk-live-1\n');
    const json = JSON.parse((await dd('env', 'cfg', '--json')).stdout) as {release: number; env: unknown[]};
    assert.equal(json.release, 2);
    assert.equal(json.env.length, 3);

    const history = await dd('releases', 'cfg');
    assert.match(history.stdout, /^v2 +deployed +config +\d+s ago +env: set GREETING, API_KEY, DB_PASSWORD +cfg-\S+\n/m);
    assert.ok(!JSON.stringify(await stack.api('GET', '/v1/services/cfg/releases/2')).includes('sk-live-1'), 'no secret value stored');

    const unset = await dd('env', 'cfg', 'unset', 'GREETING');
    assert.equal(unset.code, 0, show(unset));
    assert.match(unset.stdout, /^environment change of cfg \(unset GREETING\): release v3\n/);
    assert.deepEqual(printedStates(unset.stdout, 3), ['accepted', 'deploying', 'deployed']);
    assert.doesNotMatch((await dd('env', 'cfg')).stdout, /GREETING/);

    const reserved = await dd('env', 'cfg', 'set', 'PORT=9000');
    assert.equal(reserved.code, 1, show(reserved));
    assert.match(
      reserved.stderr,
      /^dropdeploy: set\.PORT: PORT is reserved: Cloud Run sets it for every revision \(400 INVALID_ARGUMENT\)\n$/,
    );
    const ghost = await dd('env', 'ghost', 'set', 'A=1');
    assert.equal(ghost.stderr, 'dropdeploy: dropdeploy manages no service ghost; see `dropdeploy services`\n');
  });

  it('policy (of a service not uploaded yet): shows the default, changes only the fields given, refuses bad values before any request', async () => {
    const shown = await dd('policy', 'gated');
    assert.equal(shown.code, 0, show(shown));
    assert.match(shown.stdout, /^FIELD +VALUE\nstrategy +immediate\nsteps +10,50,100\ninterval +300s\n/);
    assert.match(shown.stdout, /^policy of gated: the default of this installation/m);
    const set = await dd('policy', 'gated', '--strategy', 'canary', '--steps', '25,100', '--interval', '2m', '--check-path', '/healthz');
    assert.equal(set.code, 0, show(set));
    assert.match(set.stdout, /^strategy +canary\nsteps +25,100\ninterval +120s\ncheck-path +\/healthz\n/m);
    assert.match(set.stdout, /^policy of gated: its own, set by local at \S+\n$/m);
    const one = await dd('policy', 'gated', '--check-attempts', '5', '--json');
    assert.equal(one.code, 0, show(one));
    const view = JSON.parse(one.stdout) as {policy: {strategy: string; check: {path: string; attempts: number}}; source: string};
    assert.deepEqual(
      [view.policy.strategy, view.policy.check.path, view.policy.check.attempts, view.source],
      ['canary', '/healthz', 5, 'service'],
    );
    const bad = await dd('policy', 'gated', '--interval', '5 minutes');
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /^dropdeploy: policy: --interval "5 minutes" is not a duration from 1s to 24h/);
  });

  it('usage errors: exit 2 with the usage line, nothing sent', async () => {
    const r = await dd('rollback', 'web');
    assert.equal(r.code, 2, show(r));
    assert.equal(
      r.stderr,
      'dropdeploy: rollback: missing <release>\nusage: dropdeploy rollback <service> <release> [--no-wait] [--timeout SECONDS]\n',
    );
    const bad = await dd('redeploy', 'web', '--source', 'gs://dd-sources/web/v1.zip');
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /no #GENERATION/);
    assert.equal((await dd('releases', 'web', '--verbose')).code, 2);
  });
});
