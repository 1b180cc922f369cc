/**
 * Carries out a buildpacks plan in the build's folder: prints its decisions, installs (or
 * reuses the cached install), adds the Functions Framework when the plan says so, runs the
 * build and prune steps, and returns what the image runs. Every decision is the planner's.
 */
import {existsSync, readFileSync} from 'node:fs';
import {copyFile, mkdir, rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {ImageConfig} from '../registry';
import {REPO_ROOT} from '../../repo-root';
import {runStep} from '../run-step';
import {stepFailure} from '../step-failure';
import {cacheKey} from './cache-policy';
import type {DependencyCache} from './dependency-cache';
import {FF_LAYER, imageConfig} from './image-config';
import {planBuild, type Step} from './plan';
import {existing, readSource} from './read-source';
import {describeStart, resolveStart} from './start';

/** The shipped package.json and lockfile of the Functions Framework the build adds (the buildpack's converter). */
const FF_CONVERTER = join(REPO_ROOT, 'local', 'build', 'buildpacks', 'functions-framework');

/** What one buildpacks build gets from the local builder. */
export interface BuildpacksRun {
  /** The extracted source, where the steps run and what becomes the image. */
  root: string;
  /** The build's own scratch folder (removed with the build). */
  dir: string;
  /** The build step's env ("K=V"), e.g. the upload metadata's GOOGLE_FUNCTION_TARGET. */
  stepEnv: string[];
  npm: string;
  hostNode: string;
  hostNpm?: string;
  /** Makes the whole env of a step from the build env ("K=V", later wins). */
  envFor(buildEnv: string[]): Record<string, string>;
  cache?: DependencyCache;
  log: (line: string) => void;
  output: (text: string) => void;
  signal: AbortSignal;
}

/** Builds the source at `run.root` as the buildpacks would; returns the image config. */
export async function buildWithBuildpacks(run: BuildpacksRun): Promise<ImageConfig> {
  const shape = readSource(run.root);
  const plan = planBuild({
    ...shape,
    stepEnv: run.stepEnv,
    hostNode: run.hostNode,
    hostNpm: run.hostNpm,
    pnpmStore: join(run.dir, 'pnpm-store'),
  });
  for (const line of plan.log) run.log(line);
  const env = run.envFor(plan.env);
  const exec = async (step: Step, cwd = run.root) => {
    if (run.signal.aborted) throw new Error('aborted');
    run.log(`Running: ${step.display.join(' ')}`);
    const program = step.program === 'node' ? process.execPath : run.npm;
    const res = await runStep(program, step.args, {cwd, env: {...env, ...step.env}, signal: run.signal, onOutput: run.output});
    if (res.code !== 0) throw stepFailure(step.display, res);
  };

  if (plan.install) {
    const modules = join(run.root, 'node_modules');
    if (plan.removeNodeModules && existsSync(modules)) {
      run.log('Removing the node_modules folder the source came with: dependencies are installed afresh');
      await rm(modules, {recursive: true, force: true});
    }
    const key = plan.cache && run.cache ? cacheKey(readFileSync(join(run.root, plan.cache.lockfile)), plan.cache.inputs) : undefined;
    if (plan.noCache) run.log(`Dependency cache: ${plan.noCache}`);
    await installCached(run, key, modules, plan.packageManager?.line ?? '', async (restored) => {
      if (!restored) return exec(plan.install!);
      for (const step of plan.afterRestore) await exec(step);
    });
  }
  if (plan.fn?.inject) await addFunctionsFramework(run, exec);
  for (const step of [...plan.build, ...plan.prune]) await exec(step);

  let start = plan.start;
  if (start && plan.build.length) {
    start = resolveStart(existing(run.root, shape.packageJson?.main), shape.packageJson, envValue(plan.env, 'GOOGLE_ENTRYPOINT'));
  }
  if (start) run.log(`Start command: ${describeStart(start)}`);
  const config = imageConfig(run.root, plan, start);
  run.log(`Entrypoint: ${JSON.stringify(config.entrypoint)}`);
  return config;
}

/** Restores `modules` from the cache under `key`, else runs the install and stores what it made. */
async function installCached(
  run: BuildpacksRun,
  key: string | undefined,
  modules: string,
  label: string,
  install: (restored: boolean) => Promise<void>,
): Promise<void> {
  const cache = run.cache;
  if (key && cache && (await cache.restore(key, modules))) {
    run.log(`Reusing cached dependencies (key ${key.slice(0, 16)})`);
    return install(true);
  }
  await install(false);
  if (!key || !cache) return;
  // As the buildpack does: an install with no dependencies still leaves a node_modules folder.
  await mkdir(modules, {recursive: true});
  run.log(`Caching dependencies (key ${key.slice(0, 16)})`);
  const stored = await cache.store(key, modules, label);
  if (stored === 'too-big')
    run.log(`Dependency cache: these dependencies are larger than the cache's budget (${cache.maxBytes} bytes), so not cached`);
}

/** Installs the shipped Functions Framework beside the app (from the cache when it is there). */
async function addFunctionsFramework(run: BuildpacksRun, exec: (s: Step, cwd?: string) => Promise<void>): Promise<void> {
  const layer = join(run.root, FF_LAYER);
  await rm(layer, {recursive: true, force: true});
  await mkdir(layer, {recursive: true});
  await Promise.all(['package.json', 'package-lock.json'].map((f) => copyFile(join(FF_CONVERTER, f), join(layer, f))));
  const version = (JSON.parse(readFileSync(join(FF_CONVERTER, 'package.json'), 'utf8')) as {dependencies: Record<string, string>})
    .dependencies['@google-cloud/functions-framework'];
  run.log(`Adding @google-cloud/functions-framework@${version} in ${FF_LAYER}`);
  const args = ['ci', '--quiet', '--omit=dev', '--no-fund', '--no-audit'];
  const step: Step = {display: ['npm', ...args], program: 'npm', args};
  const inputs = JSON.stringify({functionsFramework: true, install: args, nodeMajor: run.hostNode.replace(/^v/, '').split('.')[0]});
  const key = run.cache ? cacheKey(readFileSync(join(layer, 'package-lock.json')), inputs) : undefined;
  await installCached(run, key, join(layer, 'node_modules'), 'functions-framework', (restored) =>
    restored ? Promise.resolve() : exec(step, layer),
  );
}

function envValue(env: string[], name: string): string | undefined {
  const hit = env.filter((e) => e.startsWith(`${name}=`)).pop();
  return hit?.slice(name.length + 1);
}
