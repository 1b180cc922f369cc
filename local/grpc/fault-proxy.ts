/**
 * A gRPC fault proxy: forwards every HTTP/2 stream to an upstream gRPC server (the official
 * Firestore or Pub/Sub emulator, which cannot inject faults themselves) and answers chosen
 * calls with a status instead, before or after the upstream did the work, or late.
 */
import http2 from 'node:http2';
import type {AddressInfo} from 'node:net';
import {FaultPlan, type FaultSpec} from './faults';

/** One call that went through the proxy. */
export interface ProxiedCall {
  /** The RPC's short name, such as `Commit` or `Publish`. */
  method: string;
  /** The status the proxy answered with instead of the upstream's, if any. */
  faulted?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers a stream with a gRPC status alone (a trailers-only response). */
function answer(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.respond(
    {':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message)},
    {endStream: true},
  );
}

/** The proxy; `host` after start() is what clients use as their emulator host. */
export class GrpcFaultProxy {
  readonly calls: ProxiedCall[] = [];
  private readonly faults = new FaultPlan();
  private server?: http2.Http2Server;
  private upstream?: http2.ClientHttp2Session;
  private port = 0;

  /** `target`: the upstream's host:port. */
  constructor(private readonly target: string) {}

  /** host:port to give clients instead of the upstream's. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Makes matching calls fail with `code`, be delayed, or (`afterForwarding`) succeed upstream and still fail. */
  injectFault(fault: FaultSpec): void {
    this.faults.add(fault);
  }

  /** Removes every fault that has not fired yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Listens on a free loopback port; returns the proxy's host:port. */
  async start(): Promise<string> {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => this.forward(stream, headers));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.host;
  }

  async stop(): Promise<void> {
    this.upstream?.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private session(): http2.ClientHttp2Session {
    if (!this.upstream || this.upstream.closed || this.upstream.destroyed) {
      this.upstream = http2.connect(`http://${this.target}`);
      // A failed session fails its streams (answered UNAVAILABLE below); the next call reconnects.
      this.upstream.on('error', () => undefined);
    }
    return this.upstream;
  }

  private forward(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const method =
      String(headers[':path'] ?? '')
        .split('/')
        .pop() ?? '';
    const fault = this.faults.take(method);
    this.calls.push(fault?.code ? {method, faulted: fault.code} : {method});
    stream.on('error', () => undefined);
    const run = async () => {
      if (fault?.delayMs) await sleep(fault.delayMs);
      const failWith = fault?.code;
      const message = fault?.message ?? `injected fault on ${method} (code ${failWith})`;
      if (failWith && !fault.afterForwarding) return answer(stream, failWith, message);
      const request: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(headers)) if (k !== ':authority' && v !== undefined) request[k] = v;
      const up = this.session().request(request);
      let trailers: http2.IncomingHttpHeaders | undefined;
      // ClientHttp2Stream's own `on` overloads hide Http2Stream's typed 'error' and 'trailers'
      // ones (leaving `any[]`), so the listeners name the types Http2Stream gives them.
      up.on('error', (err: Error) => answer(stream, 14, `fault proxy: upstream ${this.target}: ${err.message}`));
      up.on('trailers', (t: http2.IncomingHttpHeaders) => {
        trailers = t;
      });
      up.on('response', (h) => {
        if (failWith) {
          // The upstream did the work; the caller is told it failed (a lost answer).
          up.resume();
          up.on('end', () => answer(stream, failWith, message));
          return;
        }
        const {[':status']: status, ...rest} = h;
        if (h['grpc-status'] !== undefined) {
          // A trailers-only answer (an error): the status is in these headers, nothing follows.
          up.resume();
          if (!stream.destroyed) stream.respond({':status': status ?? 200, ...rest}, {endStream: true});
          return;
        }
        stream.respond({':status': status ?? 200, ...rest}, {waitForTrailers: true});
        stream.on('wantTrailers', () => {
          const {':status': _s, ...t} = trailers ?? {'grpc-status': '0'};
          stream.sendTrailers(t);
        });
        up.pipe(stream);
      });
      stream.pipe(up);
      stream.on('close', () => {
        if (!up.closed) up.close();
      });
    };
    run().catch((err: Error) => answer(stream, 13, `fault proxy: ${err.message}`));
  }
}
