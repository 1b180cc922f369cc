/**
 * Runs deploy/install.sh against the recording stub gcloud (test/deploy/stub-gcloud.sh), each
 * run in its own sandbox: a temp dir with a `gcloud` that runs the stub, its call log and its
 * model of the project. Shared by the installer's test files.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {after} from 'node:test';

/** The repository root (the tests run from dist/test/deploy). */
export const ROOT = resolve(__dirname, '../../..');
const INSTALL = join(ROOT, 'deploy', 'install.sh');
const STUB = join(ROOT, 'test', 'deploy', 'stub-gcloud.sh');
/** bash by absolute path, so a test can run the installer with a PATH that has no gcloud. */
export const BASH = spawnSync('sh', ['-c', 'command -v bash'], {encoding: 'utf8'}).stdout.trim() || '/bin/bash';

/** The project and region the tests install into. */
export const P = 'my-project';
export const R = 'europe-west1';
/** Flags of an ordinary install, with two invokers. */
export const BASE = ['--project', P, '--region', R, '--invoker', 'user:a@b.com', '--invoker=group:ops@example.com'];

const sandboxes: string[] = [];
after(() => {
  for (const d of sandboxes) rmSync(d, {recursive: true, force: true});
});

/** A sandbox's directories and files. */
export interface Sandbox {
  dir: string;
  bin: string;
  log: string;
  state: string;
}
/** One installer run: its exit status, output, and every gcloud call (arguments after "gcloud"). */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: string[][];
}

/** A temp dir holding a `gcloud` that runs the stub, its call log and its project state. */
export function sandbox(existing: string[] = []): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'dropdeploy-install-'));
  sandboxes.push(dir);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'gcloud'), `#!/bin/sh\nexec "${BASH}" "${STUB}" "$@"\n`);
  chmodSync(join(bin, 'gcloud'), 0o755);
  const sb = {dir, bin, log: join(dir, 'calls.jsonl'), state: join(dir, 'state')};
  // Resources that were there before the installer (the stub's file naming: '/' → '%', ' ' → '_').
  mkdirSync(join(sb.state, 'res'), {recursive: true});
  for (const key of existing) writeFileSync(join(sb.state, 'res', key.replace(/\//g, '%').replace(/ /g, '_')), '');
  return sb;
}

/** Runs the installer with `args`; the stub starts from the sandbox's state. */
export function run(
  sb: Sandbox,
  args: string[],
  opts: {mode?: 'none-exist' | 'all-exist'; env?: Record<string, string>; path?: string} = {},
): Run {
  rmSync(sb.log, {force: true});
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('DROPDEPLOY_') && !k.startsWith('CLOUDSDK_')) env[k] = v;
  }
  Object.assign(
    env,
    {
      PATH: opts.path ?? `${sb.bin}:${process.env.PATH ?? ''}`,
      STUB_LOG: sb.log,
      STUB_STATE: sb.state,
      STUB_MODE: opts.mode ?? 'none-exist',
      RETRY_DELAY_SECONDS: '0',
    },
    opts.env,
  );
  const r = spawnSync(BASH, [INSTALL, ...args], {env, encoding: 'utf8', timeout: 60_000});
  const calls = existsSync(sb.log)
    ? readFileSync(sb.log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[])
    : [];
  return {status: r.status, stdout: r.stdout, stderr: r.stderr, calls};
}

/** Asserts the run succeeded, showing its output otherwise. */
export function ok(r: Run): Run {
  assert.equal(r.status, 0, `installer failed\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/** gcloud verbs that change the project. */
export const MUTATING = new Set([
  'create',
  'deploy',
  'enable',
  'update',
  'delete',
  'rm',
  'undelete',
  'add-iam-policy-binding',
  'remove-iam-policy-binding',
]);

/** The verb of a gcloud call (create, describe, …), if it has one the tests know. */
export const verbOf = (argv: string[]) => argv.find((a) => MUTATING.has(a) || a === 'describe' || a === 'get-iam-policy' || a === 'list');
/** The calls that change the project. */
export const mutations = (r: Run) => r.calls.filter((c) => MUTATING.has(verbOf(c) ?? ''));
/** Calls as command lines, for assertion messages. */
export const show = (calls: string[][]) => calls.map((c) => 'gcloud ' + c.join(' ')).join('\n');

/** The calls that contain every one of `parts` as a whole argument. */
export function callsWith(r: Run, ...parts: string[]): string[][] {
  return r.calls.filter((c) => parts.every((p) => c.includes(p)));
}
/** The one call that contains every one of `parts`; fails if there is not exactly one. */
export function oneCall(r: Run, ...parts: string[]): string[] {
  const found = callsWith(r, ...parts);
  assert.equal(found.length, 1, `expected one call with ${parts.join(' ')}; got:\n${show(found)}\nall calls:\n${show(r.calls)}`);
  return found[0];
}
/** The value of --NAME=VALUE in a call. */
export const flag = (argv: string[], name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * The --set-env-vars pairs exactly as gcloud splits them (`gcloud topic escaping`; calliope's
 * ArgList/ArgDict): `^DELIM^` at the start picks the delimiter (any length), the key ends at the
 * first `=`. A list, so a test can see a variable given twice (gcloud keeps the last).
 */
export function envPairs(argv: string[]): [string, string][] {
  let spec = flag(argv, 'set-env-vars') ?? '';
  let sep = ',';
  if (spec.startsWith('^') && spec.indexOf('^', 1) > 0) {
    sep = spec.slice(1, spec.indexOf('^', 1));
    spec = spec.slice(spec.indexOf('^', 1) + 1);
  }
  if (!spec.endsWith(sep)) spec += sep;
  return spec
    .split(sep)
    .slice(0, -1)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
}
/** The --set-env-vars of a call as a record; fails when a variable is set twice. */
export function envVars(argv: string[]): Record<string, string> {
  const pairs = envPairs(argv);
  const names = pairs.map(([k]) => k);
  assert.equal(new Set(names).size, names.length, `a variable is set twice: ${names.join(' ')}`);
  return Object.fromEntries(pairs);
}
