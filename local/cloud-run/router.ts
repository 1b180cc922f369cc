import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {PassThrough, type Duplex, type Readable} from 'node:stream';
import {createProxyServer} from 'http-proxy-3';
import type {RequestRecord} from './request-log';

/** Where a service is: its project and region (`location`). */
export interface ServiceLocation {
  project: string;
  location: string;
}

/**
 * What a router URL is for: a service's URL, or the URL of one of its traffic tags. A service of
 * the same id in another region (or project) is another service, with URLs of its own.
 */
export interface Route {
  service: string;
  tag?: string;
  /** Where the service is; without it, the one service of that id the router knows by id alone. */
  where?: ServiceLocation;
}

/** The revision that answers a request, and where it listens. */
export interface RevisionTarget {
  url: string;
  revision: string;
}

/** A revision to send the request to, or an answer the router gives itself (a tag URL without its tag: 404). */
export type RouteAnswer = RevisionTarget | {status: number; message: string};

/** Options of {@link ServiceRouter}. */
export interface ServiceRouterOptions {
  /**
   * The revision that should answer a request to `route` now; undefined when none is ready. It
   * may first have to start the revision again (a crashed instance is replaced).
   */
  target: (route: Route) => RouteAnswer | undefined | Promise<RouteAnswer | undefined>;
  /** Called once per request a revision answered (or failed to: 502), when its response ended. */
  onRequest?: (record: RequestRecord) => void;
}

// Connection-level headers of the revision's answer belong to its hop (the proxy asks it to close
// each connection); the client's connection to the router keeps its own.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection'];

interface Listener {
  server: http.Server;
  url: string;
}

const routeKey = (route: Route) =>
  [route.service, route.tag ?? '', route.where ? `${route.where.project}/${route.where.location}` : ''].join('\u0000');
const describe = (route: Route) => {
  const where = route.where ? ` in region '${route.where.location}' of project '${route.where.project}'` : '';
  return route.tag === undefined ? `Service '${route.service}'${where}` : `Tag '${route.tag}' of service '${route.service}'${where}`;
};

/**
 * A stable loopback URL per service, like a Cloud Run service URL: a reverse proxy that sends
 * each request to whichever revision serves the service at that moment, so traffic moves
 * from one revision to the next without the URL changing. Requests and responses stream
 * through as they come (server-sent events, chunked bodies), and WebSocket upgrades pass
 * through: a WebSocket stays on the revision it was opened with for its whole life, as on
 * Cloud Run, where an instance keeps its open connections when traffic moves. A traffic tag gets
 * a URL of its own that always reaches the tagged revision, whatever its share of the traffic.
 * Each request a revision answers is reported with its status and latency.
 */
export class ServiceRouter {
  private readonly servers = new Map<string, Promise<Listener>>();
  /** Upgraded sockets: the HTTP server no longer tracks them, so close() cuts them itself. */
  private readonly upgraded = new Set<Duplex>();
  // xfwd: X-Forwarded-For/-Port/-Proto/-Host, as Cloud Run's front end adds them. No agent: a
  // pooled socket to a revision that was just stopped would fail the next request.
  private readonly proxy = createProxyServer({xfwd: true});
  private closed = false;

  constructor(private readonly opts: ServiceRouterOptions) {
    this.proxy.on('proxyRes', (res) => {
      for (const h of HOP_BY_HOP) delete res.headers[h];
    });
    // Errors reach the callbacks below; this keeps an error without one from throwing.
    this.proxy.on('error', () => undefined);
  }

  /**
   * The service's URL (`http://127.0.0.1:<port>`), allocated on first use and stable until
   * close(). On first use it takes `preferredPort` if that is free (a restarted stack keeps
   * its URLs), else any free port.
   */
  urlFor(service: string, preferredPort?: number, where?: ServiceLocation): Promise<string> {
    return this.urlOf({service, ...(where ? {where} : {})}, preferredPort);
  }

  /**
   * The URL of the service's traffic tag `tag`, allocated like {@link urlFor}. It keeps
   * answering once the tag is gone, with 404 as Cloud Run does, and serves the tag again if
   * it comes back.
   */
  tagUrlFor(service: string, tag: string, preferredPort?: number, where?: ServiceLocation): Promise<string> {
    return this.urlOf({service, tag, ...(where ? {where} : {})}, preferredPort);
  }

  private async urlOf(route: Route, preferredPort?: number): Promise<string> {
    if (this.closed) throw new Error('ServiceRouter is closed');
    const key = routeKey(route);
    let entry = this.servers.get(key);
    if (!entry) {
      entry = preferredPort ? this.listen(route, preferredPort).catch(() => this.listen(route)) : this.listen(route);
      this.servers.set(key, entry);
    }
    return (await entry).url;
  }

