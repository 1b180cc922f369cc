/**
 * Runtime fidelity through `npm start`'s own code (LocalStack): a WebSocket app echoes through
 * its service URL and its server-sent events stream; an operator's env, command and args set
 * through the Cloud Run API (the official ServicesClient) run in the next revision, and the
 * next upload's deploy keeps them, as on Google Cloud.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import WebSocket from 'ws';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {announcedState, localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';
import {parseJson} from '../json';

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; error?: {message: string}};
}

interface EnvAnswer {
  greeting: string;
  script: string;
  args: string[];
  version: string;
  revision: string;
}

const APPS = join(REPO_ROOT, 'test', 'fixtures', 'apps');

describe('runtime fidelity of the local stack (npm start)', {timeout: 300_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-runtime-'));

  const deployed = async (service: string, release: number): Promise<Seen> => {
    for (;;) {
      const hit = seen.find((e) => e.data.service === service && e.data.release === release && /deployed|failed/.test(e.state));
      if (hit) {
        assert.equal(hit.state, 'deployed', `${JSON.stringify(hit.data)}\n${logs.slice(-30).join('\n')}`);
        return hit;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 0,
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
    services = localServicesClient(stack.info);
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  it('a WebSocket app echoes through its service URL, and its server-sent events stream', async () => {
    drop(stack.info.bucketDir, {path: join(APPS, 'websocket-app'), service: 'chat'});
    const {url} = (await deployed('chat', 1)).data;
    const ws = new WebSocket(`${url!.replace(/^http/, 'ws')}/socket`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const echo = new Promise<string>((resolve) => ws.once('message', (data) => resolve((data as Buffer).toString())));
    ws.send('hi there');
    assert.match(await echo, /^echo: hi there \(chat-00001-[a-z]{3}\)$/);
    ws.close();

    const res = await fetch(`${url}/events`);
    const reader = res.body!.getReader();
    // The app sends the second event only when asked, after this: the first arrived on an open response.
    assert.match(Buffer.from((await reader.read()).value).toString(), /^data: first from chat-00001-/);
    assert.equal(await (await fetch(`${url}/events/next`)).text(), 'released 1\n');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.equal(rest, 'data: second\n\n');
  });

  it("an operator's env, command and args set through the Cloud Run API run in the next revision and stay on later uploads", async () => {
    drop(stack.info.bucketDir, {path: join(APPS, 'env-app'), service: 'greeter'});
    const {url} = (await deployed('greeter', 1)).data;
    const probe = async () => parseJson<EnvAnswer>(await (await fetch(url!)).text());
    assert.deepEqual(await probe().then(({greeting, script, args}) => ({greeting, script, args})), {
      greeting: 'Hello, world!',
      script: 'server.js',
      args: [],
    });

    // As `gcloud run services update greeter --update-env-vars NAME=operator --command node --args worker.js,--verbose`.
    const name = `projects/${stack.info.projectId}/locations/${stack.info.region}/services/greeter`;
    const [live] = await services.getService({name});
    const container = live.template!.containers![0];
    container.env = [...(container.env ?? []), {name: 'NAME', value: 'operator'}];
    container.command = ['node'];
    container.args = ['worker.js', '--verbose'];
    const [op] = await services.updateService({service: live});
    await op.promise();
    const changed = await probe();
    assert.equal(changed.greeting, 'Hello, operator!');
    assert.equal(changed.script, 'worker.js');
    assert.deepEqual(changed.args, ['--verbose']);
    assert.match(changed.revision, /^greeter-00002-/);

    const v2 = mkdtempSync(join(tmpdir(), 'dd-env-app-'));
    cpSync(join(APPS, 'env-app'), v2, {recursive: true});
    const pkg = join(v2, 'package.json');
    writeFileSync(pkg, readFileSync(pkg, 'utf8').replace('"version": "1.0.0"', '"version": "2.0.0"'));
    drop(stack.info.bucketDir, {path: v2, service: 'greeter'}, new Date(Date.now() + 1000));
    await deployed('greeter', 2);
    const after = await probe();
    assert.equal(after.version, '2.0.0', 'the new upload serves');
    assert.match(after.revision, /^greeter-00003-/);
    assert.equal(after.greeting, 'Hello, operator!');
    assert.equal(after.script, 'worker.js');
    assert.deepEqual(after.args, ['--verbose']);
  });
});
