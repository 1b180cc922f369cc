/**
 * A minimal HTTP server for the Cloud Run v1 routes (knative-v1.ts) until they are mounted on
 * the Cloud Run REST server next to v2: the whole body is read (v1 requests are small JSON),
 * each route tried in order, anything else answered 404 in Google's error shape.
 */
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {ExtraRoutes} from './knative-v1';

/** A running server: `url` without a trailing slash. */
export interface RoutesServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1 (`port` 0: any free port). */
export function startRoutesServer(routes: ExtraRoutes[], port = 0): Promise<RoutesServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        for (const route of routes) if (await route(req, res, body)) return;
        const message = `The requested URL ${req.url ?? '/'} was not found on this server (the local Cloud Run v1 API).`;
        res
          .writeHead(404, {'content-type': 'application/json; charset=UTF-8'})
          .end(JSON.stringify({error: {code: 404, message, status: 'NOT_FOUND'}}));
      })().catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, {'content-type': 'application/json; charset=UTF-8'});
        res.end(JSON.stringify({error: {code: 500, message: String(err), status: 'INTERNAL'}}));
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