  /** Stops every service's listener and cuts open connections, WebSockets included. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = await Promise.allSettled(this.servers.values());
    this.servers.clear();
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    await Promise.all(
      entries.map((e) =>
        e.status === 'fulfilled'
          ? new Promise<void>((resolve) => {
              e.value.server.close(() => resolve());
              e.value.server.closeAllConnections();
            })
          : Promise.resolve(),
      ),
    );
  }

  private async listen(route: Route, port = 0): Promise<Listener> {
    const server = http.createServer((req, res) => void this.forward(route, req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(route, req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return {server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`};
  }

  private async forward(route: Route, req: http.IncomingMessage, res: http.ServerResponse, body?: Readable): Promise<void> {
    const started = performance.now();
    // The request body waits, unread, while the target is found.
    const found = await this.opts.target(route);
    if (!found || !('url' in found)) {
      (body ?? req).resume();
      answer(res, found?.status ?? 503, found?.message ?? noRevisionMessage(route));
      return;
    }
    res.once('close', () => {
      // A client that left before any answer was sent got none to count.
      if (res.headersSent) this.report(route, found.revision, res.statusCode, started);
    });
    this.proxy.web(req, res, {target: found.url, buffer: body}, (err: Error) => {
      if (res.headersSent) res.destroy(err);
      else answer(res, 502, failedMessage(route, found.url, err));
    });
  }

  private report(route: Route, revision: string, status: number, started: number): void {
    const where = route.where ? {project: route.where.project, location: route.where.location} : {};
    this.opts.onRequest?.({service: route.service, ...where, revision, status, latencyMs: performance.now() - started, at: Date.now()});
  }

  private async upgrade(route: Route, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const started = performance.now();
    socket.on('error', () => socket.destroy()); // a client that went away is not the router's error
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return this.plain(route, req, socket, head);
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    const found = this.closed ? undefined : await this.opts.target(route);
    if (!found || !('url' in found)) {
      refuse(socket, found?.status ?? 503, found?.message ?? noRevisionMessage(route));
      return;
    }
    // A WebSocket is one long request: counted when it closes, with the status its upgrade got.
    const status = statusWritten(socket);
    socket.once('close', () => {
      const code = status();
      if (code) this.report(route, found.revision, code, started);
    });
    this.proxy.ws(req, socket, head, {target: found.url}, (err: Error) => {
      // Before the revision switched protocols the client still waits for an HTTP answer.
      if ((socket as Socket).bytesWritten === 0) refuse(socket, 502, failedMessage(route, found.url, err));
      else socket.destroy();
    });
  }

  /**
   * A request that asks to switch to another protocol than WebSocket (`Upgrade: h2c`, which
   * `curl --http2` sends over http) is answered as plain HTTP/1.1, as a server may. Node hands it
   * to the 'upgrade' listener with the bare socket and no body, so it gets a response object and
   * its body (Content-Length bytes) is read from the socket here.
   */
  private plain(route: Route, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (req.headers['transfer-encoding']) {
      refuse(
        socket,
        411,
        `This request asks to upgrade to '${req.headers.upgrade}' and has a chunked body, which the local service URL ` +
          'cannot read: send it without the Upgrade header (curl: --http1.1), or with a Content-Length.\n',
      );
      return Promise.resolve();
    }
    for (const h of ['upgrade', 'http2-settings']) delete req.headers[h];
    req.headers.connection = 'close'; // one request on this socket: the HTTP parser let go of it
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    res.once('finish', () => {
      res.detachSocket(socket as Socket);
      socket.end();
    });
    return this.forward(route, req, res, bodyFrom(socket, head, Number(req.headers['content-length'] ?? 0)));
  }
}

/** The next `length` bytes of a socket (those that came with the headers first), as a stream. */
function bodyFrom(socket: Duplex, head: Buffer, length: number): Readable {
  const body = new PassThrough();
  let left = Number.isSafeInteger(length) && length > 0 ? length : 0;
  const take = (chunk: Buffer) => {
    const part = chunk.subarray(0, left);
    left -= part.length;
    body.write(part);
    if (left === 0) {
      socket.off('data', take);
      body.end();
    }
  };
  if (left === 0) body.end();
  else {
    if (head.length > 0) take(head);
    if (left > 0) socket.on('data', take);
  }
  return body;
}

function noRevisionMessage(route: Route): string {
  return (
    `${describe(route)} has no ready revision to send this request to: its revision is still ` +
    "starting, or it failed to start. The service's terminalCondition and the revision's log say why.\n"
  );
}

function failedMessage(route: Route, target: string, err: Error): string {
  const tag = route.tag === undefined ? '' : ` (tag '${route.tag}')`;
  const where = route.where ? ` in region '${route.where.location}'` : '';
  return `The revision of service '${route.service}'${where}${tag} at ${target} failed to answer: ${err.message}\n`;
}

/**
 * Watches the first bytes written to an upgraded socket, the status line of the answer to the
 * upgrade (101, or the revision's refusal), and returns a reader of its code (0 before any).
 */
function statusWritten(socket: Duplex): () => number {
  let code = 0;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!code && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      code = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(Buffer.from(chunk).subarray(0, 16).toString('latin1'))?.[1] ?? 0);
    }
    return write(chunk, ...rest);
  }) as typeof socket.write;
  return () => code;
}

function answer(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text)});
  res.end(text);
}

/** An HTTP answer written on a socket that asked for an upgrade, then the socket is closed. */
function refuse(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}
