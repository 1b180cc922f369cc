/**
 * `npm start` killed with SIGKILL (no clean stop, no last save) and started again in the same
 * folder: the lock of the dead stack is taken over, and what was saved before the kill (the
 * release, the service and its URL) is back.
 */
import assert from 'node:assert/strict';
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {REPO_ROOT} from '../../local/repo-root';
import type {LocalInfo} from '../../local/stack';
import {parseJson, type ReleasePage} from '../json';
import {requireEmulators} from './stack';

/** Every live descendant of `root`. */
function descendants(root: number): number[] {
  const table = spawnSync('ps', ['-eo', 'pid=,ppid='], {encoding: 'utf8'})
    .stdout.trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const out: number[] = [];
  let frontier = [root];
  while (frontier.length) {
    frontier = table.filter(([, ppid]) => frontier.includes(ppid)).map(([pid]) => pid);
    out.push(...frontier);
  }
  return out;
}

function startStack(dir: string): {child: ChildProcess; output: () => string} {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'local', 'start.js'), '--reconcile-seconds', '1'], {
    env: {...process.env, DROPDEPLOY_LOCAL_DIR: dir},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return {child, output: () => out};
}

async function until(what: string, ok: () => boolean, output: () => string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    assert.ok(Date.now() < deadline, `${what} did not happen:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('npm start killed with SIGKILL', {timeout: 300_000}, () => {
  it('starts again in the same folder with what was saved before the kill', async (t) => {
    requireEmulators();
    const dir = mkdtempSync(join(tmpdir(), 'dd-kill-'));
    const infoOf = () =>
      existsSync(join(dir, 'local.json')) ? parseJson<LocalInfo>(readFileSync(join(dir, 'local.json'), 'utf8')) : undefined;
    const first = startStack(dir);
    const orphans: number[] = [];
    t.after(() => {
      for (const pid of orphans) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    });
    await until('the first start', () => infoOf()?.pid === first.child.pid, first.output);
    const drop = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'dist', 'local', 'drop.js'), join(REPO_ROOT, 'examples', 'hello-app'), '--service', 'hello'],
      {
        env: {...process.env, DROPDEPLOY_LOCAL_DIR: dir},
        encoding: 'utf8',
      },
    );
    assert.equal(drop.status, 0, drop.stderr);
    await until('hello v1 deployed', () => /hello v1\s+deployed/.test(first.output()), first.output);
    const url = /hello v1\s+deployed\s+(http:\/\/\S+)/.exec(first.output())![1];
    // Firestore is saved every 2 s: wait past the next save, then kill without any clean stop.
    await new Promise((r) => setTimeout(r, 3000));
    orphans.push(...descendants(first.child.pid!));
    const killed = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await killed;
    // A killed stack leaves its children running (emulators, revisions); they hold their ports, not the router's.
    for (const pid of orphans) process.kill(pid, 'SIGKILL');

    const second = startStack(dir);
    t.after(() => {
      if (second.child.exitCode === null) second.child.kill('SIGTERM');
    });
    await until(
      'the second start',
      () => infoOf()?.pid === second.child.pid && /dropdeploy is running locally/.test(second.output()),
      second.output,
    );
    assert.match(second.output(), new RegExp(`took over the lock .*pid ${first.child.pid}\\) is no longer running`));
    const res = await fetch(`${infoOf()!.apiUrl}/v1/services/hello/releases`);
    assert.equal(res.status, 200, second.output());
    assert.deepEqual(
      parseJson<ReleasePage>(await res.text()).releases.map((r) => [r.release, r.state, r.url]),
      [[1, 'deployed', url]],
    );
    assert.match(await (await fetch(url)).text(), /Hello from dropdeploy \(v1\)/, 'the same URL answers');
    const exited = new Promise<number | null>((r) => second.child.once('exit', r));
    second.child.kill('SIGTERM');
    assert.equal(await exited, 0, second.output());
    assert.equal(existsSync(join(dir, 'lock')), false, 'a clean stop removes the lock');
  });
});
