/**
 * The dashboard's files, served by the API function: `GET /` is the page, `/ui/…` its style
 * sheet and scripts. The page reads everything else from the API itself (src/dashboard/).
 *
 * The files are read once per instance into a table, and only a path in that table is served:
 * no request path is ever joined onto a folder. The scripts are what `tsc -p
 * src/dashboard/tsconfig.json` compiled into dist/ui/ (npm run build and gcp-build run it); the
 * page and its style sheet are src/dashboard/static/, uploaded with the function's source.
 */
import {createHash} from 'node:crypto';
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import {join, relative, sep} from 'node:path';
import type {Request, Response} from '@google-cloud/functions-framework';
import {ApiError} from './errors';

/** The repository root: this file compiles to dist/src/http/dashboard.js. */
const ROOT = join(__dirname, '..', '..', '..');
const STATIC_DIR = join(ROOT, 'src', 'dashboard', 'static');
const BUILT_DIR = join(ROOT, 'dist', 'ui');

/**
 * Only files of this page, and the API at `/v1` (`connect-src 'self'`): no inline script or
 * style, nothing from another origin, no frame around it, no form that could post elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Whether `path` is the dashboard's (the page or one of its files), not the API's. */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/index.html' || path.startsWith('/ui/');
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function asset(file: string): Asset | undefined {
  const type = TYPES[file.slice(file.lastIndexOf('.'))];
  if (!type) return undefined;
  const body = readFileSync(file);
  return {body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`};
}

let table: Map<string, Asset> | undefined;

/** The served paths and their files, read once: `/` and `/ui/<static file>`, `/ui/<compiled script>`. */
export function dashboardAssets(staticDir = STATIC_DIR, builtDir = BUILT_DIR): Map<string, Asset> {
  const t = new Map<string, Asset>();
  if (!existsSync(join(builtDir, 'dashboard', 'browser', 'app.js')))
    throw new ApiError(
      503,
      'UNAVAILABLE',
      `the dashboard's scripts are not built (no ${relative(ROOT, builtDir)}/dashboard/browser/app.js); run npm run build`,
    );
  for (const [dir, prefix] of [
    [staticDir, '/ui/'],
    [builtDir, '/ui/'],
  ] as const) {
    for (const f of files(dir)) {
      const a = asset(f);
      if (a) t.set(prefix + relative(dir, f).split(sep).join('/'), a);
    }
  }
  const page = t.get('/ui/index.html');
  if (!page) throw new ApiError(503, 'UNAVAILABLE', `the dashboard page ${relative(ROOT, staticDir)}/index.html is missing`);
  t.set('/', page);
  t.set('/index.html', page);
  t.delete('/ui/index.html');
  return t;
}

/** Answers a dashboard path: the file with its security headers, 304 when unchanged, 404 or 405 otherwise. */
export function serveDashboard(req: Request, res: Response): void {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; the dashboard is read with GET`, {
      allow: 'GET, HEAD',
    });
  table ??= dashboardAssets();
  const a = table.get(req.path);
  if (!a) throw ApiError.notFound(`the dashboard has no file ${req.path}; open / for the dashboard, or see GET /v1/services`);
  res.set({
    'content-type': a.type,
    'cache-control': 'no-cache',
    etag: a.etag,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  });
  if (req.get('if-none-match') === a.etag) {
    res.status(304).end();
    return;
  }
  if (req.method === 'HEAD') res.status(200).end();
  else res.status(200).send(a.body);
}
