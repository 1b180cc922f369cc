/**
 * The dashboard's files through the production entry point (dist/src/index.js served by the
 * Functions Framework, as on Google Cloud): the page at `/` with its Content-Security-Policy,
 * every file it loads served from the same origin (the scripts' whole import graph), nothing
 * else, and the API's refusals of another site's requests. No store is needed for any of it.
 */
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {startFunction, type RunningFunction} from '../../local/functions/function-process';
import {dashboardAssets} from '../../src/http/dashboard';
import {ApiError} from '../../src/http/errors';

const ENV = {
  DROPDEPLOY_PROJECT: 'dashboard-test',
  DROPDEPLOY_REGION: 'europe-west1',
  DROPDEPLOY_REPOSITORY: 'dropdeploy',
  DROPDEPLOY_STATUS_TOPIC: 'status',
  DROPDEPLOY_BUCKETS: 'dd-sources',
  DROPDEPLOY_LOG_FORMAT: 'json',
  DROPDEPLOY_API_AUTH: 'none',
  METADATA_SERVER_DETECTION: 'none',
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A raw request (fetch cannot set Host or Sec-Fetch-Site). */
function send(url: string, path: string, opts: {method?: string; headers?: Record<string, string>} = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({host: u.hostname, port: u.port, method: opts.method ?? 'GET', path, headers: opts.headers}, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8')}));
    });
    req.on('error', reject);
    req.end();
  });
}

const errorOf = (a: Answer) => (JSON.parse(a.text) as {error: {code: number; message: string}}).error;

