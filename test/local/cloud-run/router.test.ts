import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import WebSocket, {WebSocketServer} from 'ws';
import type {RequestRecord} from '../../../local/cloud-run/request-log';
import {ServiceRouter} from '../../../local/cloud-run/router';
import {freePort} from '../../../local/ports';

/** A revision stand-in: WebSocket echo naming itself, SSE that waits for the client between events, a streaming body reader. */
interface Upstream {
  url: string;
  /** Resolved by the test once the client has seen the first event; only then does the server send the rest. */
  sseGate: {open: () => void; opened: Promise<void>};
  /** Resolves with the first chunk of a POST /upload body, as soon as the upstream gets it. */
  firstChunk: Promise<string>;
  close(): Promise<void>;
}

function gate(): {open: () => void; opened: Promise<void>} {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {open, opened};
}

async function upstream(name: string): Promise<Upstream> {
  const sseGate = gate();
  let gotFirst!: (chunk: string) => void;
  const firstChunk = new Promise<string>((resolve) => (gotFirst = resolve));
  const server = http.createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
      res.write('data: first\n\n');
      void sseGate.opened.then(() => res.end('data: second\n\n'));
      return;
    }
    if (req.url === '/upload') {
      const chunks: string[] = [];
      req.on('data', (c: Buffer) => {
        if (chunks.length === 0) gotFirst(c.toString());
        chunks.push(c.toString());
      });
      req.on('end', () => res.end(`${name} got ${chunks.join('')}`));
      return;
    }
    res.end(req.url === '/headers' ? JSON.stringify(req.headers) : name);
  });
  const wss = new WebSocketServer({noServer: true});
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/not-ws') {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot here\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => ws.send(`${name}: ${(data as Buffer).toString()}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sseGate,
    firstChunk,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a WebSocket and resolves once it is open; rejects with the HTTP status when the upgrade is refused. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), {status: res.statusCode, body: Buffer.concat(chunks).toString()})),
      );
    });
    ws.once('error', reject);
  });
}

/** Sends `text` and resolves with the next message. */
function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve((data as Buffer).toString()));
    ws.once('error', reject);
    ws.send(text);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<void>((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve())));

async function get(url: string, init?: RequestInit): Promise<{status: number; body: string}> {
  const res = await fetch(url, init);
  return {status: res.status, body: await res.text()};
}

