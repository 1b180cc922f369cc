/**
 * The install, build and prune steps of each package manager, with the NODE_ENV of each, as
 * Google's buildpacks run them (cmd/nodejs/npm, cmd/nodejs/pnpm, cmd/nodejs/yarn: Yarn classic
 * and Yarn 2+ differ), and the log line of each decision.
 */
import {major, minVersion} from 'semver';
import type {PackageManager} from './package-manager';
import type {PackageJson} from './package-json';
import type {BuildPlan, Step} from './plan';

/** What {@link installSteps} decides from. */
export interface StepsInput {
  pm: PackageManager;
  pkg: PackageJson;
  /** The build env (project.toml, then the build step's). */
  vars: Map<string, string>;
  files: ReadonlySet<string>;
  /** The plugins .yarnrc.yml lists (Yarn 2+). */
  yarnPlugins: string[];
  pnp: boolean;
  hostNode: string;
  /** Where pnpm keeps its store, so it never lands in a home folder. */
  pnpmStore: string;
  log: string[];
}

type Steps = Pick<BuildPlan, 'install' | 'removeNodeModules' | 'noCache' | 'cache' | 'afterRestore' | 'build' | 'prune'>;

const QUIET = ['--quiet', '--no-fund', '--no-audit'];
// The lifecycle scripts npm, pnpm and yarn run for the source itself on install, in order.
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];

/** The steps for the chosen package manager. */
export function installSteps(input: StepsInput): Steps {
  const {pm} = input;
  const steps =
    pm.name === 'npm'
      ? npmSteps(input)
      : pm.name === 'pnpm'
        ? pnpmSteps(input)
        : pm.flavor === 'berry'
          ? berrySteps(input)
          : yarnSteps(input);
  const ownScripts = INSTALL_SCRIPTS.filter((s) => input.pkg.scripts?.[s] !== undefined);
  steps.afterRestore = ownScripts.map((s) => run(pm, ['run', s]));
  if (steps.noCache) return steps;
  if (!pm.lockfile) {
    steps.noCache = `no lockfile, so the dependencies are not cached (commit ${pm.name === 'npm' ? 'package-lock.json' : 'the lockfile'} to reuse them)`;
    return steps;
  }
  steps.cache = {
    lockfile: pm.lockfile,
    inputs: JSON.stringify({
      pm: pm.name,
      flavor: pm.flavor ?? null,
      version: pm.version,
      // Where pnpm's store is differs from build to build and changes nothing installed.
      install: (steps.install?.args ?? []).map((a) => (a.startsWith('--store-dir=') ? '--store-dir' : a)),
      env: steps.install?.env ?? {},
      nodeMajor: input.hostNode.replace(/^v/, '').split('.')[0],
      packageJson: input.pkg.installInputs,
    }),
  };
  return steps;
}

/** A step run by the package manager (through `npm exec` for pnpm and yarn). */
function run(pm: PackageManager, args: string[], env?: Record<string, string>): Step {
  return {display: [pm.name, ...args], program: 'npm', args: [...pm.via, ...args], ...(env ? {env} : {})};
}

/** npm and pnpm: GOOGLE_NODE_RUN_SCRIPTS, else gcp-build, else build (pkg/nodejs DetermineBuildCommands). */
function buildScripts(input: StepsInput): string[] {
  const {pkg, vars, log} = input;
  const listed = vars.get('GOOGLE_NODE_RUN_SCRIPTS');
  if (listed !== undefined) {
    const names = listed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    log.push(
      names.length
        ? `Running the scripts in GOOGLE_NODE_RUN_SCRIPTS: ${names.join(', ')}`
        : 'GOOGLE_NODE_RUN_SCRIPTS is empty: no build script runs',
    );
    return names;
  }
  for (const name of ['gcp-build', 'build']) {
    const script = pkg.scripts?.[name];
    if (script === undefined) continue;
    if (!script.trim()) {
      log.push(`The ${name} script is empty: no build script runs`);
      return [];
    }
    log.push(
      name === 'gcp-build'
        ? 'Running the gcp-build script'
        : 'Running the build script, as the buildpacks do by default (GOOGLE_NODE_RUN_SCRIPTS= in project.toml skips it)',
    );
    return [name];
  }
  return [];
}

const hasDev = (pkg: PackageJson) => Object.keys(pkg.devDependencies ?? {}).length > 0;

/** NODE_ENV of the install: the build env's, else development when build scripts need devDependencies. */
function installNodeEnv(input: StepsInput, scripts: string[]): string {
  const own = input.vars.get('NODE_ENV');
  const env = own ?? (scripts.length ? 'development' : 'production');
  input.log.push(
    own !== undefined
      ? `Installing with NODE_ENV=${own} (from the build env)`
      : scripts.length
        ? 'Installing with NODE_ENV=development: the build scripts get the devDependencies'
        : 'Installing with NODE_ENV=production: no build script, so no devDependencies',
  );
  return env;
}

