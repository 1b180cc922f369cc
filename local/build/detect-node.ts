/**
 * What Google's Node.js buildpacks decide for a source: how to install it, whether to run
 * `gcp-build`, and what the image runs. The local builder does the same so an app that
 * builds here builds on Google Cloud.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import type {ImageConfig} from './registry';
import {BuildFailure} from './build-failure';

/** The parts of package.json that matter here. */
export interface PackageJson {
  main?: string;
  scripts?: Record<string, string>;
}

/** A function to serve with the Functions Framework, from the build's GOOGLE_FUNCTION_* env. */
export interface FunctionTarget {
  target: string;
  signatureType: string;
}

/** The npm commands of a build, in order (each an argv after `npm`). */
export function npmSteps(pkg: PackageJson, hasLockfile: boolean): string[][] {
  const quiet = ['--no-audit', '--no-fund'];
  const install = hasLockfile ? ['ci', ...quiet] : ['install', ...quiet];
  // As the buildpack does: devDependencies only when gcp-build needs them, pruned afterwards.
  if (!pkg.scripts?.['gcp-build']) return [[...install, '--omit=dev']];
  return [install, ['run', 'gcp-build'], ['prune', '--omit=dev', ...quiet]];
}

/** Reads package.json at `root`, failing the build when there is none or it is not JSON. */
export function readPackageJson(root: string): PackageJson {
  const path = join(root, 'package.json');
  if (!existsSync(path)) {
    throw new BuildFailure(
      'the local builder only builds Node.js sources with a package.json at the root of the archive, and this one has none',
    );
  }
  try {
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw new Error('not an object');
    return packageFields(pkg);
  } catch (err) {
    throw new BuildFailure(`package.json is not valid JSON: ${(err as Error).message}`);
  }
}

/** The fields used here, each only when it has the type package.json gives it: a `main` that is not a string, or such a script, is left out. */
function packageFields(pkg: {main?: unknown; scripts?: unknown}): PackageJson {
  const out: PackageJson = {};
  if (typeof pkg.main === 'string') out.main = pkg.main;
  if (typeof pkg.scripts === 'object' && pkg.scripts !== null && !Array.isArray(pkg.scripts)) {
    out.scripts = Object.fromEntries(Object.entries(pkg.scripts).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  return out;
}

/** The function target in a build step's env ("K=V" strings), if any. */
export function functionTarget(env: string[] | undefined): FunctionTarget | undefined {
  const vars = new Map((env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const));
  const target = vars.get('GOOGLE_FUNCTION_TARGET');
  return target ? {target, signatureType: vars.get('GOOGLE_FUNCTION_SIGNATURE_TYPE') || 'http'} : undefined;
}

const FF = '@google-cloud/functions-framework';
// A start script made only of these characters is a plain argv: run it directly, so the
// process gets the runner's signals itself rather than through a shell.
const PLAIN_ARGV = /^[\w@%+=:,./-]+(?: +[\w@%+=:,./-]+)*$/;

/** What the image runs, decided after install (the Functions Framework must be in node_modules by then). */
export function imageConfig(root: string, pkg: PackageJson, fn: FunctionTarget | undefined): ImageConfig {
  const env: Record<string, string> = {NODE_ENV: 'production'};
  if (fn) {
    const ffPkg = join(root, 'node_modules', FF, 'package.json');
    if (!existsSync(ffPkg)) {
      throw new BuildFailure(
        `the source is a function (target "${fn.target}") but ${FF} is not installed: ` +
          `add it to the dependencies in package.json (npm install ${FF}) so it can serve the function`,
      );
    }
    const ff = JSON.parse(readFileSync(ffPkg, 'utf8')) as {bin?: unknown} | null;
    const bin = ff?.bin;
    const named = typeof bin === 'object' && bin !== null ? (bin as Record<string, unknown>)['functions-framework'] : undefined;
    const main = typeof bin === 'string' ? bin : typeof named === 'string' ? named : 'build/src/main.js';
    return {
      entrypoint: ['node', join('node_modules', FF, main), `--target=${fn.target}`, `--signature-type=${fn.signatureType}`],
      env: {...env, FUNCTION_TARGET: fn.target, FUNCTION_SIGNATURE_TYPE: fn.signatureType},
    };
  }
  const start = pkg.scripts?.start?.trim();
  if (start) return {entrypoint: startEntrypoint(root, start), env};
  const main = pkg.main || 'index.js';
  if (!existsSync(join(root, main))) {
    throw new BuildFailure(
      `package.json has no "start" script and its main file "${main}" does not exist: add a start script or that file`,
    );
  }
  return {entrypoint: ['node', main], env};
}

/** `npm start` without npm: a plain command as argv, anything else through sh with node_modules/.bin on PATH as npm would. */
function startEntrypoint(root: string, script: string): string[] {
  const [cmd, ...args] = script.split(/ +/);
  // `NAME=value cmd` is an env assignment, which only a shell understands.
  if (PLAIN_ARGV.test(script) && !cmd.includes('=')) {
    const local = join('node_modules', '.bin', cmd);
    return [!cmd.includes('/') && existsSync(join(root, local)) ? `./${local}` : cmd, ...args];
  }
  return ['sh', '-c', `export PATH="$PWD/node_modules/.bin:$PATH"; ${script}`];
}
