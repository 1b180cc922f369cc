/**
 * The local build's plan for a source, decided as Google's Node.js buildpacks decide it
 * (GoogleCloudPlatform/buildpacks cmd/nodejs/{runtime,npm,pnpm,yarn,functions_framework},
 * pkg/nodejs): which package manager, which install, build and prune steps with which NODE_ENV,
 * whether the Functions Framework is added, what the image runs, and one log line per decision.
 * Pure: the source's shape comes in, the plan goes out; the executor only carries it out.
 */
import {BuildFailure} from '../build-failure';
import {choosePackageManager, type PackageManager} from './package-manager';
import type {PackageJson} from './package-json';
import type {EnvPair} from './project-toml';
import {nodeVersionLine, resolveStart, type StartPlan} from './start';
import {installSteps} from './steps';

export type {StartPlan} from './start';

/** What the planner knows of a source. */
export interface SourceShape {
  /** Root-relative paths that exist, of those the build asks about (see {@link pathsToCheck}). */
  files: ReadonlySet<string>;
  /** Undefined when the source has no package.json. */
  packageJson?: PackageJson;
  /** yarn.lock has a `__metadata` block (Yarn 2 or later). */
  yarnLockBerry?: boolean;
  /** What .yarnrc.yml sets that the build reads. */
  yarnrc?: {nodeLinker?: string; plugins: string[]};
  /** project.toml's build env, in file order. */
  projectEnv: EnvPair[];
  /** The build step's env ("K=V"): the upload metadata's GOOGLE_FUNCTION_* among others. */
  stepEnv: string[];
  /** The host's Node.js (`process.version`) and npm versions. */
  hostNode: string;
  hostNpm?: string;
  /** Where pnpm keeps its store (a folder of the build or of the dependency cache, never a home folder). */
  pnpmStore: string;
}

/** One command of the build. */
export interface Step {
  /** The command as a person would type it, for the log and a failure message. */
  display: string[];
  /** The program: npm (pnpm and yarn run through `npm exec`) or node. */
  program: 'npm' | 'node';
  args: string[];
  /** Set for this step only, over the build env. */
  env?: Record<string, string>;
}

/** A function to serve with the Functions Framework. */
export interface FunctionPlan {
  target: string;
  signatureType: string;
  /** The Functions Framework is not in the source's dependencies: the build adds it beside the app. */
  inject: boolean;
}

/** Everything the executor does, in order. */
export interface BuildPlan {
  /** The decision lines, printed before anything runs. */
  log: string[];
  /** The build env ("K=V"), project.toml first and the build step's env after it, so the step's wins. */
  env: string[];
  packageManager?: PackageManager;
  /** Remove a node_modules the source shipped before installing (npm and Yarn classic do). */
  removeNodeModules: boolean;
  install?: Step;
  /** What the dependency cache key is made of (with the lockfile's content); unset when not cached. */
  cache?: {lockfile: string; inputs: string};
  /** Why the installed dependencies are not cached, when they are not. */
  noCache?: string;
  /** Run after dependencies come from the cache: the source's own install scripts, which an install would have run. */
  afterRestore: Step[];
  build: Step[];
  prune: Step[];
  fn?: FunctionPlan;
  /** What the image runs when it is not a function, as far as the source shows before its build steps. */
  start?: StartPlan;
  /** Yarn Plug'n'Play: dependencies resolve through .pnp.cjs, not node_modules. */
  pnp: boolean;
  imageEnv: Record<string, string>;
}

/** The root-relative paths whose existence the planner needs, given package.json's `main`. */
export function pathsToCheck(main: string | undefined): string[] {
  const fixed = [
    'package.json',
    'package-lock.json',
    'npm-shrinkwrap.json',
    'pnpm-lock.yaml',
    'yarn.lock',
    '.yarnrc.yml',
    '.yarn/cache',
    'node_modules',
    'server.js',
    'index.js',
    'function.js',
    'project.toml',
  ];
  return main ? [...fixed, main] : fixed;
}

const FF = '@google-cloud/functions-framework';

