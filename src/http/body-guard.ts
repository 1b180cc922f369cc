/**
 * Request bodies are read here, bounded, before the Functions Framework sees the request.
 *
 * Functions Framework 5 parses every body itself before a function runs (server.js: body-parser
 * json, text, urlencoded and raw for any other type, each up to 1 GB), answers what it cannot
 * parse with Express's HTML error page, and offers no hook to change either
 * (GoogleCloudPlatform/functions-framework-nodejs#686 is open). So the guard wraps the server's
 * request listener (the framework's Express app): it reads the body up to the function's limit,
 * applies json-body.ts, and either answers the problem itself (per the function's
 * {@link BodyPolicy}) or hands the request on with `req.body` and `req.rawBody` set. The
 * framework's parsers then skip the request, by their own rule for a body already read
 * (body-parser's read.js: `onFinished.isFinished(req)`). The app is called the documented way
 * an Express app is mounted, `app(req, res, next)`, so an error the framework raises after the
 * guard reaches the policy's `fail` rather than the HTML page. No framework code is changed.
 */
import {subscribe} from 'node:diagnostics_channel';
import type {IncomingMessage, RequestListener, Server, ServerResponse} from 'node:http';
import {headerProblem, parseJsonBody, pathProblem, type BodyLimits, type BodyProblem} from './json-body';

/** How one function treats what it cannot use. */
export interface BodyPolicy {
  limits: BodyLimits;
  /** A further rule on the parsed body (`undefined` when there was none). */
  check?(value: unknown): BodyProblem | undefined;
  /** Answers a request whose path or body cannot be used; nothing of it was handed on. */
  refuse(req: IncomingMessage, res: ServerResponse, problem: BodyProblem, bytes: number): void;
  /** Answers what the framework could not route (`err` undefined) or failed on after the guard. */
  fail(req: IncomingMessage, res: ServerResponse, err: unknown): void;
}

/** What the guard hands on, on the request. */
interface Guarded extends IncomingMessage {
  body?: unknown;
  rawBody?: Buffer;
  [GUARDED]?: {value: unknown};
}

const GUARDED = Symbol('dropdeploy.bodyGuard');
/**
 * A refused body is still read to its end, and dropped, before the answer: a client still
 * sending (Pub/Sub, Eventarc, curl) would otherwise see the connection break, not the answer,
 * and a push subscription would redeliver. Past this much (Cloud Run's own limit per HTTP/1
 * request) the answer goes at once and the connection is closed.
 */
const DISCARD_LIMIT = 32 * 1024 * 1024;

/** The body the guard read and parsed for `req`, or undefined when no guard saw the request. */
export function guardedBody(req: IncomingMessage): {value: unknown} | undefined {
  return (req as Guarded)[GUARDED];
}

/** `app` with the guard in front: bodies read and checked first, framework errors to `policy.fail`. */
export function guardRequests(app: RequestListener & {handle?: unknown}, policy: BodyPolicy): RequestListener {
  const next = app as unknown as (req: IncomingMessage, res: ServerResponse, done: (err?: unknown) => void) => void;
  return (req, res) => {
    const early = pathProblem(req.url ?? '/') ?? headerProblem(req.headers, policy.limits);
    const chunks: Buffer[] = [];
    let size = 0;
    let problem: BodyProblem | undefined = early;
    let answered = false;
    const refuse = (p: BodyProblem) => {
      if (answered) return;
      answered = true;
      policy.refuse(req, res, p, size);
    };
    if (early && Number(req.headers['content-length'] ?? 0) > DISCARD_LIMIT) {
      // Too much to read and drop: answer now, and end the connection.
      res.setHeader('connection', 'close');
      refuse(early);
      stopReading(req, res);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (problem) {
        if (size > DISCARD_LIMIT) {
          if (!res.headersSent) res.setHeader('connection', 'close');
          refuse(problem);
          stopReading(req, res);
        }
        return;
      }
      if (size <= policy.limits.maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      problem = {
        status: 413,
        reason: `the request body is over ${policy.limits.maxBytes} bytes; at most ${policy.limits.maxBytes} bytes are accepted`,
      };
    });
    req.on('error', () => req.destroy());
    req.on('end', () => {
      if (problem) return refuse(problem);
      const bytes = Buffer.concat(chunks, size);
      const verdict = parseJsonBody(bytes, policy.limits);
      const refusal = verdict.ok ? policy.check?.(verdict.value) : verdict.problem;
      if (refusal || !verdict.ok) return refuse(refusal!);
      const guarded = req as Guarded;
      guarded[GUARDED] = {value: verdict.value};
      guarded.rawBody = bytes;
      // What the framework's JSON parser makes of an empty body.
      guarded.body = verdict.value === undefined ? {} : verdict.value;
      next(req, res, (err) => policy.fail(req, res, err));
    });
  };
}

/** Reads no more of `req`; its connection ends once the answer is out. */
function stopReading(req: IncomingMessage, res: ServerResponse): void {
  req.pause();
  req.removeAllListeners('data');
  if (res.writableFinished) req.destroy();
  else res.once('finish', () => req.destroy());
}

/** Puts the guard in front of `server`'s request listener (a server made by the framework's `getServer`). */
export function guardServer(server: Server, policy: BodyPolicy): void {
  const listeners = server.listeners('request');
  if (listeners.length !== 1)
    throw new Error(`cannot guard a server with ${listeners.length} request listeners; expected the Functions Framework's one`);
  server.removeAllListeners('request');
  server.on('request', guardRequests(listeners[0] as RequestListener, policy));
}

/**
 * The target the Functions Framework serves in this process, read as it reads it
 * (`--target=NAME` or `--target NAME`, else FUNCTION_TARGET): one per instance on Google Cloud.
 */
export function servedTarget(argv: string[], env: Record<string, string | undefined>): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--target=')) return argv[i].slice('--target='.length);
    if (argv[i] === '--target' && argv[i + 1]) return argv[i + 1];
  }
  return env.FUNCTION_TARGET || undefined;
}

let watching = false;
const seen = new WeakSet<Server>();

/**
 * Guards the framework's server in this process with the policy of the target it serves. That
 * server is created by the framework's CLI, out of reach of the function's code, so it is taken
 * at its first request: Node publishes `http.server.request.start` (node:diagnostics_channel)
 * before it emits `request`, and the guard is in place for that request already. Only servers
 * whose one listener is an Express app are touched; without a known target nothing is.
 */
export function guardServedFunction(policies: Record<string, BodyPolicy>, target: string | undefined): void {
  const policy = target === undefined ? undefined : policies[target];
  if (!policy || watching) return;
  watching = true;
  subscribe('http.server.request.start', (message) => {
    const server = (message as {server?: Server}).server;
    if (!server || seen.has(server)) return;
    seen.add(server);
    const listeners = server.listeners('request');
    if (listeners.length === 1 && typeof (listeners[0] as {handle?: unknown}).handle === 'function') guardServer(server, policy);
  });
}
