/**
 * Where the controller API is: `--url`, else DROPDEPLOY_URL, else the `apiUrl` of the local
 * stack's `.dropdeploy/local.json` (in $DROPDEPLOY_LOCAL_DIR when set, else the nearest one
 * walking up from the working directory). Environment and working directory come in as
 * arguments so tests pass their own.
 */
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {CliError, EXIT_USAGE} from './errors';

/** The API's base URL and where it came from (for messages). */
export interface ApiLocation {
  url: string;
  from: string;
}

/** Finds the API; throws a {@link CliError} naming the three ways to give it. */
export function findApi(flag: string | undefined, env: Record<string, string | undefined>, cwd: string): ApiLocation {
  if (flag !== undefined) return {url: checkUrl(flag, '--url'), from: '--url'};
  if (env.DROPDEPLOY_URL) return {url: checkUrl(env.DROPDEPLOY_URL, 'DROPDEPLOY_URL'), from: 'DROPDEPLOY_URL'};
  const file = localJson(env, cwd);
  if (file) {
    let apiUrl: unknown;
    try {
      apiUrl = (JSON.parse(readFileSync(file, 'utf8')) as {apiUrl?: unknown}).apiUrl;
    } catch (err) {
      throw new CliError(`${file} is not readable JSON (${(err as Error).message}); restart the local stack with \`npm start\``);
    }
    if (typeof apiUrl !== 'string') throw new CliError(`${file} has no apiUrl; restart the local stack with \`npm start\``);
    return {url: checkUrl(apiUrl, file), from: file};
  }
  const where = env.DROPDEPLOY_LOCAL_DIR ? `no ${join(env.DROPDEPLOY_LOCAL_DIR, 'local.json')}` : `none in ${resolve(cwd)} or above`;
  throw new CliError(
    'where is the dropdeploy API? Pass --url URL, or set DROPDEPLOY_URL, ' +
      `or start the local stack with \`npm start\` (it writes .dropdeploy/local.json; ${where})`,
    EXIT_USAGE,
  );
}

/** The local stack's info file, if there is one. */
function localJson(env: Record<string, string | undefined>, cwd: string): string | undefined {
  if (env.DROPDEPLOY_LOCAL_DIR) {
    const file = join(env.DROPDEPLOY_LOCAL_DIR, 'local.json');
    return existsSync(file) ? file : undefined;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, '.dropdeploy', 'local.json');
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

function checkUrl(raw: string, from: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`${from}: "${raw}" is not a URL (e.g. https://dropdeploy-api-xyz.a.run.app)`, EXIT_USAGE);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`${from}: "${raw}" is not an http(s) URL`, EXIT_USAGE);
  return raw.replace(/\/+$/, '');
}
