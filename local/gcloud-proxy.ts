/**
 * An HTTP forward proxy for the gcloud CLI pointed at the local stack. `gcloud run` does not
 * call its endpoint override as given: it prefixes the region to the host
 * (`http://127.0.0.1:PORT/` becomes `http://us-central1-127.0.0.1:PORT/`,
 * `googlecloudsdk/command_lib/run/connection_context.py` DeriveRegionalEndpoint), a name no
 * resolver knows. With `CLOUDSDK_PROXY_*` set to this proxy gcloud sends every request here,
 * and the proxy sends such a request to 127.0.0.1, its Host header unchanged (the Cloud Run v1
 * routes read the region from it, as Cloud Run's regional endpoints do). It reaches loopback
 * only: anything else (Google itself, a CONNECT tunnel) is refused, saying why.
 */
import {createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';

/** A running proxy. */
export interface GcloudProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * Where a proxied request goes: the loopback port and path of its absolute URL, with a
 * region-prefixed loopback host (`us-central1-127.0.0.1`) taken back to 127.0.0.1; undefined
 * when it is not a loopback URL.
 */
export function proxyTarget(absoluteUrl: string): {port: number; path: string} | undefined {
  // Not `new URL`: WHATWG parsing takes a host ending in a number for IPv4 and rejects
  // `us-central1-127.0.0.1`.
  const m = /^http:\/\/(?:[a-z0-9-]+-)?(127\.0\.0\.1|localhost)(?::(\d{1,5}))?(\/[^#]*)?$/i.exec(absoluteUrl);
  if (!m) return undefined;
  return {port: Number(m[2] ?? 80), path: m[3] ?? '/'};
}

function refuse(res: ServerResponse, what: string): void {
  const message =
    `the local stack's gcloud proxy only reaches the local stack, not ${what}: ` +
    'unset CLOUDSDK_PROXY_TYPE, CLOUDSDK_PROXY_ADDRESS and CLOUDSDK_PROXY_PORT to call Google Cloud.';
  res
    .writeHead(403, {'content-type': 'application/json; charset=UTF-8'})
    .end(JSON.stringify({error: {code: 403, message, status: 'PERMISSION_DENIED'}}));
}

function forward(req: IncomingMessage, res: ServerResponse): void {
  const target = proxyTarget(req.url ?? '');
  if (!target) return refuse(res, req.url ?? '(no URL)');
  // The Host header stays as gcloud sent it: a regional host names the region it asks for.
  const headers: Record<string, string | string[] | undefined> = {...req.headers};
  delete headers['proxy-connection'];
  delete headers['proxy-authorization'];
  const out = httpRequest({host: '127.0.0.1', port: target.port, method: req.method, path: target.path, headers}, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', (err) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message = `the local stack does not answer at 127.0.0.1:${target.port} (${err.message}): is \`npm start\` running?`;
    res.writeHead(502, {'content-type': 'application/json; charset=UTF-8'}).end(JSON.stringify({error: {code: 502, message}}));
  });
  req.pipe(out);
}

/** Starts the proxy on 127.0.0.1 (`port` 0: any free port). */
export function startGcloudProxy(port = 0): Promise<GcloudProxy> {
  const server: Server = createServer(forward);
  server.on('connect', (req: IncomingMessage, socket) => {
    socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nthe local stack's gcloud proxy does not tunnel to ${req.url}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