describe('the dashboard, through the deployed entry point', {timeout: 60_000}, () => {
  let api: RunningFunction;
  before(async () => {
    api = await startFunction({target: 'dropdeployApi', env: ENV});
  });
  after(async () => {
    await api?.stop();
  });

  it('GET / is the page, with a strict Content-Security-Policy', async () => {
    const a = await send(api.url, '/');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'text/html; charset=utf-8');
    const csp = String(a.headers['content-security-policy']);
    for (const d of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "form-action 'none'",
    ])
      assert.ok(csp.includes(d), `${d} missing from ${csp}`);
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    assert.match(a.text, /<dialog id="confirm"/);
    // No inline script or style (the CSP forbids them), nothing from another origin.
    assert.doesNotMatch(a.text, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(a.text, /<style|\sstyle=|\son[a-z]+=/i);
    assert.doesNotMatch(a.text, /(src|href)="(https?:)?\/\//);
  });

  it('an unchanged page is 304 by its ETag', async () => {
    const first = await send(api.url, '/');
    const again = await send(api.url, '/', {headers: {'if-none-match': String(first.headers.etag)}});
    assert.equal(again.status, 304);
  });

  it('every file the page loads is served, and every module the scripts import', async () => {
    const page = (await send(api.url, '/')).text;
    const wanted = [...page.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(wanted.some((p) => p.endsWith('.js')) && wanted.some((p) => p.endsWith('.css')), wanted.join(' '));
    const seen = new Set<string>();
    while (wanted.length) {
      const path = wanted.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const a = await send(api.url, path);
      assert.equal(a.status, 200, `${path}: ${a.text.slice(0, 200)}`);
      if (!path.endsWith('.js')) continue;
      assert.equal(a.headers['content-type'], 'text/javascript; charset=utf-8');
      for (const m of a.text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
        assert.match(m[1], /^\.{1,2}\/.*\.js$/, `${path} imports ${m[1]}: a browser resolves only relative paths ending in .js`);
        wanted.push(new URL(m[1], `http://x${path}`).pathname);
      }
    }
    assert.ok(
      [...seen].some((p) => p.endsWith('/view.js')),
      [...seen].join(' '),
    );
  });

  const missing = [
    {path: '/ui/nothing.js', status: 404},
    {path: '/ui/../package.json', status: 404},
    {path: '/ui/%2e%2e/%2e%2e/package.json', status: 404},
    {path: '/ui/dashboard/view.ts', status: 404},
    {path: '/ui/', status: 404},
  ];
  for (const m of missing)
    it(`${m.path} is ${m.status}, in the API's error shape`, async () => {
      const a = await send(api.url, m.path);
      assert.equal(a.status, m.status, a.text);
      assert.equal(errorOf(a).code, m.status);
    });

  it('only GET and HEAD: POST / is 405', async () => {
    const a = await send(api.url, '/', {method: 'POST'});
    assert.equal(a.status, 405);
    assert.equal(a.headers.allow, 'GET, HEAD');
  });

  it("a form POST from another site's page is refused before anything runs (CSRF)", async () => {
    const a = await send(api.url, '/v1/services/web:redeploy', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': '0',
        'sec-fetch-site': 'cross-site',
        origin: 'https://evil.example',
      },
    });
    assert.equal(a.status, 403);
    assert.match(errorOf(a).message, /cross-site request forgery/);
  });

  it('with auth on, the page too is for admitted callers only', async () => {
    const authed = await startFunction({
      target: 'dropdeployApi',
      env: {
        ...ENV,
        DROPDEPLOY_API_AUTH: 'google-id-token',
        DROPDEPLOY_API_AUDIENCE: 'https://dd-api.example',
        DROPDEPLOY_ADMIN_PRINCIPALS: 'user:ops@example.com',
      },
    });
    try {
      const a = await send(authed.url, '/');
      assert.equal(a.status, 401);
      assert.match(errorOf(a).message, /missing "Authorization: Bearer <Google ID token>"/);
      // Any Host is answered with auth on (Cloud Run's, the proxy's).
      assert.equal((await send(authed.url, '/', {headers: {host: 'dd-api-xyz.a.run.app'}})).status, 401);
    } finally {
      await authed.stop();
    }
  });

  it('without auth, a request for a name other than loopback is refused (DNS rebinding)', async () => {
    const a = await send(api.url, '/', {headers: {host: `rebound.example:${new URL(api.url).port}`}});
    assert.equal(a.status, 403);
    assert.match(errorOf(a).message, /loopback host only/);
    assert.equal((await send(api.url, '/', {headers: {host: `localhost:${new URL(api.url).port}`}})).status, 200);
  });

  it("the API's own answers, errors too, are never kept by a browser or proxy; the page is revalidated", async () => {
    for (const path of ['/v1/services/Not_A_Name/releases', '/v1/nothing-here']) {
      const a = await send(api.url, path);
      assert.ok(a.status >= 400, `${path}: ${a.status}`);
      assert.equal(a.headers['cache-control'], 'no-store', path);
      assert.equal(a.headers['x-content-type-options'], 'nosniff', path);
    }
    assert.equal((await send(api.url, '/')).headers['cache-control'], 'no-cache');
  });
});

describe('dashboardAssets: what is served, from which files', () => {
  const tree = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-assets-'));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), {recursive: true});
      writeFileSync(join(dir, name), text);
    }
    return dir;
  };

  it('the page at / (not under /ui/), the style sheet and scripts under /ui/, nothing of another type', () => {
    const statics = tree({'index.html': '<!doctype html>', 'dashboard.css': 'body{}', 'notes.md': '# no'});
    const built = tree({
      'dashboard/browser/app.js': 'x',
      'dashboard/browser/app.js.map': '{}',
      'dashboard/view.d.ts': '',
      'releases/states.js': 'y',
    });
    const t = dashboardAssets(statics, built);
    assert.deepEqual([...t.keys()].sort(), [
      '/',
      '/index.html',
      '/ui/dashboard.css',
      '/ui/dashboard/browser/app.js',
      '/ui/releases/states.js',
    ]);
    assert.equal(t.get('/')!.type, 'text/html; charset=utf-8');
    assert.notEqual(t.get('/ui/dashboard/browser/app.js')!.etag, t.get('/ui/releases/states.js')!.etag);
  });

  it('scripts not built: 503 that says to build them', () => {
    const statics = tree({'index.html': '<!doctype html>'});
    assert.throws(
      () => dashboardAssets(statics, tree({})),
      (e: unknown) => e instanceof ApiError && e.httpStatus === 503 && /not built .*; run npm run build/.test(e.message),
    );
  });
});
