/**
 * Cold start: spawn a Functions Framework process → its first request answered, with the
 * process's RSS after that request.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {freePort} from '../local/ports';

/** The repository root (this file compiles to dist/bench/). */
export const ROOT = join(__dirname, '..', '..');
const FF_MAIN = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

/** One measurement. */
export interface ColdStart {
  ms: number;
  rssMb: number;
}

/** A request to send: a CloudEvent (binary mode) or a plain GET. */
export type Probe = {kind: 'event'; type: string; data: unknown} | {kind: 'get'; path: string};

/** Resident memory of `pid` in MB. */
export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** The fields of /proc/<pid>/stat after the command name (state first). */
function stat(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
}

/** User + system CPU time from stat fields, in ms (clock ticks of 10 ms, USER_HZ 100). */
const statCpuMs = (fields: string[]) => (Number(fields[11]) + Number(fields[12])) * 10;

/** CPU time (user + system) of `pid` so far, in ms. */
export function cpuMs(pid: number): number {
  return statCpuMs(stat(pid));
}

/** CPU time of every live process in process group `pgid` (an emulator: gcloud and its JVM), in ms. */
export function groupCpuMs(pgid: number): number {
  let ms = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const fields = stat(pid);
      if (Number(fields[2]) === pgid) ms += statCpuMs(fields);
    } catch {
      // The process ended while we looked.
    }
  }
  return ms;
}

/** Starts the Functions Framework CLI serving `target` from `source`. */
export async function spawnFunction(opts: {
  source: string;
  target: string;
  signature: 'http' | 'cloudevent';
  env: NodeJS.ProcessEnv;
}): Promise<{child: ChildProcess; url: string; stderr: () => string}> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [FF_MAIN, `--target=${opts.target}`, `--source=${opts.source}`, `--port=${port}`, `--signature-type=${opts.signature}`],
    {
      env: {...process.env, ...opts.env},
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: ROOT,
    },
  );
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  return {child, url: `http://127.0.0.1:${port}`, stderr: () => stderr};
}

/** Sends `probe` once (an event in binary content mode); the whole response is read. */
export async function request(url: string, probe: Probe): Promise<Response> {
  const res =
    probe.kind === 'get'
      ? await fetch(url + probe.path)
      : await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': String(Math.random()),
            'ce-source': '//bench',
            'ce-type': probe.type,
          },
          body: JSON.stringify(probe.data),
        });
  await res.arrayBuffer();
  return res;
}

/** Sends `probe` once; resolves with the HTTP status, or undefined while nothing listens. */
export async function send(url: string, probe: Probe): Promise<number | undefined> {
  try {
    return (await request(url, probe)).status;
  } catch {
    return undefined;
  }
}

/** Spawn → first `probe` answered 2xx; the process is killed after. */
export async function coldStart(opts: {
  source: string;
  target: string;
  signature: 'http' | 'cloudevent';
  env: NodeJS.ProcessEnv;
  probe: Probe;
}): Promise<ColdStart> {
  const t0 = process.hrtime.bigint();
  const {child, url, stderr} = await spawnFunction(opts);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${opts.target} exited with ${child.exitCode}: ${stderr()}`);
      const status = await send(url, opts.probe);
      if (status !== undefined) {
        if (status >= 300) throw new Error(`${opts.target} answered ${status}: ${stderr()}`);
        return {ms: Math.round(Number(process.hrtime.bigint() - t0) / 1e6), rssMb: rssMb(child.pid!)};
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGKILL');
  }
}

/** Compiled fixtures and entry points. */
export const SOURCES = {
  bare: join(ROOT, 'bench', 'fixtures', 'bare.js'),
  bareHttp: join(ROOT, 'bench', 'fixtures', 'bare-http.js'),
  floorEvents: join(ROOT, 'bench', 'fixtures', 'floor-events.js'),
  floorApi: join(ROOT, 'bench', 'fixtures', 'floor-api.js'),
  dropdeploy: join(ROOT, 'dist', 'src', 'index.js'),
};
