/**
 * The REST (HTTP/1.1 + JSON) face of a local gRPC emulator: what gcloud and the client
 * libraries' REST mode send. Each request is transcoded by the methods' `google.api.http`
 * annotations (./rest-transcoder) and answered by the same handlers as gRPC, through
 * {@link GrpcEmulator.invoke}, so calls are recorded and injected faults hit REST too.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {GrpcEmulator} from './emulator-server';

/**
 * Routes of another API mounted on the same REST server (e.g. Cloud Run Admin API v1 next to
 * v2, since gcloud's `run` endpoint override covers both). Called with the whole request body,
 * before the emulator's own routes; resolves true when it answered the request, false to pass.
 */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>;

/** Options of {@link startRestServer}. */
export interface RestServerOptions {
  /** Port to listen on (127.0.0.1); 0 or absent picks a free one. */
  port?: number;
  /** Tried in order before the emulator's own routes. */
  extraRoutes?: ExtraRoutes[];
}

/** A running REST server: `url` ends without a slash, e.g. `http://127.0.0.1:8123`. */
export interface RestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `emulator` over REST on 127.0.0.1. */
export function startRestServer(emulator: GrpcEmulator, opts: RestServerOptions = {}): Promise<RestServer> {
  const server = createServer((req, res) => {
    void handle(emulator, opts.extraRoutes ?? [], req, res);
  });
  return listen(server, opts.port ?? 0);
}

async function handle(_emulator: GrpcEmulator, extra: ExtraRoutes[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  for (const route of extra) if (await route(req, res, body)) return;
  res.writeHead(404, {'content-type': 'application/json; charset=utf-8'});
  res.end(JSON.stringify({error: {code: 404, message: `no method for ${req.method} ${req.url}`, status: 'NOT_FOUND', details: []}}));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<RestServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({
        url: `http://127.0.0.1:${bound}`,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
