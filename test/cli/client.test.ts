/**
 * The API client with a scripted fetch: retries keep the Idempotency-Key, errors say what to
 * do; the auth decision; waiting prints each state once.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {IdTokenClient} from 'google-auth-library';
import {authHeaders, authPlan, isLocalUrl} from '../../cli/auth';
import {ApiClient} from '../../cli/client';
import {CliError} from '../../cli/errors';
import {waitForRelease} from '../../cli/wait';
import {release} from './fixtures';

/** An unexpired JWT-shaped token (the library checks the expiry before reusing it). */
function fakeJwt(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({alg: 'RS256'})}.${part({exp: 4102444800, aud: 'x'})}.sig`;
}

type Answer = {status: number; body: unknown} | Error;

const urlOf = (u: string | URL | Request): string => (typeof u === 'string' ? u : u instanceof URL ? u.href : u.url);

/** A clock that moves only when slept on. */
function fakeClock(): {now: () => number; sleep: (ms: number) => Promise<void>} {
  let t = 0;
  return {
    now: () => t,
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
  };
}

/** A fetch that answers from a script and records the requests. */
function scripted(answers: Answer[]): {
  fetch: typeof fetch;
  calls: Array<{url: string; method: string; headers: Record<string, string>; body?: string}>;
} {
  const calls: Array<{url: string; method: string; headers: Record<string, string>; body?: string}> = [];
  const f = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({
      url: urlOf(url),
      method: init?.method ?? 'GET',
      headers: init?.headers as Record<string, string>,
      ...(typeof init?.body === 'string' ? {body: init.body} : {}),
    });
    const a = answers.shift();
    if (!a) return Promise.reject(new Error('no more answers'));
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(new Response(JSON.stringify(a.body), {status: a.status, headers: {'content-type': 'application/json'}}));
  };
  return {fetch: f, calls};
}

const refused = (): Error =>
  Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {code: 'ECONNREFUSED'}),
  });
const unavailable = {
  status: 503,
  body: {
    error: {code: 503, status: 'UNAVAILABLE', message: 'Firestore is down; retry the request with the same Idempotency-Key to resume it'},
  },
};

function client(answers: Answer[], baseUrl = 'https://api.example.com', token = 'abc') {
  const s = scripted(answers);
  const sleeps: number[] = [];
  const c = new ApiClient({
    baseUrl,
    headers: () => Promise.resolve({authorization: `Bearer ${token}`}),
    fetch: s.fetch,
    retryDelaysMs: [10, 20, 30],
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return {c, calls: s.calls, sleeps};
}

describe('ApiClient', () => {
  it('retries a POST after 503 and network errors with the same Idempotency-Key', async () => {
    const {c, calls, sleeps} = client([unavailable, new TypeError('fetch failed'), {status: 202, body: release(7, {state: 'building'})}]);
    const r = await c.redeploy('web', {bucket: 'b', object: 'web/x.zip', generation: '5'}, 'key-1');
    assert.equal(r.release, 7);
    assert.equal(calls.length, 3);
    assert.deepEqual(
      calls.map((x) => x.headers['idempotency-key']),
      ['key-1', 'key-1', 'key-1'],
    );
    assert.deepEqual(
      calls.map((x) => x.headers.authorization),
      ['Bearer abc', 'Bearer abc', 'Bearer abc'],
    );
    assert.equal(calls[0].url, 'https://api.example.com/v1/services/web:redeploy');
    assert.deepEqual(JSON.parse(calls[0].body!), {source: {bucket: 'b', object: 'web/x.zip', generation: '5'}});
    assert.deepEqual(sleeps, [10, 20]);
  });
  it('gives up after the last retry, saying the API is unavailable', async () => {
    const {c, calls} = client([unavailable, unavailable, unavailable, unavailable]);
    await assert.rejects(c.rollback('web', 1, 'k'), /the API is unavailable \(503\): Firestore is down/);
    assert.equal(calls.length, 4);
  });
  it('connection refused on a local URL: asks whether npm start runs, without retrying', async () => {
    const {c, calls} = client([refused()], 'http://127.0.0.1:9');
    await assert.rejects(
      c.listServices(),
      /cannot reach the dropdeploy API at http:\/\/127\.0\.0\.1:9 \(connection refused\): is `npm start` running\?/,
    );
    assert.equal(calls.length, 1);
  });
  const errors: Array<{name: string; answer: {status: number; body: unknown}; want: RegExp}> = [
    {
      name: 'unknown service',
      answer: {status: 404, body: {error: {code: 404, status: 'NOT_FOUND', message: 'dropdeploy manages no service "ghost"'}}},
      want: /^dropdeploy manages no service ghost; see `dropdeploy services`$/,
    },
    {
      name: '401',
      answer: {status: 401, body: {error: {code: 401, status: 'UNAUTHENTICATED', message: 'the ID token has expired; get a new one'}}},
      want: /refused the call \(401 UNAUTHENTICATED\): the ID token has expired.*roles\/run\.invoker.*DROPDEPLOY_ADMIN_PRINCIPALS/s,
    },
    {name: '403 from Cloud Run (not JSON)', answer: {status: 403, body: 'Forbidden'}, want: /\(403 UNKNOWN\).*roles\/run\.invoker/s},
    {
      name: 'another error keeps the API message',
      answer: {status: 409, body: {error: {code: 409, status: 'FAILED_PRECONDITION', message: 'release v3 of "ghost" was never deployed'}}},
      want: /^release v3 of "ghost" was never deployed \(409 FAILED_PRECONDITION\)$/,
    },
  ];
  for (const e of errors) {
    it(`explains ${e.name}`, async () => {
      const {c} = client([e.answer]);
      await assert.rejects(c.getRelease('ghost', 3), (err: unknown) => {
        assert.ok(err instanceof CliError);
        assert.match(err.message, e.want);
        return true;
      });
    });
  }
});

describe('auth', () => {
  const cases: Array<{url: string; env: Record<string, string>; want: object}> = [
    {url: 'http://127.0.0.1:8080', env: {}, want: {kind: 'none'}},
    {url: 'http://localhost:8080', env: {}, want: {kind: 'none'}},
    {url: 'http://[::1]:8080', env: {}, want: {kind: 'none'}},
    {url: 'http://127.0.0.2:8080', env: {}, want: {kind: 'none'}},
    {url: 'https://dd-api-xyz.a.run.app/', env: {}, want: {kind: 'adc', audience: 'https://dd-api-xyz.a.run.app'}},
    {url: 'https://dd-api-xyz.a.run.app', env: {DROPDEPLOY_ID_TOKEN: ' abc\n'}, want: {kind: 'token', token: 'abc'}},
    {url: 'http://127.0.0.1:8080', env: {DROPDEPLOY_ID_TOKEN: 'abc'}, want: {kind: 'token', token: 'abc'}},
  ];
  for (const c of cases) it(`${c.url} ${JSON.stringify(c.env)}`, () => assert.deepEqual(authPlan(c.url, c.env), c.want));
  it("adc: the Authorization header of google-auth-library's IdTokenClient (v10 answers a Headers object)", async () => {
    const audiences: string[] = [];
    const headers = authHeaders({kind: 'adc', audience: 'https://dd-api-xyz.a.run.app'}, (audience) =>
      Promise.resolve(
        new IdTokenClient({
          targetAudience: audience,
          idTokenProvider: {
            fetchIdToken: (aud: string) => {
              audiences.push(aud);
              return Promise.resolve(fakeJwt());
            },
          },
        }),
      ),
    );
    assert.deepEqual(await headers(), {authorization: `Bearer ${fakeJwt()}`});
    assert.deepEqual(audiences, ['https://dd-api-xyz.a.run.app']);
  });
  it('adc without credentials: says how to log in or pass a token', async () => {
    const headers = authHeaders({kind: 'adc', audience: 'https://x.run.app'}, () =>
      Promise.reject(new Error('Could not load the default credentials.')),
    );
    await assert.rejects(
      headers(),
      /could not get a Google ID token for https:\/\/x\.run\.app: Could not load the default credentials\.\n.*gcloud auth application-default login.*\n.*DROPDEPLOY_ID_TOKEN=/s,
    );
  });
  it('a loopback look-alike host is not local', () => assert.equal(isLocalUrl('https://127.0.0.1.nip.io'), false));
});

describe('waitForRelease', () => {
  it('prints every state from the history once, including one passed between polls, until terminal', async () => {
    const t = (s: number) => `2026-11-28T09:00:0${s}.000Z`;
    const building = release(7, {
      state: 'building',
      buildLogUrl: 'http://log/7',
      history: [
        {state: 'accepted', time: t(0)},
        {state: 'building', time: t(1)},
      ],
    });
    const done = release(7, {
      ...building,
      state: 'deployed',
      url: 'http://web',
      history: [...building.history, {state: 'deploying', time: t(2)}, {state: 'deployed', time: t(3)}],
    });
    const {c} = client([
      {status: 200, body: building},
      {status: 200, body: done},
    ]);
    const lines: string[] = [];
    const result = await waitForRelease(c, building, {write: (s) => lines.push(s)}, {timeoutMs: 10_000, ...fakeClock()});
    assert.equal(result.terminal, true);
    assert.equal(result.release.state, 'deployed');
    assert.deepEqual(
      lines
        .join('')
        .split('\n')
        .map((l) => l.replace(/^\S+ +/, ''))
        .filter(Boolean),
      ['v7  accepted', 'v7  building      build log: http://log/7', 'v7  deploying', 'v7  deployed      http://web'],
    );
  });
  it('on a terminal: an elapsed counter redrawn in place, cleared before each state line', async () => {
    const t = '2026-11-28T09:00:00.000Z';
    const building = release(7, {
      state: 'building',
      history: [
        {state: 'accepted', time: t},
        {state: 'building', time: t},
      ],
    });
    const done = release(7, {state: 'deployed', history: [...building.history, {state: 'deployed', time: t}]});
    const {c} = client([
      {status: 200, body: building},
      {status: 200, body: done},
    ]);
    let out = '';
    await waitForRelease(
      c,
      building,
      {
        write: (s) => {
          out += s;
        },
        isTTY: true,
      },
      {timeoutMs: 10_000, pollMs: 1000, ...fakeClock()},
    );
    // ESC spelled out: a control character in a regular expression is easy to misread.
    const shown = out.replaceAll('\x1b', '<ESC>');
    assert.match(shown, /\r<ESC>\[2K⠋ v7 building… 0s/);
    assert.match(shown, /\r<ESC>\[2K\S v7 building… 1s/);
    assert.match(shown, /\r<ESC>\[2K\d\d:\d\d:\d\d {2}v7 {2}deployed\n$/);
  });
  it('stops at the timeout, not terminal', async () => {
    const r = release(8, {state: 'building'});
    const {c} = client([
      {status: 200, body: r},
      {status: 200, body: r},
      {status: 200, body: r},
    ]);
    const result = await waitForRelease(c, r, {write: () => undefined}, {timeoutMs: 2500, ...fakeClock()});
    assert.deepEqual([result.terminal, result.release.state], [false, 'building']);
  });
});
