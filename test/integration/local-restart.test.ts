/**
 * Restarts of the local stack keep its state: stop and start again in the same folder and the
 * releases, the service and its URL (same port) are back, and the next drop is v2. A second
 * stack in a folder refuses, naming the first one's pid; a dead stack's lock is taken over;
 * `fresh` starts empty and keeps the bucket folder's files.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack, type LocalStackOptions} from '../../local/stack';
import {StackLockedError} from '../../local/state/lock';
import {parseJson, type ApiRelease, type ReleasePage, type ServiceList} from '../json';
import {announcedState} from './local-stack-clients';
import {requireEmulators} from './stack';

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; buildLogUrl?: string; error?: {message: string}};
}

/** A stack in `root` that records its status events and log lines. */
async function startStack(root: string, extra: Partial<LocalStackOptions> = {}) {
  const seen: Seen[] = [];
  const logs: string[] = [];
  const stack = await LocalStack.start({
    root,
    startupTimeoutMs: 15_000,
    reconcileSeconds: 1,
    env: {DROPDEPLOY_RECONCILE_GRACE_SECONDS: '3'},
    onLog: (l) => logs.push(l),
    onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    ...extra,
  });
  const waitState = async (service: string, release: number, ms = 150_000): Promise<Seen> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = seen.find(
        (e) => e.data.service === service && e.data.release === release && ['deployed', 'build_failed', 'deploy_failed'].includes(e.state),
      );
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no end state for ${service} v${release}:\n${logs.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {stack, seen, logs, waitState};
}

async function releases(apiUrl: string, service: string): Promise<ApiRelease[]> {
  const res = await fetch(`${apiUrl}/v1/services/${service}/releases`);
  assert.equal(res.status, 200, await res.clone().text());
  return parseJson<ReleasePage>(await res.text()).releases;
}

/** A copy of the example app that answers with `version`. */
function appVariant(version: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-app-'));
  cpSync(join(REPO_ROOT, 'examples', 'hello-app'), dir, {recursive: true});
  const server = join(dir, 'server.js');
  writeFileSync(server, readFileSync(server, 'utf8').replace("process.env.APP_VERSION || 'v1'", `'${version}'`));
  return dir;
}

const text = async (url: string) => (await (await fetch(url)).text()).trim();

describe('restarting the local stack', {timeout: 480_000}, () => {
  const root = mkdtempSync(join(tmpdir(), 'dd-restart-'));
  const running: LocalStack[] = [];
  after(async () => {
    for (const s of running) await s.stop();
  });
  let v1Url = '';
  let before: ApiRelease[] = [];

  it('stop and start again: the releases, the service and its URL are back, and the next drop is v2', async () => {
    requireEmulators();
    const first = await startStack(root);
    running.push(first.stack);
    drop(first.stack.info.bucketDir, {path: join(REPO_ROOT, 'examples', 'hello-app'), service: 'hello'});
    const v1 = await first.waitState('hello', 1);
    assert.equal(v1.state, 'deployed', JSON.stringify(v1.data));
    v1Url = v1.data.url!;
    assert.match(await text(v1Url), /^Hello from dropdeploy \(v1\)/);
    const logUrl = v1.data.buildLogUrl!;
    const v1Log = await text(logUrl);
    assert.match(v1Log, /^DONE: pushed /m, 'the build log answers at its URL');
    before = await releases(first.stack.info.apiUrl, 'hello');
    await first.stack.stop();
    running.pop();
    await assert.rejects(fetch(v1Url), 'the URL is down while the stack is stopped');

    const second = await startStack(root);
    running.push(second.stack);
    assert.deepEqual(await releases(second.stack.info.apiUrl, 'hello'), before, 'the release list is the same');
    assert.match(await text(v1Url), /^Hello from dropdeploy \(v1\)/, 'the same URL (same port) answers again');
    assert.equal(await text(logUrl), v1Log, "v1's build log answers at the same URL after the restart");
    assert.ok(
      second.logs.some((l) => /brought back 1 services and 1 builds/.test(l)),
      second.logs.join('\n'),
    );
    const services = parseJson<ServiceList>(await text(`${second.stack.info.apiUrl}/v1/services`)).services;
    assert.deepEqual(
      services.map((s) => s.service),
      ['hello'],
    );

    drop(second.stack.info.bucketDir, {path: appVariant('v2'), service: 'hello'}, new Date(Date.now() + 1000));
    const v2 = await second.waitState('hello', 2);
    assert.equal(v2.state, 'deployed', JSON.stringify(v2.data));
    assert.equal(v2.data.url, v1Url, 'the numbering went on, at the same URL');
    assert.match(await text(v1Url), /\(v2\)/);
    // The first drop was not delivered again: nothing but v2 happened in this run.
    assert.deepEqual([...new Set(second.seen.map((e) => `${e.data.service}/${e.data.release}`))], ['hello/2']);
  });

  it('a second stack in the same folder refuses, naming the pid of the first', async () => {
    assert.equal(running.length, 1, 'the restarted stack runs');
    await assert.rejects(
      LocalStack.start({root}),
      (err: unknown) => err instanceof StackLockedError && err.message.includes(`pid ${process.pid}`) && err.message.includes(root),
    );
    assert.match(await text(v1Url), /\(v2\)/, 'the refused start left the running stack alone');
    assert.ok(existsSync(join(root, 'local.json')));
  });

  it('a lock left by a stack that died is taken over; fresh starts empty and keeps the bucket files', async () => {
    const stack = running.pop()!;
    await stack.stop();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'});
    const deadPid = Number(dead.stdout);
    writeFileSync(join(root, 'lock'), JSON.stringify({pid: deadPid, startTime: null, startedAt: '2026-01-01T00:00:00Z', token: 'x'}));
    const bucketFiles = readdirSync(join(root, 'bucket', 'hello'));
    assert.equal(bucketFiles.length, 2);
    // Moved away first, as the fresh start's log says to do to start with nothing.
    const aside = mkdtempSync(join(tmpdir(), 'dd-aside-'));
    cpSync(join(root, 'bucket'), aside, {recursive: true});
    rmSync(join(root, 'bucket', 'hello'), {recursive: true});
    writeFileSync(join(root, 'bucket', 'notes.txt'), 'a file of the user');

    const fresh = await startStack(root, {fresh: true});
    running.push(fresh.stack);
    assert.ok(
      fresh.logs.some((l) => l.includes('took over the lock') && l.includes(`pid ${deadPid}`)),
      fresh.logs.join('\n'),
    );
    for (const what of ['state', 'store', 'registry']) {
      assert.ok(
        fresh.logs.some((l) => l.startsWith(`--fresh: removed ${join(root, what)} `)),
        `${what} removed:\n${fresh.logs.join('\n')}`,
      );
    }
    assert.equal(readFileSync(join(root, 'bucket', 'notes.txt'), 'utf8'), 'a file of the user', 'the bucket folder is kept');
    const services = parseJson<ServiceList>(await text(`${fresh.stack.info.apiUrl}/v1/services`)).services;
    assert.deepEqual(services, [], 'no service is known');
    assert.equal((await fetch(`${fresh.stack.info.apiUrl}/v1/services/hello/releases`)).status, 404);
    await assert.rejects(fetch(v1Url), 'the old service URL is not served');
  });

  it('a build running when the stack stopped ends build_failed after the restart, saying why', async () => {
    await running.pop()?.stop();
    const elsewhere = mkdtempSync(join(tmpdir(), 'dd-restart-build-'));
    const slow = mkdtempSync(join(tmpdir(), 'dd-slow-'));
    writeFileSync(join(slow, 'package.json'), JSON.stringify({name: 'slow', scripts: {'gcp-build': 'sleep 120', start: 'node server.js'}}));
    writeFileSync(join(slow, 'server.js'), "require('http').createServer((q, s) => s.end('slow')).listen(process.env.PORT);\n");
    const first = await startStack(elsewhere);
    running.push(first.stack);
    drop(first.stack.info.bucketDir, {path: slow, service: 'slow'});
    const deadline = Date.now() + 60_000;
    while (!first.seen.some((e) => e.data.service === 'slow' && e.state === 'building')) {
      assert.ok(Date.now() < deadline, `slow v1 never started building:\n${first.logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await first.stack.stop();
    running.pop();

    const second = await startStack(elsewhere);
    running.push(second.stack);
    const v1 = await second.waitState('slow', 1, 60_000);
    assert.equal(v1.state, 'build_failed', JSON.stringify(v1.data));
    assert.match(v1.data.error!.message, /the local stack stopped during the build/);
  });
});
