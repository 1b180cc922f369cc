/**
 * The compiled CLI against a tiny scripted HTTP server (no emulators): which Authorization
 * header it sends, retries with the same Idempotency-Key, and what it says on 401, a refused
 * connection, missing credentials or no API at all.
 */
import assert from 'node:assert/strict';
import {createServer, type IncomingHttpHeaders, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {cli, cliEnv, type CliResult} from './run-cli';
import {release} from './fixtures';

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;

describe('dropdeploy CLI over HTTP', {timeout: 60_000}, () => {
  let server: Server;
  let url: string;
  const seen: Array<{method: string; url: string; headers: IncomingHttpHeaders}> = [];
  /** Answers to give, in order; then `{services: []}`. */
  const script: Array<{status: number; body: unknown}> = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push({method: req.method!, url: req.url!, headers: req.headers});
      req.resume();
      req.on('end', () => {
        const a = script.shift() ?? {status: 200, body: {services: []}};
        res.writeHead(a.status, {'content-type': 'application/json'}).end(JSON.stringify(a.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const reset = () => {
    seen.length = 0;
    script.length = 0;
  };

  it('sends DROPDEPLOY_ID_TOKEN as a bearer token', async () => {
    reset();
    const r = await cli(['services', '--url', url], cliEnv({DROPDEPLOY_ID_TOKEN: 'abc'}));
    assert.equal(r.code, 0, show(r));
    assert.equal(seen[0].headers.authorization, 'Bearer abc');
    assert.equal(seen[0].url, '/v1/services');
  });

  it('sends no token to the local stack otherwise', async () => {
    reset();
    const r = await cli(['services', '--url', url]);
    assert.equal(r.code, 0, show(r));
    assert.equal(seen[0].headers.authorization, undefined);
  });

  it('finds the API through DROPDEPLOY_URL', async () => {
    reset();
    const r = await cli(['services'], cliEnv({DROPDEPLOY_URL: url}));
    assert.equal(r.code, 0, show(r));
    assert.equal(seen.length, 1);
  });

  it('a non-local URL without credentials: says what to do, sends nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'dd-cli-home-'));
    const r = await cli(['services', '--url', 'https://dropdeploy-api.invalid'], cliEnv({HOME: home, CLOUDSDK_CONFIG: home}));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^dropdeploy: could not get a Google ID token for https:\/\/dropdeploy-api\.invalid: /);
    assert.match(r.stderr, /gcloud auth application-default login/);
    assert.match(
      r.stderr,
      /export DROPDEPLOY_ID_TOKEN=\$\(gcloud auth print-identity-token --audiences=https:\/\/dropdeploy-api\.invalid\)/,
    );
  });

  it('retries a 503 with the same Idempotency-Key; each invocation has its own key', async () => {
    reset();
    const unavailable = {
      status: 503,
      body: {error: {code: 503, status: 'UNAVAILABLE', message: 'retry the request with the same Idempotency-Key to resume it'}},
    };
    const done = release(9, {
      state: 'deployed',
      trigger: 'rollback',
      rollbackOf: 2,
      history: [
        {state: 'accepted', time: new Date().toISOString()},
        {state: 'deployed', time: new Date().toISOString()},
      ],
    });
    script.push(unavailable, unavailable, {status: 202, body: done});
    const r = await cli(['rollback', 'web', 'v2', '--url', url]);
    assert.equal(r.code, 0, show(r));
    assert.equal(seen.length, 3);
    const keys = seen.map((s) => s.headers['idempotency-key']);
    assert.match(keys[0] as string, /^[0-9a-f-]{36}$/);
    assert.deepEqual(keys, [keys[0], keys[0], keys[0]]);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      Array(3).fill('POST /v1/services/web:rollback'),
    );
    script.push({status: 202, body: done});
    await cli(['rollback', 'web', 'v2', '--url', url]);
    assert.notEqual(seen[3].headers['idempotency-key'], keys[0]);
  });

  it('401/403: names roles/run.invoker and DROPDEPLOY_ADMIN_PRINCIPALS', async () => {
    reset();
    script.push({
      status: 403,
      body: {
        error: {
          code: 403,
          status: 'PERMISSION_DENIED',
          message: 'user:eve@example.com may not call the dropdeploy API; add it to DROPDEPLOY_ADMIN_PRINCIPALS',
        },
      },
    });
    const r = await cli(['releases', 'web', '--url', url], cliEnv({DROPDEPLOY_ID_TOKEN: 'abc'}));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /refused the call \(403 PERMISSION_DENIED\): user:eve@example\.com may not call/);
    assert.match(r.stderr, /roles\/run\.invoker.*DROPDEPLOY_ADMIN_PRINCIPALS/s);
  });

  it('connection refused on a local URL: is `npm start` running?', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = await cli(['status', 'web', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1, show(r));
    assert.equal(
      r.stderr,
      `dropdeploy: cannot reach the dropdeploy API at http://127.0.0.1:${port} (connection refused): is \`npm start\` running?\n`,
    );
  });

  it('no API anywhere: names --url, DROPDEPLOY_URL and npm start', async () => {
    const r = await cli(['services'], cliEnv({DROPDEPLOY_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'dd-cli-none-'))}));
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /Pass --url URL, or set DROPDEPLOY_URL, or start the local stack with `npm start`/);
  });
});
