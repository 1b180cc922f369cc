/**
 * The REST (HTTP/1.1 + JSON) face of a local gRPC emulator: what gcloud and the client
 * libraries' REST mode send. Each request is transcoded by the methods' `google.api.http`
 * annotations (./rest-transcoder) and answered by the same handlers as gRPC, through
 * {@link GrpcEmulator.invoke}, so calls are recorded and injected faults hit REST too.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {JSONValue} from 'proto3-json-serializer';
import type {GrpcEmulator, UnaryHandler} from './emulator-server';
import {protoRoot} from './protos';
import {RpcError, rpc} from './rpc-error';
import {errorJson, httpStatusOf, matchRoute, pathKnown, requestJson, routesOf, type RestRoute} from './rest-transcoder';
import {requestFromJson, responseJson} from './rest-json';

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
  const routes: RestRoute[] = [];
  const handlers = new Map<RestRoute, UnaryHandler>();
  for (const served of emulator.servedApis()) {
    for (const route of routesOf(protoRoot(), served.service, Object.keys(served.handlers), served.httpRules)) {
      routes.push(route);
      handlers.set(route, served.handlers[route.method]);
    }
  }
  const extra = opts.extraRoutes ?? [];
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const error = err instanceof RpcError ? err : new RpcError(13, `REST front end of the emulator failed: ${String(err)}`);
      if (!res.headersSent) send(res, httpStatusOf(error.code), errorJson(error));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    for (const route of extra) if (await route(req, res, body)) return;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const verb = (req.headers['x-http-method-override'] as string | undefined)?.toUpperCase() ?? req.method ?? 'GET';
    const match = matchRoute(routes, verb, url.pathname);
    if (!match) {
      const known = pathKnown(routes, url.pathname);
      const message = known
        ? `${verb} is not allowed on ${url.pathname}`
        : `The requested URL ${url.pathname} was not found on this server.`;
      const status = known ? 405 : 404;
      return send(res, status, {error: {code: status, message, status: known ? 'UNIMPLEMENTED' : 'NOT_FOUND', details: []}});
    }
    const request = requestFromJson(match.route.requestType, requestJson(match, url.searchParams, parseJson(body)));
    const response = await emulator.invoke(match.route.method, handlers.get(match.route)!, request);
    send(res, 200, responseJson(match.route.responseType, response));
  }

  return listen(server, opts.port ?? 0);
}

function parseJson(body: Buffer): JSONValue | undefined {
  const text = body.toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as JSONValue;
  } catch (err) {
    throw rpc.invalidArgument(`Invalid JSON payload received. ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, json: unknown): void {
  const text = JSON.stringify(json, null, 2) + '\n';
  res.writeHead(status, {'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text)});
  res.end(text);
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
