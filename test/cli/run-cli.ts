/**
 * Runs the compiled CLI as a child process, the way a person or a script does.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {tmpdir} from 'node:os';

/** The compiled entry point (dist/cli/main.js). */
export const CLI = join(__dirname, '..', '..', 'cli', 'main.js');

/** A finished run. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** A run in the background: its output so far, and its end. */
export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  done: Promise<CliResult>;
}

/** The environment of the CLI: none of the caller's dropdeploy settings or Google credentials. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {PATH: process.env.PATH, HOME: tmpdir(), METADATA_SERVER_DETECTION: 'none', CLOUDSDK_CONFIG: tmpdir()};
  return {...env, ...extra};
}

/** Starts `dropdeploy args…`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): CliRun {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({code, stdout, stderr, ms: Date.now() - t0})));
  return {child, stdout: () => stdout, done};
}

/** Runs `dropdeploy args…` to its end. */
export function cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}
