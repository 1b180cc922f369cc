/**
 * `npm start` as a user runs it: the process writes local.json with every endpoint, the
 * drop command finds it, and SIGTERM stops every child — no process left, every port free.
 */
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {createServer} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {REPO_ROOT} from '../../local/repo-root';
import type {LocalInfo} from '../../local/stack';
import {parseJson} from '../json';
import {requireEmulators} from './stack';

function portFree(hostPort: string): Promise<boolean> {
  const port = Number(hostPort.replace(/^.*:/, ''));
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Live (non-zombie) processes: pid → {ppid, args}. */
function processTable(): Map<number, {ppid: number; args: string}> {
  const table = new Map<number, {ppid: number; args: string}>();
  for (const line of spawnSync('ps', ['-eo', 'pid=,ppid=,stat=,args='], {encoding: 'utf8'}).stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m && !m[3].startsWith('Z')) table.set(Number(m[1]), {ppid: Number(m[2]), args: m[4]});
  }
  return table;
}

/** Every live descendant of `root`, with its command line. */
function descendants(root: number): Map<number, string> {
  const table = processTable();
  const out = new Map<number, string>();
  let frontier = [root];
  while (frontier.length) {
    const next: number[] = [];
    for (const [pid, p] of table)
      if (frontier.includes(p.ppid) && !out.has(pid)) {
        out.set(pid, p.args);
        next.push(pid);
      }
    frontier = next;
  }
  return out;
}

describe('npm start', {timeout: 120_000}, () => {
  it('starts, serves drops, and stops every child on SIGTERM', async (t) => {
    requireEmulators();
    const dir = mkdtempSync(join(tmpdir(), 'dd-start-'));
    // A user's environment: the harness's METADATA_SERVER_DETECTION=none would hide the auth
    // library's metadata probe and its MetadataLookupWarning.
    const {METADATA_SERVER_DETECTION: _harnessOnly, ...userEnv} = process.env;
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'local', 'start.js')], {
      env: {...userEnv, DROPDEPLOY_LOCAL_DIR: dir},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A failed assertion must not leave the stack running (and the test runner waiting on it).
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const infoFile = join(dir, 'local.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(infoFile)) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `npm start did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = parseJson<LocalInfo>(readFileSync(infoFile, 'utf8'));
    assert.match(out, /dropdeploy is running locally/);
    assert.doesNotMatch(out, /Warning/, 'npm start printed a warning');
    const drop = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'dist', 'local', 'drop.js'), join(REPO_ROOT, 'examples', 'hello-app'), '--service', 'hello'],
      {env: {...process.env, DROPDEPLOY_LOCAL_DIR: dir}, encoding: 'utf8'},
    );
    assert.equal(drop.status, 0, drop.stderr);
    while (!/hello v1\s+deployed/.test(out)) {
      assert.ok(Date.now() < deadline + 60_000, `no deployed status printed:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /hello v1\s+deployed\s+(http:\/\/\S+)/.exec(out)![1];
    assert.match(await (await fetch(url)).text(), /Hello from dropdeploy/);
    // The dashboard's URL is printed (no colour: stdout is no terminal), and it is the page.
    const dashboard = /Dashboard:\s+(http:\/\/\S+)/.exec(out)?.[1];
    assert.equal(dashboard, `${info.apiUrl}/`, out);
    const page = await fetch(dashboard);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>dropdeploy<\/title>/);

    const children = descendants(child.pid!);
    const kinds = [...children.values()].join('\n');
    for (const what of [
      'pubsub-emulator',
      'cloud-firestore-emulator',
      '--target=dropdeployEvents',
      '--target=dropdeployApi',
      'server.js',
    ]) {
      assert.ok(kinds.includes(what), `a ${what} process runs under npm start:\n${kinds}`);
    }
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.equal(existsSync(infoFile), false, 'local.json is removed');
    for (const k of [
      'pubsubEmulatorHost',
      'firestoreEmulatorHost',
      'cloudBuildEndpoint',
      'cloudRunEndpoint',
      'monitoringEndpoint',
      'eventUrl',
      'apiUrl',
      'buildLogsUrl',
    ] as const) {
      assert.ok(await portFree(String(info[k]).replace(/^http:\/\//, '')), `${k} ${info[k]} is free`);
    }
    assert.ok(await portFree(url.replace(/^http:\/\//, '')), 'the service URL is free');
    const alive = processTable();
    const left = [...children].filter(([pid]) => alive.has(pid)).map(([pid, args]) => `${pid} ${args}`);
    assert.deepEqual(left, [], 'no process of the stack is left: emulators (Java), functions, revisions');
  });
});