function npmSteps(input: StepsInput): Steps {
  const {pm, pkg, log} = input;
  const scripts = buildScripts(input);
  const nodeEnv = installNodeEnv(input, scripts);
  if (!pm.lockfile) log.push('WARNING: *** Improve build performance by generating and committing package-lock.json.');
  // Without a lockfile the buildpack generates one, then runs `npm ci`: one `npm install` resolves the same.
  const install = run(pm, [pm.lockfile ? 'ci' : 'install', ...QUIET], {NODE_ENV: nodeEnv});
  const prune: Step[] = [];
  if (scripts.length && hasDev(pkg)) {
    const runtimeEnv = input.vars.get('NODE_ENV') || 'production';
    if (runtimeEnv === 'production') prune.push(run(pm, ['prune', '--omit=dev', ...QUIET]));
    else log.push(`Retaining devDependencies because $NODE_ENV="${runtimeEnv}".`);
  }
  return {install, removeNodeModules: true, afterRestore: [], build: scripts.map((s) => run(pm, ['run', s])), prune};
}

function pnpmSteps(input: StepsInput): Steps {
  const {pm, pkg, vars} = input;
  const scripts = buildScripts(input);
  const nodeEnv = installNodeEnv(input, scripts);
  const store = `--store-dir=${input.pnpmStore}`;
  const install = run(pm, ['install', store], {CI: 'true', NODE_ENV: nodeEnv});
  // pnpm prunes only what it installed for the build: when NODE_ENV was development by its own choice.
  const prune =
    nodeEnv === 'development' && !vars.has('NODE_ENV') && hasDev(pkg)
      ? [run(pm, ['prune', '--prod', `--config.store-dir=${input.pnpmStore}`], {CI: 'true'})]
      : [];
  return {install, removeNodeModules: false, afterRestore: [], build: scripts.map((s) => run(pm, ['run', s])), prune};
}

function yarnSteps(input: StepsInput): Steps {
  const {pm, pkg, vars, log} = input;
  const gcpBuild = pkg.scripts?.['gcp-build'] !== undefined;
  unreadByYarn(input, gcpBuild);
  const flags = ['--non-interactive', '--prefer-offline', '--frozen-lockfile'];
  // --production=false: the devDependencies for gcp-build whatever NODE_ENV says; pruned after it.
  const install = run(pm, ['install', ...flags, ...(gcpBuild ? ['--production=false'] : [])]);
  const prune: Step[] = [];
  const runtimeEnv = vars.get('NODE_ENV') || 'production';
  if (gcpBuild) {
    log.push('Running the gcp-build script');
    if (runtimeEnv !== 'production') log.push(`Retaining devDependencies because NODE_ENV="${runtimeEnv}"`);
    else prune.push(run(pm, ['install', '--ignore-scripts', '--prefer-offline', '--production=true', '--frozen-lockfile']));
  } else if (hasDev(pkg) && !vars.has('NODE_ENV')) {
    log.push('devDependencies are installed and kept: Yarn classic installs them when NODE_ENV is unset, as on Google Cloud');
  }
  return {install, removeNodeModules: true, afterRestore: [], build: gcpBuild ? [run(pm, ['run', 'gcp-build'])] : [], prune};
}

function berrySteps(input: StepsInput): Steps {
  const {pm, pkg, vars, files, log} = input;
  const gcpBuild = pkg.scripts?.['gcp-build'] !== undefined;
  unreadByYarn(input, gcpBuild);
  if (pm.version === 'latest') {
    log.push(
      'WARNING: package.json names no Yarn version (packageManager or engines.yarn): the latest Yarn runs here, ' +
        'while Google Cloud runs the latest yarn package (1.x) unless .yarnrc.yml has a yarnPath',
    );
  }
  // In Plug'n'Play mode every dependency must be in a committed cache: --immutable-cache checks it.
  const install = run(pm, ['install', '--immutable', ...(files.has('.yarn/cache') ? ['--immutable-cache'] : [])]);
  if (gcpBuild) log.push('Running the gcp-build script');
  const prune: Step[] = [];
  if (hasDev(pkg)) {
    const runtimeEnv = vars.get('NODE_ENV') || 'production';
    if (runtimeEnv !== 'production') log.push(`Retaining devDependencies because NODE_ENV="${runtimeEnv}"`);
    else if (hasWorkspaceTools(pm.version, input.yarnPlugins)) prune.push(run(pm, ['workspaces', 'focus', '--all', '--production']));
    else {
      log.push(
        "WARNING: Keeping devDependencies because the Yarn workspace-tools plugin is not installed. You can add it to your project by running 'yarn plugin import workspace-tools'",
      );
    }
  }
  return {
    install,
    removeNodeModules: false,
    noCache: input.pnp ? "Yarn Plug'n'Play keeps the dependencies outside node_modules, so they are not cached" : undefined,
    afterRestore: [],
    build: gcpBuild ? [run(pm, ['run', 'gcp-build'])] : [],
    prune,
  };
}

/** Yarn 4 has workspace-tools built in; Yarn 2 and 3 need it listed in .yarnrc.yml's plugins. */
function hasWorkspaceTools(version: string, plugins: string[]): boolean {
  if (plugins.some((p) => p.includes('workspace-tools'))) return true;
  const min = version === 'latest' ? undefined : minVersion(version);
  return !min || major(min) >= 4;
}

/** What the yarn buildpack does not read, said so a build on Google Cloud holds no surprise. */
function unreadByYarn(input: StepsInput, gcpBuild: boolean): void {
  if (input.vars.has('GOOGLE_NODE_RUN_SCRIPTS')) {
    input.log.push('WARNING: GOOGLE_NODE_RUN_SCRIPTS is not read by the yarn buildpack: only a gcp-build script runs');
  }
  if (!gcpBuild && input.pkg.scripts?.build !== undefined)
    input.log.push('The build script does not run: with yarn, the buildpacks run gcp-build only');
}
