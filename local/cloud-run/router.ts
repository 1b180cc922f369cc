import http from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {PassThrough, type Duplex, type Readable} from 'node:stream';
import {createProxyServer} from 'http-proxy-3';
import type {Service} from './messages';
import {shortRevision} from './service-status';

/** Options of {@link ServiceRouter}. */
export interface ServiceRouterOptions {
  /**
   * The URL of the revision that should answer a request to `service` now; undefined when none
   * is ready. It may first have to start the revision again (a crashed instance is replaced).
   */
  target: (service: string) => string | undefined | Promise<string | undefined>;
}

// Connection-level headers of the revision's answer belong to its hop (the proxy asks it to close
// each connection); the client's connection to the router keeps its own.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection'];

interface Listener {
  server: http.Server;
  url: string;
}

/**
 * A stable loopback URL per service, like a Cloud Run service URL: a reverse proxy that sends
 * each request to whichever revision serves the service at that moment, so traffic moves
 * from one revision to the next without the URL changing. Requests and responses stream
 * through as they come (server-sent events, chunked bodies), and WebSocket upgrades pass
 * through: a WebSocket stays on the revision it was opened with for its whole life, as on
 * Cloud Run, where an instance keeps its open connections when traffic moves.
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
  async urlFor(service: string, preferredPort?: number): Promise<string> {
    if (this.closed) throw new Error('ServiceRouter is closed');
    let entry = this.servers.get(service);
    if (!entry) {
      entry = preferredPort ? this.listen(service, preferredPort).catch(() => this.listen(service)) : this.listen(service);
      this.servers.set(service, entry);
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

  private async listen(service: string, port = 0): Promise<Listener> {
    const server = http.createServer((req, res) => void this.forward(service, req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(service, req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return {server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`};
  }

  private async forward(service: string, req: http.IncomingMessage, res: http.ServerResponse, body?: Readable): Promise<void> {
    // The request body waits, unread, while the target is found.
    const target = await this.opts.target(service);
    if (!target) {
      (body ?? req).resume();
      answer(res, 503, noRevisionMessage(service));
      return;
    }
    this.proxy.web(req, res, {target, buffer: body}, (err: Error) => {
      if (res.headersSent) res.destroy(err);
      else answer(res, 502, failedMessage(service, target, err));
    });
  }

  private async upgrade(service: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy()); // a client that went away is not the router's error
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return this.plain(service, req, socket, head);
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    const target = this.closed ? undefined : await this.opts.target(service);
    if (!target) {
      refuse(socket, 503, noRevisionMessage(service));
      return;
    }
    this.proxy.ws(req, socket, head, {target}, (err: Error) => {
      // Before the revision switched protocols the client still waits for an HTTP answer.
      if ((socket as Socket).bytesWritten === 0) refuse(socket, 502, failedMessage(service, target, err));
      else socket.destroy();
    });
  }

  /**
   * A request that asks to switch to another protocol than WebSocket (`Upgrade: h2c`, which
   * `curl --http2` sends over http) is answered as plain HTTP/1.1, as a server may. Node hands it
   * to the 'upgrade' listener with the bare socket and no body, so it gets a response object and
   * its body (Content-Length bytes) is read from the socket here.
   */
  private plain(service: string, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
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
    return this.forward(service, req, res, bodyFrom(socket, head, Number(req.headers['content-length'] ?? 0)));
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

function noRevisionMessage(service: string): string {
  return (
    `Service '${service}' has no ready revision to send this request to: its first revision is still ` +
    "starting, or it failed to start. The service's terminalCondition and the revision's log say why.\n"
  );
}

function failedMessage(service: string, target: string, err: Error): string {
  return `The revision of service '${service}' at ${target} failed to answer: ${err.message}\n`;
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

/** The parts of the Cloud Run emulator that tell where a service's traffic goes. */
export interface ServingView {
  getService(name: string): Pick<Service, 'trafficStatuses' | 'latestReadyRevision'> | undefined;
  revisionUrl(revision: string): string | undefined;
  /** Makes sure the revision runs before a request is sent to it (a crashed one is started again). */
  wake?(revision: string): Promise<void>;
}

/**
 * The URL of a revision that serves `service` now, chosen by the traffic percentages in its
 * trafficStatuses (falling back to latestReadyRevision), once it runs; undefined when none is
 * ready. Meant as the router's `target`: `target: (s) => servingRevisionUrl(emulator, s)`.
 */
export async function servingRevisionUrl(
  emu: ServingView,
  service: string,
  random: () => number = Math.random,
): Promise<string | undefined> {
  const revision = servingRevision(emu, service, random);
  if (!revision) return undefined;
  await emu.wake?.(revision);
  return emu.revisionUrl(revision);
}

function servingRevision(emu: ServingView, service: string, random: () => number): string | undefined {
  const svc = emu.getService(service);
  if (!svc) return undefined;
  const statuses = svc.trafficStatuses ?? [];
  if (statuses.length === 0) {
    const latest = shortRevision(svc.latestReadyRevision);
    return latest && emu.revisionUrl(latest) ? latest : undefined;
  }
  const candidates = statuses
    .map((t) => ({revision: t.revision, percent: Number(t.percent ?? 0)}))
    .filter((c): c is {revision: string; percent: number} => !!c.revision && !!emu.revisionUrl(c.revision) && c.percent > 0);
  let pick = random() * candidates.reduce((sum, c) => sum + c.percent, 0);
  for (const c of candidates) {
    pick -= c.percent;
    if (pick < 0) return c.revision;
  }
  return candidates.at(-1)?.revision;
}
