/**
 * The environment of a local build step, made from an allow-list rather than from ours: a
 * Cloud Build step starts from a clean container, and the local one must not hand a source's
 * scripts the developer's credentials, the emulator hosts, npm's variables from the `npm start`
 * that launched dropdeploy, or a PATH on which dropdeploy's own tools come first.
 */
import {join} from 'node:path';

/** The system folders a step's PATH ends with, after the source's own tools and node's folder. */
export const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];

// Taken from the host: how to print, and how this machine reaches the network (npm needs a proxy
// where there is one). Nothing that holds or points at a credential, and nothing npm set.
const PASS_THROUGH = [
  'LANG',
  'LC_ALL',
  'TZ',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
];

/** Where this machine's npm keeps its user config and its cache, as npm itself reports them. */
export interface NpmLocations {
  userconfig?: string;
  cache?: string;
}

/** What {@link stepEnv} builds from. */
export interface StepEnvInput {
  /** The environment dropdeploy runs in; only the names in the allow-list are read. */
  host: NodeJS.ProcessEnv;
  /** The extracted source, where the step runs. */
  sourceRoot: string;
  /** The step's HOME and TMPDIR: folders of this build, removed with it. */
  home: string;
  tmp: string;
  /** The folder of the node binary running dropdeploy, so scripts get the same node. */
  nodeDir: string;
  npm: NpmLocations;
  /** The build step's own env (`K=V`), e.g. GOOGLE_FUNCTION_TARGET. */
  stepEnv?: string[];
}

/** The whole environment of one build step. */
export function stepEnv(input: StepEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASS_THROUGH) {
    const value = input.host[name];
    if (value !== undefined) env[name] = value;
  }
  for (const e of input.stepEnv ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  const path = [join(input.sourceRoot, 'node_modules', '.bin'), input.nodeDir, ...SYSTEM_PATH];
  // Set last, so nothing above can widen the PATH or move HOME back to the developer's.
  Object.assign(env, {PATH: [...new Set(path)].join(':'), HOME: input.home, TMPDIR: input.tmp});
  // With HOME moved, npm would look for ~/.npmrc and ~/.npm in the build's HOME: point it at the
  // machine's own, so the registry, its CA and the offline cache are what they are outside.
  if (input.npm.userconfig) env.npm_config_userconfig = input.npm.userconfig;
  if (input.npm.cache) env.npm_config_cache = input.npm.cache;
  return env;
}

/** The `npm config get cache userconfig` output as locations; missing or empty values stay unset. */
export function parseNpmLocations(stdout: string): NpmLocations {
  const out: NpmLocations = {};
  for (const line of stdout.split('\n')) {
    const m = /^(cache|userconfig)=(.+)$/.exec(line.trim());
    if (m) out[m[1] as keyof NpmLocations] = m[2];
  }
  return out;
}
