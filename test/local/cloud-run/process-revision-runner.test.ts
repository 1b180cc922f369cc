import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ServicesClient} from '@google-cloud/run';
import {CloudRunEmulator} from '../../../local/cloud-run/emulator';
import {createProcessRevisionRunner, type ProcessRevisionRunner} from '../../../local/cloud-run/process-revision-runner';
import {ServiceRouter} from '../../../local/cloud-run/router';
import {servingTarget} from '../../../local/cloud-run/serving-target';
import {clientOptions} from '../../../local/grpc/client-options';
import {LocalRegistry} from '../../../local/build/registry';
import {parseJson} from '../../json';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PARENT = 'projects/demo-project/locations/us-central1';
const STARTUP_TIMEOUT_MS = 2000;

// A tiny app: `/env` shows what it was given, POST echoes, anything else answers its version.
const app = (version: string, listenAfterMs = 0) => `
const http = require('node:http');
const server = http.createServer((req, res) => {
  const e = process.env;
  if (req.url === '/env') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({GREETING: e.GREETING, FROM_IMAGE: e.FROM_IMAGE, PORT: e.PORT, HOME: e.HOME,
      K_SERVICE: e.K_SERVICE, K_REVISION: e.K_REVISION, K_CONFIGURATION: e.K_CONFIGURATION}));
  }
  if (req.url === '/crash') {
    res.end('bye');
    return setTimeout(() => process.exit(70), 20);
  }
  if (req.url === '/argv') {
    return res.end(JSON.stringify({script: require('node:path').basename(process.argv[1]), args: process.argv.slice(2),
      API_TOKEN: e.API_TOKEN}));
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => res.end(req.method === 'POST' ? 'POST ' + req.url + ' ' + Buffer.concat(chunks) : ${JSON.stringify(version)}));
});
setTimeout(() => server.listen(Number(process.env.PORT), '127.0.0.1'), ${listenAfterMs});
`;
const CRASH = `console.error('boom: missing DATABASE_URL'); process.exit(1);`;
const STUCK = `
const {spawn} = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'});
console.log('pids ' + process.pid + ' ' + child.pid);
setInterval(() => {}, 1000);
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const shortName = (name: string | null | undefined) => name?.split('/').pop() as string;

/** Whether a process still runs: it exists and, on Linux, is not a zombie waiting for a slow init to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux): kill(pid, 0) is all we can tell
  }
}

async function get(url: string, init?: RequestInit): Promise<{status: number; body: string}> {
  const res = await fetch(url, init);
  return {status: res.status, body: await res.text()};
}

function spec(image: string) {
  return {template: {containers: [{image, env: [{name: 'GREETING', value: 'hi'}]}]}};
}

describe('Cloud Run emulator running revisions as processes behind a service router', () => {
  const root = mkdtempSync(join(tmpdir(), 'dropdeploy-run-'));
  const registry = new LocalRegistry(join(root, 'registry'));
  const runner: ProcessRevisionRunner = createProcessRevisionRunner({
    ...{registry, logDir: join(root, 'logs'), secretsDir: join(root, 'secrets'), startupTimeoutMs: STARTUP_TIMEOUT_MS},
    ...{retireAfterMs: 200, killGraceMs: 1000},
  });
  // The router asks the emulator where traffic goes; the emulator asks the router for each service's URL.
  const router: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(emu, route)});
  const emu: CloudRunEmulator = new CloudRunEmulator({runner, serviceUri: ({service}) => router.urlFor(service)});
  /** The emulator's record of a service, as far as these tests read it. */
  const storedService = (name: string) =>
    emu.getService(name) as
      {latestReadyRevision: string; latestCreatedRevision: string; terminalCondition: {state: string; message: string}} | undefined;
  const images: Record<string, string> = {};
  const pids: number[] = [];
  let services: ServicesClient;
  let uri: string;

  async function push(tag: string, source: string, env: Record<string, string> = {}, config: {cmd?: string[]} = {}): Promise<string> {
    const dir = mkdtempSync(join(root, 'src-'));
    writeFileSync(join(dir, 'server.js'), source);
    writeFileSync(join(dir, 'other.js'), "require('./server.js');\n");
    const digest = await registry.push(`repo/hello:${tag}`, dir, {entrypoint: ['node', 'server.js'], env, ...config});
    return `repo/hello@${digest}`;
  }

  async function update(image: string) {
    const [op] = await services.updateService({service: {name: `${PARENT}/services/hello`, ...spec(image)}});
    return op;
  }

  const servingPid = (service: string) => runner.pidOf(shortName(storedService(service)!.latestReadyRevision))!;

  before(async () => {
    images.v1 = await push('v1', app('v1'), {FROM_IMAGE: 'image', GREETING: 'from the image'});
    images.v2 = await push('v2', app('v2', 500));
    images.crash = await push('crash', CRASH);
    images.stuck = await push('stuck', STUCK);
    images.cmd = await push('cmd', app('cmd'), {}, {cmd: ['--from-image-cmd']});
    services = new ServicesClient(clientOptions(await emu.start()));
  });
  after(async () => {
    await services.close();
    await emu.stop();
    await router.close();
    await runner.stopAll();
    rmSync(root, {recursive: true, force: true});
  });

  it('creates a service whose stable URL answers from its first revision', async () => {
    const [op] = await services.createService({parent: PARENT, serviceId: 'hello', service: spec(images.v1)});
    const [svc] = await op.promise();
    uri = svc.uri!;
    assert.match(uri, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await get(uri), {status: 200, body: 'v1'});
    pids.push(servingPid('hello'));
  });

  it("gives the process the image's env, the service's env over it, and Cloud Run's variables", async () => {
    const env = parseJson<Record<string, string | undefined>>((await get(`${uri}/env`)).body);
    const revision = shortName(storedService('hello')!.latestReadyRevision);
    assert.equal(env.GREETING, 'hi');
    assert.equal(env.FROM_IMAGE, 'image');
    assert.equal(env.HOME, undefined); // the host's environment stays out
    assert.equal(env.K_SERVICE, 'hello');
    assert.equal(env.K_CONFIGURATION, 'hello');
    assert.equal(env.K_REVISION, revision);
    assert.equal(emu.revisionUrl(revision), `http://127.0.0.1:${env.PORT}`);
  });

  it('forwards method, path, query and body through the router', async () => {
    const res = await get(`${uri}/echo?x=1`, {method: 'POST', body: 'payload'});
    assert.deepEqual(res, {status: 200, body: 'POST /echo?x=1 payload'});
  });

  it('keeps answering from v1 until v2 is ready, then from v2 on the same URL, and retires v1', async () => {
    const v1 = shortName(storedService('hello')!.latestReadyRevision);
    const v1Pid = runner.pidOf(v1)!;
    const op = await update(images.v2);
    let done = false;
    const finished = op.promise().finally(() => (done = true));
    const seen: string[] = [];
    while (!done) {
      const res = await get(uri);
      assert.equal(res.status, 200);
      seen.push(res.body);
      await sleep(50);
    }
    const [svc] = await finished;
    assert.equal(svc.uri, uri);
    assert.equal(seen[0], 'v1');
    assert.ok(seen.filter((b) => b === 'v1').length >= 3, `v1 served during the rollout: ${seen.join(',')}`);
    assert.equal(seen.join(',').replace(/^(v1,)*(v2,)*v2$|^(v1,)*v1$/, 'ok'), 'ok', `v1 then v2 only: ${seen.join(',')}`);
    assert.equal((await get(uri)).body, 'v2');
    pids.push(servingPid('hello'));

    for (let i = 0; i < 50 && alive(v1Pid); i++) await sleep(50);
    assert.equal(runner.pidOf(v1), undefined);
    assert.equal(alive(v1Pid), false, 'v1 was retired after traffic moved');
    assert.equal(emu.revisionUrl(v1), undefined);
  });

  it('keeps the last good revision serving when the new one exits at start', async () => {
    const op = await update(images.crash);
    let message = '';
    await assert.rejects(op.promise(), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 9);
      message = err.message!;
      return true;
    });
    assert.match(message, /Revision 'hello-00003-[a-z]{3}' is not ready and cannot serve traffic/);
    assert.match(message, /The container exited with code 1\./);
    assert.match(message, /boom: missing DATABASE_URL/);
    assert.deepEqual(await get(uri), {status: 200, body: 'v2'});

    const svc = storedService('hello')!;
    assert.equal(svc.terminalCondition.state, 'CONDITION_FAILED');
    assert.match(svc.terminalCondition.message, /boom: missing DATABASE_URL/);
    const failed = shortName(svc.latestCreatedRevision);
    assert.match(runner.logOf(failed), /boom: missing DATABASE_URL/);
    assert.match(readFileSync(runner.logFileOf(failed), 'utf8'), /boom: missing DATABASE_URL/);
  });

  it('fails a revision that never listens after the startup timeout and kills what it spawned', async () => {
    const [op] = await services.createService({parent: PARENT, serviceId: 'stuck', service: spec(images.stuck)});
    const stuckUri = (op.metadata as unknown as {uri: string}).uri;
    let message = '';
    await assert.rejects(op.promise(), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 9);
      message = err.message!;
      return true;
    });
    assert.match(message, new RegExp(`did not answer HTTP on port \\d+ within ${STARTUP_TIMEOUT_MS} ms`));
    const [, leader, child] = /pids (\d+) (\d+)/.exec(message)!.map(Number);
    assert.equal(alive(leader), false);
    assert.equal(alive(child), false, 'the grandchild went with its process group');
    const res = await get(stuckUri);
    assert.equal(res.status, 503);
    assert.match(res.body, /no ready revision/);
  });

  it('fails a revision whose image is not in the local registry', async () => {
    const image = `repo/ghost@sha256:${'a'.repeat(64)}`;
    const [op] = await services.createService({parent: PARENT, serviceId: 'ghost', service: spec(image)});
    await assert.rejects(op.promise(), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 9);
      assert.match(err.message!, /Image 'repo\/ghost@sha256:a+' not found: it is not in the local registry/);
      return true;
    });
  });

  it("runs the container's command and args in place of the image's ENTRYPOINT and CMD, as Cloud Run does", async () => {
    const name = `${PARENT}/services/argv`;
    const argvOf = async (container: Record<string, unknown>) => {
      const [op] = await services.updateService({
        service: {name, template: {containers: [{image: images.cmd, ...container}]}},
        allowMissing: true,
      });
      const [svc] = await op.promise();
      return parseJson<{script: string; args: string[]; API_TOKEN?: string}>((await get(`${svc.uri}/argv`)).body);
    };
    assert.deepEqual(await argvOf({}), {script: 'server.js', args: ['--from-image-cmd']});
    assert.deepEqual(await argvOf({args: ['--from-service']}), {script: 'server.js', args: ['--from-service']});
    assert.deepEqual(await argvOf({command: ['node', 'other.js']}), {script: 'other.js', args: []});
    assert.deepEqual(await argvOf({command: ['node', 'other.js'], args: ['a', 'b c']}), {script: 'other.js', args: ['a', 'b c']});
  });

  it('reads an env value from Secret Manager out of the secrets folder, and refuses a revision whose secret is not there', async () => {
    const name = `${PARENT}/services/secret`;
    const env = [{name: 'API_TOKEN', valueSource: {secretKeyRef: {secret: 'projects/demo-project/secrets/api-token', version: 'latest'}}}];
    const missing = await services.updateService({service: {name, template: {containers: [{image: images.cmd, env}]}}, allowMissing: true});
    await assert.rejects(missing[0].promise(), (err: {code?: number; message?: string}) => {
      assert.equal(err.code, 9);
      assert.match(err.message!, /Revision 'secret-00001-[a-z]{3}' is not ready and cannot serve traffic\. Environment variable API_TOKEN/);
      assert.ok(err.message!.includes(`Put its value in ${join(root, 'secrets', 'api-token')}`), err.message);
      return true;
    });
    mkdirSync(join(root, 'secrets'), {recursive: true});
    writeFileSync(join(root, 'secrets', 'api-token'), 's3cret');
    const [op] = await services.updateService({service: {name, template: {containers: [{image: images.cmd, env, args: ['again']}]}}});
    const [svc] = await op.promise();
    assert.equal(parseJson<{API_TOKEN: string}>((await get(`${svc.uri}/argv`)).body).API_TOKEN, 's3cret');
  });

  it('starts a serving revision whose process crashed again on the next request, as Cloud Run starts a new instance', async () => {
    const svc = storedService('secret')!;
    const revision = shortName(svc.latestReadyRevision);
    const {uri: url} = emu.getService('secret')!;
    const before = runner.pidOf(revision);
    const revisionUrl = emu.revisionUrl(revision);
    assert.equal((await get(`${url}/crash`)).body, 'bye');
    while (runner.pidOf(revision) !== undefined) await sleep(20);
    const res = await get(`${url}/argv`);
    assert.equal(res.status, 200);
    assert.equal(parseJson<{API_TOKEN: string}>(res.body).API_TOKEN, 's3cret', 'started as before, with its secret');
    assert.notEqual(runner.pidOf(revision), before);
    assert.equal(emu.revisionUrl(revision), revisionUrl, 'on the same port');
  });

  it('answers 503 until the first revision of a new service is ready', async () => {
    const [op] = await services.createService({parent: PARENT, serviceId: 'slow', service: spec(images.v2)});
    const slowUri = (op.metadata as unknown as {uri: string}).uri;
    assert.equal((await get(slowUri)).status, 503);
    await op.promise();
    assert.deepEqual(await get(slowUri), {status: 200, body: 'v2'});
  });

  it('stops the processes of a deleted service', async () => {
    const pid = servingPid('slow');
    const [op] = await services.deleteService({name: `${PARENT}/services/slow`});
    await op.promise();
    assert.equal(alive(pid), false);
  });

  it('leaves no process alive when the emulator stops', async () => {
    assert.ok(pids.every(Number.isInteger) && pids.length === 2);
    assert.equal(alive(pids[1]), true);
    await emu.stop();
    assert.deepEqual(pids.filter(alive), []);
    assert.ok(existsSync(runner.logFileOf(shortName(storedService('hello')!.latestReadyRevision))));
  });
});