/** Plans the build of a source; throws a BuildFailure for a source the buildpacks would refuse. */
export function planBuild(src: SourceShape): BuildPlan {
  const log: string[] = [];
  const env = mergeEnv(src, log);
  const vars = new Map(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const pkg = src.packageJson;
  log.push(nodeVersionLine(src.hostNode, pkg, vars));
  const target = vars.get('GOOGLE_FUNCTION_TARGET');
  const plan: BuildPlan = {log, env, removeNodeModules: false, afterRestore: [], build: [], prune: [], pnp: false, imageEnv: {}};
  const userNodeEnv = vars.get('NODE_ENV');
  plan.imageEnv.NODE_ENV = userNodeEnv || 'production';

  if (pkg) {
    const pm = choosePackageManager({
      files: src.files,
      packageJson: pkg,
      yarnLockBerry: src.yarnLockBerry ?? false,
      hostNpm: src.hostNpm,
    });
    plan.packageManager = pm;
    log.push(pm.line);
    const pnp = pm.flavor === 'berry' && !['node-modules', 'pnpm'].includes(src.yarnrc?.nodeLinker ?? 'pnp');
    plan.pnp = pnp;
    Object.assign(
      plan,
      installSteps({
        pm,
        pkg,
        vars,
        files: src.files,
        yarnPlugins: src.yarnrc?.plugins ?? [],
        pnp,
        hostNode: src.hostNode,
        pnpmStore: src.pnpmStore,
        log,
      }),
    );
  } else {
    if (!target) {
      throw new BuildFailure(
        'this source has no package.json and names no function target: add a package.json (with a "start" script or a main file), ' +
          'or set GOOGLE_FUNCTION_TARGET in project.toml ([[build.env]]) or the upload metadata to deploy it as a function',
      );
    }
    log.push('No package.json: no dependencies to install');
    plan.noCache = 'no package.json, so no dependencies to cache';
  }

  if (target) {
    plan.fn = planFunction(src, pkg, plan, target, vars.get('GOOGLE_FUNCTION_SIGNATURE_TYPE') || 'http', env);
    plan.imageEnv.FUNCTION_TARGET = target;
    plan.imageEnv.FUNCTION_SIGNATURE_TYPE = plan.fn.signatureType;
  } else {
    // Decided again after the build steps, which may write the file it runs (the buildpack decides it last).
    plan.start = resolveStart(src.files, pkg, vars.get('GOOGLE_ENTRYPOINT'));
  }
  if (plan.pnp) plan.imageEnv.NODE_OPTIONS = '--require ./.pnp.cjs';
  return plan;
}

/** project.toml's build env, then the build step's: on Google Cloud, pack's `--env` (the step's) overrides project.toml. */
function mergeEnv(src: SourceShape, log: string[]): string[] {
  const fromToml = new Map(src.projectEnv.map((p) => [p.name, p.value]));
  const stepNames = new Set(src.stepEnv.map((e) => e.slice(0, e.indexOf('='))));
  if (fromToml.size) {
    const applied = [...fromToml.keys()].filter((n) => !stepNames.has(n));
    const overridden = [...fromToml.keys()].filter((n) => stepNames.has(n));
    const parts = [
      applied.length ? `applied ${applied.join(', ')}` : '',
      overridden.length ? `${overridden.join(', ')} overridden by the upload metadata` : '',
    ];
    log.push(`Build env from project.toml: ${parts.filter(Boolean).join('; ')}`);
  }
  return [...[...fromToml].map(([k, v]) => `${k}=${v}`), ...src.stepEnv];
}

function planFunction(
  src: SourceShape,
  pkg: PackageJson | undefined,
  plan: BuildPlan,
  target: string,
  signatureType: string,
  env: string[],
): FunctionPlan {
  const fromStep = src.stepEnv.some((e) => e.startsWith('GOOGLE_FUNCTION_TARGET='));
  plan.log.push(`Node.js function "${target}" (${signatureType}; target from ${fromStep ? 'the upload metadata' : 'project.toml'})`);
  if (env.some((e) => e.startsWith('GOOGLE_FUNCTION_SOURCE='))) {
    throw new BuildFailure('GOOGLE_FUNCTION_SOURCE is not supported by the Node.js buildpacks: remove it and set "main" in package.json');
  }
  // Function source code is package.json's "main", else index.js, else function.js.
  const file = pkg?.main || (src.files.has('index.js') ? 'index.js' : 'function.js');
  // A build step may write it (a TypeScript function's main is its output): then `node --check` tells.
  if (!src.files.has(file) && !plan.build.length) {
    throw new BuildFailure(
      `the function's source file ${file} does not exist: add it, or point "main" in package.json at the file that exports "${target}"`,
    );
  }
  // After the build and before pruning, as the functions-framework buildpack checks the built source.
  plan.build.push({display: ['node', '--check', file], program: 'node', args: ['--check', file]});
  const hasFramework = pkg?.dependencies?.[FF] !== undefined;
  if (!hasFramework && plan.pnp) {
    throw new BuildFailure(
      "This project is using Yarn Plug'n'Play but you have not included the Functions Framework in your dependencies. " +
        `Please add it by running: 'yarn add ${FF}'.`,
    );
  }
  if (!hasFramework && plan.packageManager?.name === 'pnpm') {
    throw new BuildFailure(
      `This project is using pnpm but you have not included the Functions Framework in your dependencies. Please add it by running: 'pnpm add ${FF}'.`,
    );
  }
  plan.log.push(
    hasFramework
      ? `Handling functions with dependency on functions-framework (${pkg?.dependencies?.[FF]}).`
      : 'Handling functions without dependency on functions-framework: adding it, as Google Cloud does.',
  );
  return {target, signatureType, inject: !hasFramework};
}
