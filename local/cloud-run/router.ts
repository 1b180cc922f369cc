import http from 'node:http';
import type {AddressInfo} from 'node:net';
import type {Service} from './messages';
import {shortRevision} from './service-status';

/** Options of {@link ServiceRouter}. */
export interface ServiceRouterOptions {
  /** The URL of the revision that should answer a request to `service` now; undefined when none is ready. */
  target: (service: string) => string | undefined;
}

// Connection-level headers belong to one hop; Node sets its own for each side.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A stable loopback URL per service, like a Cloud Run service URL: a reverse proxy that sends
 * each request to whichever revision serves the service at that moment, so traffic moves
 * from one revision to the next without the URL changing.
 */
export class ServiceRouter {
  private readonly servers = new Map<string, Promise<{server: http.Server; url: string}>>();
  private closed = false;

  constructor(private readonly opts: ServiceRouterOptions) {}

  /** The service's URL (`http://127.0.0.1:<port>`), allocated on first use and stable until close(). */
  async urlFor(service: string): Promise<string> {
    if (this.closed) throw new Error('ServiceRouter is closed');
    let entry = this.servers.get(service);
    if (!entry) {
      entry = this.listen(service);
      this.servers.set(service, entry);
    }
    return (await entry).url;
  }

  /** Stops every service's listener and cuts open connections. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = await Promise.allSettled(this.servers.values());
    this.servers.clear();
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

  private async listen(service: string): Promise<{server: http.Server; url: string}> {
    const server = http.createServer((req, res) => this.forward(service, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return {server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`};
  }

  private forward(service: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = this.opts.target(service);
    if (!target) {
      req.resume();
      answer(
        res,
        503,
        `Service '${service}' has no ready revision to send this request to: its first revision is still ` +
          "starting, or it failed to start. The service's terminalCondition and the revision's log say why.\n",
      );
      return;
    }
    const {hostname, port} = new URL(target);
    const headers = withoutHopByHop(req.headers);
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '127.0.0.1';
    headers['x-forwarded-proto'] = 'http';
    // agent: false: a pooled socket to a revision that was just stopped would fail the next request.
    const upstream = http.request({hostname, port, method: req.method, path: req.url, headers, agent: false});
    upstream.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, withoutHopByHop(up.headers));
      up.on('error', () => res.destroy());
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else answer(res, 502, `The revision of service '${service}' at ${target} failed to answer: ${err.message}\n`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

function answer(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, {'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text)});
  res.end(text);
}

/** The parts of the Cloud Run emulator that tell where a service's traffic goes. */
export interface ServingView {
  getService(name: string): Pick<Service, 'trafficStatuses' | 'latestReadyRevision'> | undefined;
  revisionUrl(revision: string): string | undefined;
}

/**
 * The URL of a revision that serves `service` now, chosen by the traffic percentages in its
 * trafficStatuses (falling back to latestReadyRevision); undefined when none is ready.
 * Meant as the router's `target`: `target: (s) => servingRevisionUrl(emulator, s)`.
 */
export function servingRevisionUrl(emu: ServingView, service: string, random: () => number = Math.random): string | undefined {
  const svc = emu.getService(service);
  if (!svc) return undefined;
  const statuses = svc.trafficStatuses ?? [];
  if (statuses.length === 0) {
    const latest = shortRevision(svc.latestReadyRevision);
    return latest && emu.revisionUrl(latest);
  }
  const candidates = statuses
    .map((t) => ({url: t.revision ? emu.revisionUrl(t.revision) : undefined, percent: Number(t.percent ?? 0)}))
    .filter((c): c is {url: string; percent: number} => !!c.url && c.percent > 0);
  let pick = random() * candidates.reduce((sum, c) => sum + c.percent, 0);
  for (const c of candidates) {
    pick -= c.percent;
    if (pick < 0) return c.url;
  }
  return candidates.at(-1)?.url;
}
