/**
 * Cloud Run Admin API v1 routes (Knative Serving `serving.knative.dev/v1`, what `gcloud run`
 * speaks) over the v2 emulator's state: services list/get/replaceService, revisions list/get,
 * and the project-wide `projects/{p}/locations/{l}/services` list. Every read and write is a v2
 * call (GetService, ListServices, UpdateService, ListRevisions, GetRevision), so a change made
 * with gcloud is the one the v2 API, the router and the controller see: a new env is a new
 * revision rolled out as any UpdateService. The mapping is knative-mapping.ts.
 *
 * Mounted as an extra route of a REST server (true: answered; false: not a v1 path).
 */
import type {IncomingMessage, ServerResponse} from 'node:http';
import {RpcError} from '../grpc/rpc-error';
import {
  knativeRevision,
  knativeService,
  knativeServiceProblem,
  v2ServiceFromKnative,
  type KnativeContext,
  type KnativeService,
} from './knative-mapping';
import type {ExtraRoutes} from '../grpc/rest-server';
import type {Revision, Service} from './messages';

/** Runs one v2 method (`GetService`, `UpdateService`, …) on plain messages; rejects with an {@link RpcError}. */
export type RunV2Call = (method: string, request: object) => Promise<object>;

const NS = /^\/apis\/serving\.knative\.dev\/v1\/namespaces\/([^/]+)\/(services|revisions)(?:\/([^/]+))?\/?$/;
const LOCATIONS = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/services\/?$/;

// google.rpc.Code → HTTP status and name, as Google's HTTP front ends answer them.
const HTTP: Record<number, [number, string]> = {
  3: [400, 'INVALID_ARGUMENT'],
  5: [404, 'NOT_FOUND'],
  6: [409, 'ALREADY_EXISTS'],
  7: [403, 'PERMISSION_DENIED'],
  9: [400, 'FAILED_PRECONDITION'],
  10: [409, 'ABORTED'],
  12: [501, 'UNIMPLEMENTED'],
  14: [503, 'UNAVAILABLE'],
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text)});
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof HttpError
      ? err
      : err instanceof RpcError
        ? new HttpError(...(HTTP[err.code] ?? [500, 'INTERNAL']), err.message)
        : new HttpError(500, 'INTERNAL', `the local Cloud Run v1 API failed: ${String(err)}`);
  send(res, e.status, {error: {code: e.status, message: e.message, status: e.code}});
}

/**
 * The region a request asks for: Cloud Run v1's regional endpoints are `<region>-run.googleapis.com`,
 * and gcloud builds `<region>-<override host>` the same way (the stack's proxy keeps that Host);
 * any other host is the stack's own region.
 */
export function requestRegion(host: string | undefined, fallback: string): string {
  const m = /^([a-z][a-z0-9-]*?)-(?:127\.0\.0\.1|localhost)(?::\d+)?$/.exec(host ?? '');
  return m ? m[1] : fallback;
}

/** The v1 routes over `call` (the v2 emulator), in the stack's project; the region is the request's ({@link requestRegion}). */
export function knativeV1Routes(call: RunV2Call, ctx: KnativeContext): ExtraRoutes {
  const parentOf = (region: string) => `projects/${ctx.project}/locations/${region}`;
  return async (req, res, body) => {
    const region = requestRegion(req.headers.host, ctx.region);
    return knativeRequest(call, ctx, parentOf(region), parentOf, req, res, body);
  };
}

/** One v1 request in the region of `parent`. */
async function knativeRequest(
  call: RunV2Call,
  ctx: KnativeContext,
  parent: string,
  parentOf: (region: string) => string,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<boolean> {
  const getService = async (id: string) => (await call('GetService', {name: `${parent}/services/${id}`})) as Service;
  const servicesList = async (p = parent) => ((await call('ListServices', {parent: p})) as {services?: Service[]}).services ?? [];
  const revisionsOf = async (service: Service) => {
    const revisions = ((await call('ListRevisions', {parent: service.name})) as {revisions?: Revision[]}).revisions ?? [];
    const serving = new Set((service.trafficStatuses ?? []).filter((t) => (t.percent ?? 0) > 0 || t.tag).map((t) => t.revision));
    return revisions.map((r) => knativeRevision(r, ctx, serving.has(r.name.split('/').pop())));
  };
  const checkProject = (ns: string) => {
    if (ns !== ctx.project)
      throw new HttpError(
        404,
        'NOT_FOUND',
        `Namespace '${ns}' not found: the local stack's project is '${ctx.project}' (set it with --project).`,
      );
  };

  const routes: Record<string, (m: RegExpExecArray, url: URL, body: Buffer) => Promise<unknown>> = {
    'GET services': async () => ({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'ServiceList',
      metadata: {},
      items: (await servicesList()).map((s) => knativeService(s, ctx)),
    }),
    'GET service': async (m) => knativeService(await getService(m[3]), ctx),
    'PUT service': async (m, url, body) => {
      let k: unknown;
      try {
        k = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new HttpError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. ${(err as Error).message}`);
      }
      const problem = knativeServiceProblem(k, m[3]);
      if (problem) throw new HttpError(400, 'INVALID_ARGUMENT', problem);
      if (url.searchParams.get('dryRun'))
        throw new HttpError(501, 'UNIMPLEMENTED', 'dryRun is not emulated by the local Cloud Run; leave it out.');
      const current = await getService(m[3]);
      await call('UpdateService', {service: v2ServiceFromKnative(current, k as KnativeService)});
      return knativeService(await getService(m[3]), ctx);
    },
    'GET revisions': async (_m, url) => {
      const selector = url.searchParams.get('labelSelector') ?? '';
      const only = /^\s*serving\.knative\.dev\/service\s*==?\s*([a-z0-9-]+)\s*$/.exec(selector);
      if (selector && !only)
        throw new HttpError(400, 'INVALID_ARGUMENT', `labelSelector '${selector}': only 'serving.knative.dev/service = NAME' is emulated.`);
      const services = only ? [await getService(only[1])] : await servicesList();
      const items = (await Promise.all(services.map(revisionsOf))).flat();
      return {apiVersion: 'serving.knative.dev/v1', kind: 'RevisionList', metadata: {}, items};
    },
    'GET revision': async (m) => {
      const id = m[3];
      // A revision is named <service>-<generation>-<suffix> unless its template named it: look in every service.
      for (const service of await servicesList()) {
        const found = (await revisionsOf(service)).find((r) => r.metadata.name === id);
        if (found) return found;
      }
      throw new HttpError(404, 'NOT_FOUND', `Revision '${id}' not found in ${parent}.`);
    },
  };

  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  try {
    const ns = NS.exec(url.pathname);
    if (ns) {
      checkProject(ns[1]);
      const kind = ns[3] === undefined ? ns[2] : ns[2].slice(0, -1);
      const route = routes[`${method} ${kind}`];
      if (!route) throw new HttpError(405, 'UNIMPLEMENTED', `${method} ${url.pathname} is not emulated by the local Cloud Run v1 API.`);
      send(res, 200, await route(ns, url, body));
      return true;
    }
    const loc = LOCATIONS.exec(url.pathname);
    if (loc && method === 'GET') {
      checkProject(loc[1]);
      const items = (await servicesList(parentOf(loc[2]))).map((s) => knativeService(s, ctx));
      send(res, 200, {apiVersion: 'serving.knative.dev/v1', kind: 'ServiceList', metadata: {}, items, unreachable: []});
      return true;
    }
    return false;
  } catch (err) {
    sendError(res, err);
    return true;
  }
}