describe('ServiceRouter', () => {
  let a: Upstream;
  let b: Upstream;
  let target: string | undefined;
  const router = new ServiceRouter({target: () => (target ? {url: target, revision: 'r'} : undefined)});
  let url: string;
  let wsUrl: string;

  before(async () => {
    [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    url = await router.urlFor('svc');
    wsUrl = url.replace(/^http/, 'ws');
  });
  after(async () => {
    await router.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('allocates one stable URL per service', async () => {
    assert.equal(await router.urlFor('svc'), url);
    assert.notEqual(await router.urlFor('other'), url);
  });

  it('answers 503 without a ready revision and 502 when the revision does not answer', async () => {
    target = undefined;
    const unready = await get(url);
    assert.equal(unready.status, 503);
    assert.match(unready.body, /Service 'svc' has no ready revision/);
    target = `http://127.0.0.1:${await freePort()}`;
    const broken = await get(`${url}/x`, {method: 'POST', body: 'ignored'});
    assert.equal(broken.status, 502);
    assert.match(broken.body, /failed to answer: .*ECONNREFUSED/);
  });

  it('passes a WebSocket through to the serving revision, which echoes', async () => {
    target = a.url;
    const ws = await connect(`${wsUrl}/chat`);
    assert.equal(await roundTrip(ws, 'hello'), 'a: hello');
    assert.equal(await roundTrip(ws, 'again'), 'a: again');
    ws.close();
    await closed(ws);
  });

  it('keeps a WebSocket on the revision it was opened with after traffic moves; new ones go to the new revision', async () => {
    target = a.url;
    const old = await connect(wsUrl);
    target = b.url;
    const fresh = await connect(wsUrl);
    assert.equal(await roundTrip(old, 'x'), 'a: x');
    assert.equal(await roundTrip(fresh, 'y'), 'b: y');
    assert.equal(await roundTrip(old, 'z'), 'a: z');
    old.close();
    fresh.close();
    await Promise.all([closed(old), closed(fresh)]);
  });

  it("refuses an upgrade with 503 when no revision is ready, 502 when it does not answer, and relays the app's own refusal", async () => {
    target = undefined;
    await assert.rejects(connect(wsUrl), (err: {status?: number; body?: string}) => {
      assert.equal(err.status, 503);
      assert.match(err.body!, /Service 'svc' has no ready revision/);
      return true;
    });
    target = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(connect(wsUrl), (err: {status?: number; body?: string}) => {
      assert.equal(err.status, 502);
      assert.match(err.body!, /failed to answer: .*ECONNREFUSED/);
      return true;
    });
    target = a.url;
    await assert.rejects(connect(`${wsUrl}/not-ws`), {status: 404});
  });

  it('streams a server-sent event to the client before the response ends', async () => {
    target = a.url;
    const res = await fetch(`${url}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    // The upstream holds the second event back until the client has read the first: a buffering
    // proxy would never hand it over, and this read would not return.
    const first = await reader.read();
    assert.equal(Buffer.from(first.value).toString(), 'data: first\n\n');
    a.sseGate.open();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    assert.equal(rest, 'data: second\n\n');
  });

  it('streams a request body to the revision as it is sent', async () => {
    target = b.url;
    const answer = new Promise<string>((resolve, reject) => {
      const req = http.request(`${url}/upload`, {method: 'POST'}, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.write('part1;');
      // The second part goes only once the revision has the first: a buffering proxy would wait for the end.
      void b.firstChunk.then((chunk) => {
        assert.equal(chunk, 'part1;');
        req.end('part2');
      });
    });
    assert.equal(await answer, 'b got part1;part2');
  });

  it('tells the revision who called (X-Forwarded-*), keeping the Host it was called with', async () => {
    target = a.url;
    const headers = JSON.parse((await get(`${url}/headers`)).body) as Record<string, string>;
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers.host, new URL(url).host);
  });

  it('answers a request asking to upgrade to another protocol (h2c, as curl --http2 sends) as plain HTTP/1.1', async () => {
    target = a.url;
    const send = (path: string, body?: string) =>
      new Promise<{status?: number; body: string}>((resolve, reject) => {
        const headers = {connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA'};
        const req = http.request(`${url}${path}`, {method: body === undefined ? 'GET' : 'POST', headers}, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({status: res.statusCode, body: text}));
        });
        req.on('error', reject);
        req.end(body);
      });
    assert.deepEqual(await send('/'), {status: 200, body: 'a'});
    assert.deepEqual(await send('/upload', 'x=1'), {status: 200, body: 'a got x=1'});
  });

  it('cuts open WebSockets when it closes', async () => {
    const own = new ServiceRouter({target: () => ({url: a.url, revision: 'a'})});
    const ws = await connect((await own.urlFor('svc')).replace(/^http/, 'ws'));
    assert.equal(await roundTrip(ws, 'still here'), 'a: still here');
    await own.close();
    await closed(ws);
  });
});

describe('ServiceRouter tag URLs and request records', () => {
  let a: Upstream;
  let b: Upstream;
  let dead: string;
  const records: RequestRecord[] = [];
  const router = new ServiceRouter({
    target: (route) => {
      if (route.tag === undefined) return {url: a.url, revision: 'rev-a'};
      if (route.tag === 'canary') return {url: b.url, revision: 'rev-b'};
      if (route.tag === 'broken') return {url: dead, revision: 'rev-dead'};
      return {status: 404, message: `no tag ${route.tag}\n`};
    },
    onRequest: (r) => records.push(r),
  });

  before(async () => {
    [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    dead = `http://127.0.0.1:${await freePort()}`;
  });
  after(async () => {
    await router.close();
    await Promise.all([a.close(), b.close()]);
  });

  it("gives each tag a URL of its own, reaching the tag's revision, and keeps it", async () => {
    const service = await router.urlFor('svc');
    const canary = await router.tagUrlFor('svc', 'canary');
    assert.notEqual(canary, service);
    assert.equal(await router.tagUrlFor('svc', 'canary'), canary);
    assert.equal((await get(service)).body, 'a');
    assert.equal((await get(canary)).body, 'b');
    const gone = await get(await router.tagUrlFor('svc', 'removed'));
    assert.deepEqual(gone, {status: 404, body: 'no tag removed\n'});
  });

  it('records each answered request with its revision, status and latency; WebSockets when they close', async () => {
    records.length = 0;
    const t0 = Date.now();
    await get(await router.urlFor('svc'));
    await get(await router.tagUrlFor('svc', 'canary'));
    await get(await router.tagUrlFor('svc', 'broken'));
    await get(await router.tagUrlFor('svc', 'removed'));
    const ws = await connect((await router.tagUrlFor('svc', 'canary')).replace(/^http/, 'ws'));
    assert.equal(await roundTrip(ws, 'hi'), 'b: hi');
    ws.close();
    await closed(ws);
    await new Promise((r) => setTimeout(r, 50)); // the router sees its side of the socket close
    assert.deepEqual(
      records.map((r) => [r.service, r.revision, r.status]),
      [
        ['svc', 'rev-a', 200],
        ['svc', 'rev-b', 200],
        ['svc', 'rev-dead', 502],
        ['svc', 'rev-b', 101],
      ],
      'the 404 of a removed tag reached no revision',
    );
    for (const r of records) {
      assert.ok(r.latencyMs >= 0 && r.latencyMs < 5000, `latency ${r.latencyMs}`);
      assert.ok(r.at >= t0 && r.at <= Date.now());
    }
  });
});
