/**
 * Runs the controller's two functions as on Google Cloud: the Functions Framework's server
 * for the compiled `dist/src/index.js`, one process per target, configured only through
 * environment variables, listening on loopback only.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {connect} from 'node:net';
import {join} from 'node:path';
import {freePort} from '../ports';
import {REPO_ROOT} from '../repo-root';

/** A running function process. */
export interface RunningFunction {
  target: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Starts the Functions Framework for `target` on a free loopback port and waits until it listens. */
export async function startFunction(opts: {
  target: string;
  env: Record<string, string>;
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}): Promise<RunningFunction> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'host.js'), `--target=${opts.target}`, `--port=${port}`], {
    cwd: REPO_ROOT,
    env: {...process.env, ...opts.env},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const onData = (b: Buffer) => {
    const text = b.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.onOutput?.(line);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the ${opts.target} function exited with code ${child.exitCode}:\n${tail}`);
    // A TCP probe, as Cloud Run's default startup probe: an HTTP request would run the function (a reconcile run, say).
    if (await listening(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${opts.target} function did not listen on ${url}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    target: opts.target,
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
