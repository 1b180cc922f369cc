/**
 * Config releases through `npm start`'s own code (LocalStack): `env set` makes releases, and a
 * rollback restores the old release's image and environment, as the Cloud Run service's
 * template (the official ServicesClient) and the app's answer show; a secret-looking value is
 * restored from the revision that ran it and never appears in the store or the events. A config
 * release whose revision does not start leaves nothing behind for the next upload.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';
import {parseJson} from '../json';
import type {ApiRelease} from '../json';

const APP = join(REPO_ROOT, 'test', 'fixtures', 'apps', 'env-app');
const TOKEN_A = 'token-a-4d1f0c9e';
const TOKEN_B = 'token-b-77a2e5b1';

describe('config releases through the local stack (npm start)', {timeout: 300_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const events: string[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-config-'));
  let url = '';

  const api = async (method: string, path: string, body?: unknown): Promise<{status: number; json: ApiRelease}> => {
    const res = await fetch(`${stack.info.apiUrl}${path}`, {
      method,
      headers: {'content-type': 'application/json'},
      ...(body !== undefined ? {body: JSON.stringify(body)} : {}),
    });
    return {status: res.status, json: parseJson<ApiRelease>(await res.text())};
  };
  const greeting = async () => parseJson<{greeting: string; version: string}>(await (await fetch(url)).text());
  const templateEnv = async () => {
    const name = `projects/${stack.info.projectId}/locations/${stack.info.region}/services/cfg`;
    const [svc] = await services.getService({name});
    return (svc.template!.containers![0].env ?? []).map((e) => `${e.name}=${e.value ?? ''}`);
  };
  const waitDeployed = async (release: number) => {
    for (let i = 0; i < 600; i++) {
      if (events.some((e) => e.includes(`"release":${release},`) && /"state":"deployed"/.test(e))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`cfg v${release} was not deployed\n${logs.slice(-30).join('\n')}`);
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 0,
      onStatus: (m: Message) => events.push(m.data.toString()),
    });
    services = localServicesClient(stack.info);
    drop(stack.info.bucketDir, {path: APP, service: 'cfg'});
    await waitDeployed(1);
    url = (await api('GET', '/v1/services/cfg/releases/1')).json.url!;
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  it('env set NAME=a (v2), env set NAME=b (v3), rollback to v2: the app answers NAME=a and the template says so', async () => {
    const v2 = await api('PATCH', '/v1/services/cfg/env', {set: {NAME: 'a', API_TOKEN: TOKEN_A}});
    assert.equal(v2.status, 202, JSON.stringify(v2.json));
    assert.equal(v2.json.state, 'deployed', JSON.stringify(v2.json));
    assert.equal((await greeting()).greeting, 'Hello, a!');
    const v3 = await api('PATCH', '/v1/services/cfg/env', {set: {NAME: 'b', API_TOKEN: TOKEN_B}});
    assert.equal(v3.json.state, 'deployed', JSON.stringify(v3.json));
    assert.equal((await greeting()).greeting, 'Hello, b!');

    const back = await api('POST', '/v1/services/cfg:rollback', {release: 2});
    assert.equal(back.status, 202, JSON.stringify(back.json));
    assert.equal(back.json.release, 4);
    assert.equal(back.json.state, 'deployed', JSON.stringify(back.json));
    assert.equal(back.json.image, v2.json.image);
    assert.equal((await greeting()).greeting, 'Hello, a!');
    assert.deepEqual(await templateEnv(), ['NAME=a', `API_TOKEN=${TOKEN_A}`]);
    // The record shows the environment the rollback restored, the secret value redacted.
    assert.deepEqual(back.json.deployedEnv, [
      {name: 'NAME', value: 'a'},
      {name: 'API_TOKEN', redacted: true},
    ]);
    await waitDeployed(4);
    const stored = JSON.stringify((await api('GET', '/v1/services/cfg/releases?pageSize=50')).json);
    for (const [where, text] of Object.entries({stored, events: events.join('\n'), logs: logs.join('\n')})) {
      assert.ok(!text.includes(TOKEN_A) && !text.includes(TOKEN_B), `no secret value in the ${where}`);
    }
  });

  it('a config release whose revision does not start fails, and the next upload does not carry its env', async () => {
    const bad = await api('PATCH', '/v1/services/cfg/env', {set: {NODE_OPTIONS: '--no-such-node-flag'}});
    assert.equal(bad.status, 202, JSON.stringify(bad.json));
    assert.equal(bad.json.state, 'deploy_failed', JSON.stringify(bad.json));
    assert.equal((await greeting()).greeting, 'Hello, a!', 'the old revision still serves');

    const v2 = mkdtempSync(join(tmpdir(), 'dd-env-app-'));
    cpSync(APP, v2, {recursive: true});
    const pkg = join(v2, 'package.json');
    writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('"version": "1.0.0"', '"version": "2.0.0"'));
    drop(stack.info.bucketDir, {path: v2, service: 'cfg'}, new Date(Date.now() + 1000));
    await waitDeployed(6);
    const answer = await greeting();
    assert.equal(answer.version, '2.0.0');
    assert.equal(answer.greeting, 'Hello, a!');
    assert.deepEqual(await templateEnv(), ['NAME=a', `API_TOKEN=${TOKEN_A}`]);
  });
});
