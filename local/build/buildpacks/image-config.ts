/**
 * What the image runs, from the plan, once the build has run: the Functions Framework's bin
 * for a function (the source's own or the one the build added), else the start command.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {BuildFailure} from '../build-failure';
import type {ImageConfig} from '../registry';
import type {BuildPlan} from './plan';
import type {StartPlan} from './start';

/** Where the build adds the Functions Framework for a function that does not depend on it, relative to the app. */
export const FF_LAYER = join('.layers', 'functions-framework');

const FF = '@google-cloud/functions-framework';
// A start script made only of these characters is a plain argv: run it directly, so the
// process gets the runner's signals itself rather than through a shell.
const PLAIN_ARGV = /^[\w@%+=:,./-]+(?: +[\w@%+=:,./-]+)*$/;

/** The image config of a built source at `root`; `start` is the start command decided after the build. */
export function imageConfig(root: string, plan: Pick<BuildPlan, 'fn' | 'pnp' | 'imageEnv'>, start: StartPlan | undefined): ImageConfig {
  const env = {...plan.imageEnv};
  if (plan.pnp) {
    // What `yarn node` sets: resolve through .pnp.cjs (and its ESM loader when Yarn wrote one).
    const loader = existsSync(join(root, '.pnp.loader.mjs')) ? ' --experimental-loader ./.pnp.loader.mjs' : '';
    env.NODE_OPTIONS = `--require ./.pnp.cjs${loader}`;
  }
  const fn = plan.fn;
  if (fn) {
    const base = fn.inject ? join(FF_LAYER, 'node_modules', FF) : join('node_modules', FF);
    const ffPkg = join(root, base, 'package.json');
    if (!existsSync(ffPkg)) {
      throw new BuildFailure(
        `the source is a function (target "${fn.target}") but ${FF} is not installed: ` +
          `add it to the dependencies in package.json (npm install ${FF}) so it can serve the function`,
      );
    }
    // The framework finds the app's own packages through NODE_PATH when it is not one of them.
    if (fn.inject && existsSync(join(root, 'node_modules'))) env.NODE_PATH = 'node_modules';
    return {
      entrypoint: ['node', join(base, frameworkMain(ffPkg)), `--target=${fn.target}`, `--signature-type=${fn.signatureType}`],
      env,
    };
  }
  if (!start) throw new Error('a plan for an app has a start command');
  switch (start.kind) {
    case 'entrypoint':
      return {entrypoint: ['sh', '-c', withBinPath(start.command)], env};
    case 'script':
      return {entrypoint: scriptEntrypoint(root, start.script), env};
    case 'node':
      if (!existsSync(join(root, start.file))) {
        throw new BuildFailure(
          `package.json has no "start" script and its main file "${start.file}" does not exist: add a start script or that file`,
        );
      }
      return {entrypoint: ['node', start.file], env};
  }
}

/** The Functions Framework's bin, from its package.json. */
function frameworkMain(ffPkg: string): string {
  const ff = JSON.parse(readFileSync(ffPkg, 'utf8')) as {bin?: unknown} | null;
  const bin = ff?.bin;
  const named = typeof bin === 'object' && bin !== null ? (bin as Record<string, unknown>)['functions-framework'] : undefined;
  return typeof bin === 'string' ? bin : typeof named === 'string' ? named : 'build/src/main.js';
}

/** `npm start` without npm: a plain command as argv, anything else through sh with node_modules/.bin on PATH as npm would. */
function scriptEntrypoint(root: string, script: string): string[] {
  const [cmd, ...args] = script.split(/ +/);
  // `NAME=value cmd` is an env assignment, which only a shell understands.
  if (PLAIN_ARGV.test(script) && !cmd.includes('=')) {
    const local = join('node_modules', '.bin', cmd);
    return [!cmd.includes('/') && existsSync(join(root, local)) ? `./${local}` : cmd, ...args];
  }
  return ['sh', '-c', withBinPath(script)];
}

function withBinPath(command: string): string {
  return `export PATH="$PWD/node_modules/.bin:$PATH"; ${command}`;
}
