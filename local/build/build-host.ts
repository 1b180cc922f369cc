/**
 * What the local build takes from this machine, looked up once: which npm runs the steps,
 * where npm keeps its config and cache, and whether a folder sits inside a Node.js project
 * whose node_modules npm and node would find from a build there.
 */
import {execFile} from 'node:child_process';
import {accessSync, constants, existsSync, readFileSync, realpathSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {parseNpmLocations, type NpmLocations} from './build-env';

/**
 * The npm to run: `explicit` if it is a path, else the first executable `npm` in `dirs`. Found
 * here rather than through the step's PATH, where the source's own node_modules/.bin comes first.
 */
export function findNpm(explicit: string | undefined, dirs: string[]): string {
  if (explicit?.includes('/')) return explicit;
  const name = explicit ?? 'npm';
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  throw new Error(
    `the local builder needs ${name}, and there is none in ${dirs.join(':')}: install npm next to node (${process.execPath})`,
  );
}

/**
 * Asks npm where this machine's user config and cache are (env, ~/.npmrc and npm's defaults all
 * count), so a build step with its own HOME still uses them. Empty when npm cannot say.
 */
export function npmLocations(npm: string, env: NodeJS.ProcessEnv, cwd: string): Promise<NpmLocations> {
  return new Promise((done) => {
    execFile(npm, ['config', 'get', 'cache', 'userconfig'], {env, cwd, timeout: 30_000, encoding: 'utf8'}, (err, stdout) => {
      done(err ? {} : parseNpmLocations(stdout));
    });
  });
}

/** The version of the npm at `npm`, read from its package.json next to its real bin (npm-cli.js); undefined when it cannot be found. */
export function npmVersion(npm: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(realpathSync(npm)), '..', 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    return pkg.name === 'npm' && typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** The nearest folder at or above `dir` that has a node_modules, or undefined when there is none up to the root. */
export function nodeModulesAbove(dir: string): string | undefined {
  for (let p = resolve(dir), up = dirname(p); ; p = up, up = dirname(p)) {
    if (existsSync(join(p, 'node_modules'))) return p;
    if (up === p) return undefined;
  }
}
