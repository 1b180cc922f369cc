/**
 * The rollout's HTTP check against a real local server: attempts until the expected status,
 * a timeout, a refused connection, and the ID token header when an audience is given.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {after, before, describe, it} from 'node:test';
import {RetryableError} from '../../src/errors';
import {HttpProber} from '../../src/google/http-prober';

describe('HttpProber', () => {
  let server: http.Server;
  let url: string;
  let calls = 0;
  const auth: Array<string | undefined> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      calls++;
      auth.push(req.headers.authorization);
      if (req.url === '/flaky') res.statusCode = calls % 2 === 1 ? 503 : 200;
      else if (req.url === '/slow') return void setTimeout(() => res.end('late'), 500);
      else if (req.url === '/bad') res.statusCode = 500;
      res.end('x');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const settings = {expectStatus: 200, timeoutMs: 200, attempts: 3};
  const noSleep = () => Promise.resolve();

  it('passes on the first attempt that answers the expected status', async () => {
    calls = 0;
    const out = await new HttpProber(() => Promise.resolve(undefined), noSleep).check(url, {...settings, path: '/flaky'});
    assert.deepEqual({ok: out.ok, status: out.status, attempts: out.attempts}, {ok: true, status: 200, attempts: 2});
  });

  it('fails after every attempt, naming the status', async () => {
    const out = await new HttpProber(() => Promise.resolve(undefined), noSleep).check(url, {...settings, path: '/bad'});
    assert.equal(out.ok, false);
    assert.match(out.detail, /GET http:\/\/127\.0\.0\.1:\d+\/bad answered 500, not 200 \(3 attempts\)/);
  });

  it('a timeout and a refused connection fail, saying so', async () => {
    const slow = await new HttpProber(() => Promise.resolve(undefined), noSleep).check(url, {...settings, attempts: 1, path: '/slow'});
    assert.match(slow.detail, /did not answer within 200 ms/);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await new HttpProber(() => Promise.resolve(undefined), noSleep).check(`http://127.0.0.1:${port}`, {
      ...settings,
      attempts: 1,
      path: '/',
    });
    assert.match(refused.detail, /failed: ECONNREFUSED/);
  });

  it("never leaves the revision's origin, whatever the path", async () => {
    calls = 0;
    const prober = new HttpProber(() => Promise.resolve('Bearer secret'), noSleep);
    const out = await prober.check(url, {...settings, path: '//127.0.0.2:9/x'}, 'https://svc.run.app');
    // Appended to the origin, `//127.0.0.2:9/x` is a path on this server, not another host.
    assert.equal(out.ok, true, out.detail);
    assert.match(out.detail, new RegExp(`GET ${url}//127\\.0\\.0\\.2:9/x answered 200`));
    assert.equal(calls, 1);
  });

  it('a token that cannot be minted is a retryable failure, not a failed check', async () => {
    const prober = new HttpProber(() => Promise.reject(new Error('metadata server unreachable')), noSleep);
    await assert.rejects(prober.check(url, {...settings, path: '/'}, 'https://svc.run.app'), (e: unknown) => {
      return e instanceof RetryableError && /minting an ID token .* metadata server unreachable/.test(e.message);
    });
  });

  it('sends the ID token minted for the audience', async () => {
    auth.length = 0;
    const prober = new HttpProber((aud) => Promise.resolve(`Bearer token-for-${aud}`), noSleep);
    await prober.check(url, {...settings, path: '/'}, 'https://svc.run.app');
    await prober.check(url, {...settings, path: '/'});
    assert.deepEqual(auth, ['Bearer token-for-https://svc.run.app', undefined]);
  });
});
