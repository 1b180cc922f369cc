/**
 * Progressive delivery through `npm start`'s own code (LocalStack), observed on the Cloud Run
 * service's traffic (the official ServicesClient), on the service URL and in the status events:
 * a healthy canary goes 10 → 50 → 100 %; one whose check fails never takes traffic and ends
 * rolled_back; one whose error rate crosses the threshold in a step is rolled back; promote,
 * abort, pause/resume; a newer upload supersedes a canary; a restart mid-rollout finishes it.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import {dropFile} from '../../local/bucket/watcher';
import {packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {parseJson} from '../json';
import {cli} from '../cli/run-cli';
import {announcedState, localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';

interface Seen {
  state: string;
  id: string;
  data: {service?: string; release?: number; url?: string; traffic?: number; revision?: string; error?: {code: string; message: string}};
}

const APP = join(REPO_ROOT, 'test', 'fixtures', 'rollout-app');
const SERVICE = 'shop';
const POLICY = {
  strategy: 'canary',
  steps: [10, 50, 100],
  interval: '2s',
  check: {path: '/healthz', expectStatus: 200, timeout: '2s', attempts: 2},
  thresholds: {max5xxRatio: 0.2, p99Ms: 5000, minRequests: 8},
};
const TERMINAL = /^(deployed|rolled_back|superseded|deploy_failed|build_failed|rejected)$/;

describe('progressive delivery through the local stack', {timeout: 600_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-rollout-'));
  let uploads = 0;

  const start = async () => {
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 1,
      env: {DROPDEPLOY_ROLLOUT_POLICY: JSON.stringify(POLICY), DROPDEPLOY_RECONCILE_GRACE_SECONDS: '2'},
      onStatus: (m: Message) =>
        seen.push({
          state: announcedState(m),
          id: m.attributes['ce-id'],
          data: parseJson<Seen['data']>(m.data),
        }),
    });
    services = localServicesClient(stack.info);
  };

  /** Uploads the app with `behaviour`, and `rollout` as the upload's policy override. */
  const upload = (behaviour: {version: string; health: number; errors: boolean}, rollout?: object) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-rollout-app-'));
    cpSync(APP, dir, {recursive: true});
    writeFileSync(join(dir, 'behaviour.json'), JSON.stringify(behaviour));
    const archive = packFolder(dir);
    dropFile(
      stack.info.bucketDir,
      `${SERVICE}/upload-${++uploads}.tgz`,
      archive,
      rollout ? {'dropdeploy-rollout': JSON.stringify(rollout)} : {},
    );
  };

  const event = async (release: number, state: RegExp, timeoutMs = 60_000): Promise<Seen> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find((e) => e.data.service === SERVICE && e.data.release === release && state.test(e.state));
      if (hit) return hit;
      if (Date.now() > until)
        assert.fail(
          `no ${state} event of v${release}; seen: ${seen.map((e) => `${e.data.release}:${e.state}`).join(' ')}\n${logs.slice(-40).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const ended = async (release: number): Promise<Seen> => event(release, TERMINAL);

  /** The percent of the service's traffic on `revision` now, as Cloud Run reports it. */
  const trafficOn = async (revision: string): Promise<number> => {
    const [svc] = await services.getService({name: `projects/${stack.info.projectId}/locations/${stack.info.region}/services/${SERVICE}`});
    return (svc.trafficStatuses ?? []).filter((t) => t.revision === revision).reduce((sum, t) => sum + (t.percent ?? 0), 0);
  };

  /** Watches the traffic on `revision` until `done` resolves; returns each distinct percent seen, in order. */
  const watchTraffic = async (revisionOf: () => string | undefined, done: Promise<unknown>): Promise<number[]> => {
    const percents: number[] = [];
    let over = false;
    void done.finally(() => (over = true));
    while (!over) {
      const rev = revisionOf();
      if (rev) {
        const p = await trafficOn(rev);
        if (percents.at(-1) !== p) percents.push(p);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return percents;
  };

  const body = async (url: string) => (await fetch(url)).text();
  const api = (path: string, method = 'GET') =>
    fetch(`${stack.info.apiUrl}${path}`, {method}).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));

  before(async () => {
    requireEmulators();
    await start();
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  it('a first upload takes all traffic at once: nothing serves yet to protect', async () => {
    upload({version: 'v1', health: 200, errors: false});
    const done = await ended(1);
    assert.equal(done.state, 'deployed');
    assert.equal(done.data.traffic, undefined);
    assert.match(await body(done.data.url!), /^v1 /);
  });

  it('a healthy v2 goes 10 → 50 → 100 % on the Cloud Run service, one event per step', async () => {
    upload({version: 'v2', health: 200, errors: false});
    let revision: string | undefined;
    void event(2, /verifying/).then((e) => (revision = e.data.revision));
    const percents = await watchTraffic(() => revision, ended(2));
    const done = await ended(2);
    assert.equal(done.state, 'deployed', JSON.stringify(done.data));
    // Polled every 20 ms against steps 2 s apart: every step is seen.
    assert.deepEqual(
      percents.filter((p) => p > 0),
      [10, 50, 100],
      `traffic seen on v2: ${percents.join(' → ')}`,
    );
    const steps = seen.filter((e) => e.data.release === 2 && e.state === 'rolling_out');
    assert.deepEqual(
      steps.map((e) => e.data.traffic),
      [10, 50],
    );
    assert.deepEqual(
      steps.map((e) => e.id),
      ['shop/2/rolling_out@10', 'shop/2/rolling_out@50'],
    );
    assert.equal(done.data.traffic, 100);
    assert.match(await body(done.data.url!), /^v2 /);
  });

  it('a v3 whose check path answers 500 never takes traffic and ends rolled_back; the URL serves v2', async () => {
    upload({version: 'v3', health: 500, errors: false});
    const verifying = await event(3, /verifying/);
    const percents = await watchTraffic(() => verifying.data.revision, ended(3));
    const done = await ended(3);
    assert.equal(done.state, 'rolled_back');
    assert.equal(done.data.error?.code, 'CHECK_FAILED');
    assert.match(done.data.error?.message ?? '', /\/healthz.*answered 500, not 200/);
    assert.deepEqual(
      percents.filter((p) => p > 0),
      [],
    );
    assert.match(await body(done.data.url!), /^v2 /);
  });

  it('a v4 whose error rate crosses the threshold during a step is rolled back with the figures', async () => {
    upload({version: 'v4', health: 200, errors: true}, {interval: '30s'});
    const step = await event(4, /rolling_out/);
    assert.equal(step.data.traffic, 10);
    // Traffic through the service URL: about one request in ten goes to v4, which answers 500.
    const url = step.data.url!;
    let errors = 0;
    for (let i = 0; i < 300 && !seen.some((e) => e.data.release === 4 && TERMINAL.test(e.state)); i++) {
      if ((await fetch(url)).status === 500) errors++;
    }
    const done = await ended(4);
    assert.ok(errors > 0, 'some requests reached v4');
    assert.equal(done.state, 'rolled_back');
    assert.equal(done.data.error?.code, 'THRESHOLD_EXCEEDED');
    assert.match(done.data.error?.message ?? '', /at 10% of traffic, \d+ of \d+ requests answered 5xx/);
    assert.match(await body(url), /^v2 /);
  });

  it('promote skips the remaining steps; pause holds a step and resume goes on (API and CLI)', async () => {
    upload({version: 'v5', health: 200, errors: false}, {interval: '600s'});
    await event(5, /rolling_out/);
    // The CLI finds the release rolling out when none is named.
    const paused = await cli(['pause', SERVICE, '--url', stack.info.apiUrl]);
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^v5 of shop: rolling_out 10% paused of traffic on shop-r5 \(tag rollout-v5 http:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(paused.stdout, /pause +by local at /);
    const resumed = await api(`/v1/services/${SERVICE}/releases/5:resume`, 'POST');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal((resumed.body.rollout as {paused?: unknown}).paused, undefined);
    const cliPromoted = await cli(['promote', SERVICE, 'v5', '--json', '--url', stack.info.apiUrl]);
    assert.equal(cliPromoted.code, 0, cliPromoted.stderr);
    const promoted = {body: parseJson<Record<string, unknown>>(Buffer.from(cliPromoted.stdout))};
    assert.equal(promoted.body.state, 'deployed');
    const controls = (promoted.body.rollout as {controls: Array<{action: string; by: string}>}).controls;
    assert.deepEqual(
      controls.map((c) => `${c.action} by ${c.by}`),
      ['pause by local', 'resume by local', 'promote by local'],
    );
    assert.equal(await trafficOn(promoted.body.revision as string), 100);
    const again = await api(`/v1/services/${SERVICE}/releases/5:abort`, 'POST');
    assert.equal(again.status, 409);
    assert.match(JSON.stringify(again.body), /is deployed, not rolling out/);
  });

  it('abort puts all traffic back on the stable revision now', async () => {
    upload({version: 'v6', health: 200, errors: false}, {interval: '600s'});
    const step = await event(6, /rolling_out/);
    const aborted = await api(`/v1/services/${SERVICE}/releases/6:abort`, 'POST');
    assert.equal(aborted.body.state, 'rolled_back');
    assert.equal((aborted.body.error as {code: string}).code, 'ROLLOUT_ABORTED');
    assert.equal(await trafficOn(step.data.revision!), 0);
    assert.match(await body(step.data.url!), /^v5 /);
  });

  it('a newer upload during a canary supersedes it and rolls out from the stable revision', async () => {
    upload({version: 'v7', health: 200, errors: false}, {interval: '600s'});
    const step7 = await event(7, /rolling_out/);
    upload({version: 'v8', health: 200, errors: false}, {interval: '2s'});
    const done8 = await ended(8);
    assert.equal(done8.state, 'deployed');
    const done7 = await ended(7);
    assert.equal(done7.state, 'superseded');
    assert.equal(await trafficOn(step7.data.revision!), 0);
    assert.match(await body(done8.data.url!), /^v8 /);
  });

  it('a stack stopped mid-rollout finishes the rollout after its restart', async () => {
    upload({version: 'v9', health: 200, errors: false}, {interval: '3s'});
    await event(9, /rolling_out/);
    await services.close();
    await stack.stop();
    await start();
    const done = await ended(9);
    assert.equal(done.state, 'deployed', JSON.stringify(done.data));
    assert.match(await body(done.data.url!), /^v9 /);
  });
});
