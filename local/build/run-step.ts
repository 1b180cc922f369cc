import {spawn} from 'node:child_process';

/** How a step ended, with the last lines of its output for a failure message. */
export interface StepResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  tail: string[];
}

/** Lines of output kept for the failure detail. */
export const TAIL_LINES = 20;

/**
 * Runs one build step as a child process in its own process group, streaming its output to
 * `onOutput`. Aborting `signal` kills the whole group, so `npm` and the scripts it started die
 * together instead of leaving orphans.
 */
export function runStep(
  command: string,
  args: string[],
  opts: {cwd: string; env: NodeJS.ProcessEnv; onOutput: (text: string) => void; signal: AbortSignal},
): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(new Error('aborted'));
    const child = spawn(command, args, {cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true});
    let tail: string[] = [];
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      opts.onOutput(text);
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      tail = tail.concat(lines).slice(-TAIL_LINES);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    opts.signal.addEventListener('abort', kill, {once: true});
    child.once('error', (err) => {
      opts.signal.removeEventListener('abort', kill);
      reject(err);
    });
    child.once('close', (code, signal) => {
      opts.signal.removeEventListener('abort', kill);
      // Scripts may have started background children that outlive npm: the group goes with the step.
      kill();
      resolve({code, signal, tail: partial ? tail.concat(partial).slice(-TAIL_LINES) : tail});
    });
  });
}
