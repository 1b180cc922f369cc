/**
 * Cold start: spawn a Functions Framework process → its first upload event answered, for a
 * bare function and for dropdeploy's event function (which reaches Firestore, Cloud Build and
 * Pub/Sub on that first event), with the process's RSS after that event.
 */
import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {freePort} from '../local/gcloud-emulators';

const ROOT = join(__dirname, '..', '..');
const FF_MAIN = join(ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

/** One measurement. */
export interface ColdStart {
  ms: number;
  rssMb: number;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** Spawns the function and posts `event` until it is answered with 2xx; kills it after. */
export async function coldStart(opts: {source: string; target: string; env: NodeJS.ProcessEnv; event: {type: string; data: unknown}}): Promise<ColdStart> {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [FF_MAIN, `--target=${opts.target}`, `--source=${opts.source}`, `--port=${port}`, '--signature-type=cloudevent'], {
    env: {...process.env, ...opts.env}, stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT,
  });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the function exited with ${child.exitCode}: ${stderr}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: {'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': String(Math.random()), 'ce-source': '//bench', 'ce-type': opts.event.type},
          body: JSON.stringify(opts.event.data),
        });
        await res.arrayBuffer();
        if (res.ok) break;
        throw new Error(`answered ${res.status}: ${stderr.slice(-2000)}`);
      } catch (err) {
        if ((err as Error).message.startsWith('answered')) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return {ms: Math.round(ms), rssMb: rssMb(child.pid!)};
  } finally {
    child.kill('SIGKILL');
  }
}

/** The bare function's source file. */
export const BARE_SOURCE = join(ROOT, 'bench', 'fixtures', 'bare.js');
/** dropdeploy's compiled entry point. */
export const DROPDEPLOY_SOURCE = join(ROOT, 'dist', 'src', 'index.js');
