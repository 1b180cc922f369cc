/**
 * End to end through `npm start`'s own code (LocalStack): drop the example app, get a URL
 * that answers; drop v2, the same URL answers v2; drop a source that crashes at start,
 * deploy_failed with the crash and v2 still answers; drop the function example, its URL
 * invokes the function.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {drop, packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack, type LocalInfo} from '../../local/stack';
import {putStoredObject, requireEmulators} from './stack';
import {announcedState} from './local-stack-clients';
import {cli, cliEnv} from '../cli/run-cli';
import {parseJson, type ReleasePage} from '../json';

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; error?: {message: string}; revision?: string};
}

// Every upload is delivered twice here: as Eventarc's `finalized` event and as a GCS
// notification through Pub/Sub; each must still make exactly one release.
describe('the local stack (npm start)', {timeout: 240_000}, () => {
  let stack: LocalStack;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-local-'));

  const waitState = async (service: string, release: number, states: string[], ms = 120_000): Promise<Seen> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = seen.find((e) => e.data.service === service && e.data.release === release && states.includes(e.state));
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(
          `no ${states.join('/')} for ${service} v${release}; saw ${JSON.stringify(seen.map((e) => [e.data.service, e.data.release, e.state]))}\n${logs.slice(-30).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const get = async (url: string) => (await (await fetch(url)).text()).trim();

  /** A copy of the example app whose server answers with `version`, or crashes at start. */
  const appVariant = (version: string, crash = false) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-app-'));
    cpSync(join(REPO_ROOT, 'examples', 'hello-app'), dir, {recursive: true});
    const server = join(dir, 'server.js');
    const code = readFileSync(server, 'utf8').replace("process.env.APP_VERSION || 'v1'", `'${version}'`);
    writeFileSync(server, crash ? `console.error('boom: DATABASE_URL is not set'); process.exit(3);\n${code}` : code);
    return dir;
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      notifications: true,
      // The reconciler every second, leaving releases and uploads to their events for 3 s.
      reconcileSeconds: 1,
      env: {DROPDEPLOY_RECONCILE_GRACE_SECONDS: '3'},
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('writes every endpoint to local.json', () => {
    const info = parseJson<LocalInfo>(readFileSync(join(root, 'local.json'), 'utf8'));
    for (const k of [
      'projectId',
      'region',
      'pubsubEmulatorHost',
      'firestoreEmulatorHost',
      'cloudBuildEndpoint',
      'cloudRunEndpoint',
      'monitoringEndpoint',
      'eventUrl',
      'apiUrl',
      'reconcileUrl',
      'bucket',
      'bucketDir',
      'statusTopic',
    ] as const) {
      assert.ok(info[k], `local.json has ${k}`);
    }
  });

  it('runs the reconciler function as Cloud Scheduler would: a POST answers what the run did', async () => {
    const res = await fetch(stack.info.reconcileUrl, {method: 'POST'});
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {releases: [], uploads: [], errors: 0});
  });

  it('drop the example app → deployed → its URL answers', async () => {
    drop(stack.info.bucketDir, {path: join(REPO_ROOT, 'examples', 'hello-app'), service: 'hello'});
    const ev = await waitState('hello', 1, ['deployed', 'build_failed', 'deploy_failed']);
    assert.equal(ev.state, 'deployed', JSON.stringify(ev.data));
    assert.match(await get(ev.data.url!), /^Hello from dropdeploy \(v1\) — revision hello-/);
  });

  it('drop v2 → the same URL answers v2', async () => {
    const v1 = await waitState('hello', 1, ['deployed']);
    drop(stack.info.bucketDir, {path: appVariant('v2'), service: 'hello'}, new Date(Date.now() + 1000));
    const ev = await waitState('hello', 2, ['deployed', 'build_failed', 'deploy_failed']);
    assert.equal(ev.state, 'deployed', JSON.stringify(ev.data));
    assert.equal(ev.data.url, v1.data.url, 'the service URL is stable');
    assert.match(await get(ev.data.url!), /\(v2\)/);
  });

  it('drop a source that crashes at start → deploy_failed with the crash; v2 still answers', async () => {
    const v2 = await waitState('hello', 2, ['deployed']);
    drop(stack.info.bucketDir, {path: appVariant('v3', true), service: 'hello'}, new Date(Date.now() + 2000));
    const ev = await waitState('hello', 3, ['deployed', 'build_failed', 'deploy_failed']);
    assert.equal(ev.state, 'deploy_failed');
    assert.match(ev.data.error!.message, /boom: DATABASE_URL is not set/);
    assert.match(ev.data.error!.message, /is not ready and cannot serve traffic/);
    assert.match(await get(v2.data.url!), /\(v2\)/);
  });

  it('drop the function example (target in metadata) → its URL invokes the function', async () => {
    drop(stack.info.bucketDir, {path: join(REPO_ROOT, 'examples', 'hello-function'), service: 'greeter', functionTarget: 'helloHttp'});
    const ev = await waitState('greeter', 1, ['deployed', 'build_failed', 'deploy_failed'], 180_000);
    assert.equal(ev.state, 'deployed', JSON.stringify(ev.data));
    assert.equal(await get(`${ev.data.url}/?name=dropdeploy`), 'Hello, dropdeploy! (a function deployed by dropdeploy)');
  });

  it('an upload that no event announced (its Eventarc delivery lost) is found by the reconciler and served', async () => {
    putStoredObject(
      join(root, 'store'),
      stack.info.bucket,
      'unannounced/v1.tar.gz',
      '1700000000000001',
      readFileSync(packFolder(join(REPO_ROOT, 'examples', 'hello-app'))),
      {timeCreated: new Date(Date.now() - 10_000)},
    );
    const ev = await waitState('unannounced', 1, ['deployed', 'build_failed', 'deploy_failed']);
    assert.equal(ev.state, 'deployed', JSON.stringify(ev.data));
    assert.match(await get(ev.data.url!), /^Hello from dropdeploy/);
    assert.ok(logs.some((l) => l.includes('unannounced/v1.tar.gz#1700000000000001') && l.includes('no event announced it')));
  });

  it('each upload, delivered both by Eventarc and by Pub/Sub notification, made exactly one release', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    const accepted = seen.filter((e) => e.state === 'accepted').map((e) => `${e.data.service}/${e.data.release}`);
    assert.deepEqual([...new Set(accepted)].sort(), ['greeter/1', 'hello/1', 'hello/2', 'hello/3', 'unannounced/1']);
    assert.ok(
      logs.some((l) => l.includes('duplicate delivery')),
      'the second delivery was seen and recognised',
    );
  });

  it('the CLI finds the stack through local.json; a rollback to v1 makes the same URL answer v1 again', async () => {
    const env = cliEnv({DROPDEPLOY_LOCAL_DIR: root});
    const list = await cli(['releases', 'hello', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      parseJson<ReleasePage>(list.stdout).releases.map((r) => `v${r.release} ${r.state}`),
      ['v3 deploy_failed', 'v2 deployed', 'v1 deployed'],
    );
    const rollback = await cli(['rollback', 'hello', 'v1'], env);
    assert.equal(rollback.code, 0, rollback.stdout + rollback.stderr);
    assert.match(rollback.stdout, /v4\s+deployed/);
    const v1 = await waitState('hello', 1, ['deployed']);
    assert.match(await get(v1.data.url!), /\(v1\)/);
  });

  it('dropdeploy env set: the new revision (same image) sees the variable; unset: it is gone again', async () => {
    const env = cliEnv({DROPDEPLOY_LOCAL_DIR: root});
    const url = (await waitState('hello', 1, ['deployed'])).data.url!;
    const set = await cli(['env', 'hello', 'set', 'GREETING=Howdy from env'], env);
    assert.equal(set.code, 0, set.stdout + set.stderr);
    assert.match(set.stdout, /v5\s+deployed/);
    assert.match(await get(url), /^Howdy from env \(v1\) — revision hello-/);
    const unset = await cli(['env', 'hello', 'unset', 'GREETING'], env);
    assert.equal(unset.code, 0, unset.stdout + unset.stderr);
    assert.match(await get(url), /^Hello from dropdeploy \(v1\)/);
  });
});
