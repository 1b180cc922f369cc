import assert from 'node:assert/strict';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {request} from 'node:http';
import {describe, it} from 'node:test';
import {proxyTarget, startGcloudProxy} from '../../local/gcloud-proxy';

describe('gcloud proxy targets', () => {
  const rows: Array<{input: string; want: unknown}> = [
    {input: 'http://127.0.0.1:8123/storage/v1/b/x/o?alt=json', want: {port: 8123, path: '/storage/v1/b/x/o?alt=json'}},
    {
      input: 'http://us-central1-127.0.0.1:8123/apis/serving.knative.dev/v1/namespaces/p/services',
      want: {port: 8123, path: '/apis/serving.knative.dev/v1/namespaces/p/services'},
    },
    {input: 'http://europe-west1-localhost:9/', want: {port: 9, path: '/'}},
    {input: 'http://localhost', want: {port: 80, path: '/'}},
    {input: 'https://run.googleapis.com/v1/x', want: undefined},
    {input: 'http://run.googleapis.com/v1/x', want: undefined},
    {input: 'http://127.0.0.1.evil.example:80/', want: undefined},
    {input: 'http://evil-127.0.0.1.example/', want: undefined},
    {input: '/relative', want: undefined},
  ];
  for (const row of rows) it(row.input, () => assert.deepEqual(proxyTarget(row.input), row.want));
});

/** Sends one request through the proxy as gcloud does (absolute URL in the request line). */
function viaProxy(proxyPort: number, url: string, body?: string): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    // As Python's requests does through a proxy: the Host header is the target's.
    const host = /^http:\/\/([^/]+)/.exec(url)?.[1] ?? '';
    const req = request({host: '127.0.0.1', port: proxyPort, method: body ? 'PUT' : 'GET', path: url, headers: {host}}, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({status: res.statusCode ?? 0, text}));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('gcloud proxy', () => {
  it('forwards a regional loopback host (method, path, body, answer) and refuses anything else', async () => {
    const seen: string[] = [];
    const upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.host} ${body}`);
        res.writeHead(201, {'x-up': '1'}).end('answer');
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    const proxy = await startGcloudProxy();
    try {
      assert.deepEqual(await viaProxy(proxy.port, `http://us-central1-127.0.0.1:${port}/apis/x?alt=json`, 'payload'), {
        status: 201,
        text: 'answer',
      });
      assert.deepEqual(seen, [`PUT /apis/x?alt=json us-central1-127.0.0.1:${port} payload`]);
      const refused = await viaProxy(proxy.port, 'http://oauth2.googleapis.com/token');
      assert.equal(refused.status, 403);
      assert.match(refused.text, /only reaches the local stack, not http:\/\/oauth2\.googleapis\.com\/token: unset CLOUDSDK_PROXY_TYPE/);
      upstream.close();
      const down = await viaProxy(proxy.port, `http://127.0.0.1:${port}/`);
      assert.equal(down.status, 502);
      assert.match(down.text, /does not answer at 127\.0\.0\.1:\d+ .*is `npm start` running\?/);
    } finally {
      upstream.close();
      await proxy.close();
    }
  });
});
