/**
 * The HTTP API for operators, Google-API shaped, JSON in and out:
 *   GET  /v1/services                                    services and their deployed release
 *   GET  /v1/services/{service}/releases?pageSize=&pageToken=   newest first
 *   GET  /v1/services/{service}/releases/{n}
 *   POST /v1/services/{service}:redeploy   {} | {"source": {"bucket","object","generation"}}
 *   POST /v1/services/{service}:rollback   {"release": N}
 *   GET  /v1/services/{service}/env        the serving container's environment
 *   PATCH /v1/services/{service}/env       {"set": {"NAME": "value"}, "unset": ["NAME"]}: a config release
 *   POST /v1/services/{service}/releases/{n}:promote|:abort|:pause|:resume   a rollout's operator actions
 *   GET  /v1/services/{service}/policy     the rollout policy: effective, stored, and who changed it when
 *   PATCH /v1/services/{service}/policy?updateMask=steps,check.path   a partial policy
 *   GET  /v1/services/{service}/previews   the previews and their own URLs
 *   DELETE /v1/services/{service}/previews/{name}   removes a preview's tag (idempotent)
 *   GET  /  and  /ui/…                     the dashboard (a page that reads the API above)
 * A repeated POST or PATCH with the same Idempotency-Key starts no second release. A request
 * that changes something must not come from another site's page (request-origin.ts).
 */
import {createHash, randomUUID, scrypt} from 'node:crypto';
import type {Request, Response} from '@google-cloud/functions-framework';
import {newCtx, type Deps} from '../controller/deps';
import {serviceEnv} from '../controller/env';
import {runRolloutStep} from '../controller/rollout';
import {changeEnv, redeploy, rollback, type Idempotency} from '../controller/manual';
import {changePolicy, servicePolicy} from '../controller/policy';
import {removePreview} from '../controller/preview';
import {type Logger, traceName} from '../log';
import type {Release} from '../releases/release';
import {authenticate} from './auth';
import {guardedBody} from './body-guard';
import {API_BODY_LIMITS} from './body-policies';
import {isDashboardPath, serveDashboard} from './dashboard';
import {ApiError, toApiError} from './errors';
import {InvokerGate} from './invoker-gate';
import {headerProblem, parseJsonBody} from './json-body';
import {requestOriginProblem} from './request-origin';
import {matchRoute} from './routes';
import {envBody, redeployBody, rollbackBody, updateMaskOf} from './validate';

export {MAX_BODY_BYTES} from './body-policies';
const MAX_PAGE = 100;

/** A release as the API shows it (outbox bookkeeping left out). */
export function releaseView(r: Release): Omit<Release, 'published'> {
  const {published: _p, ...view} = r;
  return view;
}

// One check per Deps, and an instance has one Deps: so once per instance (tests make more).
const gates = new WeakMap<Deps, InvokerGate>();

/** In mode cloud-run-iam, that Cloud Run IAM really guards the API's own service (503 otherwise). */
async function checkInvokers(deps: Deps): Promise<void> {
  const {api, projectId, region} = deps.config;
  if (api.auth !== 'cloud-run-iam') return;
  let gate = gates.get(deps);
  if (!gate) {
    // parseConfig refuses cloud-run-iam without K_SERVICE, so `service` is set here.
    const service = api.service!;
    gate = new InvokerGate(
      async () => (await deps.invokerPolicy()).read(service),
      `projects/${projectId}/locations/${region}/services/${service}`,
      () => deps.now(),
    );
    gates.set(deps, gate);
  }
  await gate.check();
}

/** Handles one HTTP request. */
export async function handleHttp(deps: Deps, req: Request, res: Response, root: Logger): Promise<void> {
  const trace = traceName(deps.config.projectId, req.get('traceparent'), req.get('x-cloud-trace-context'));
  const log = root.withTrace(trace).with({method: req.method, path: req.path});
  // Releases and environments: no browser or proxy keeps an answer (the page sets its own).
  res.set({'cache-control': 'no-store', 'x-content-type-options': 'nosniff'});
  try {
    await checkInvokers(deps);
    const crossSite = requestOriginProblem(req.method, req.headers, {loopbackOnly: deps.config.api.auth === 'none'});
    if (crossSite) throw new ApiError(403, 'PERMISSION_DENIED', crossSite);
    if (isDashboardPath(req.path)) {
      // The page holds no data, but it is answered as the data is: to callers the API admits.
      await authenticate(deps.config.api, req.headers, deps.now());
      serveDashboard(req, res);
      return;
    }
    const route = matchRoute(req.method, req.path);
    const caller = await authenticate(deps.config.api, req.headers, deps.now());
    const store = await deps.store();
    const ctx = newCtx(deps, log.with({actor: caller.actor}));
    switch (route.kind) {
      case 'listServices': {
        res.json({services: await store.listServices()});
        return;
      }
      case 'listReleases': {
        const {pageSize, below} = paging(req.query);
        if (!(await store.getService(route.service))) throw ApiError.notFound(`dropdeploy manages no service "${route.service}"`);
        const page = await store.listReleases(route.service, pageSize, below);
        res.json({releases: page.releases.map(releaseView), ...(page.next !== undefined ? {nextPageToken: pageToken(page.next)} : {})});
        return;
      }
      case 'getRelease': {
        const r = await store.get(route.service, route.release);
        if (!r) {
          const known = await store.getService(route.service);
          throw ApiError.notFound(
            known
              ? `release ${route.release} of "${route.service}" does not exist (the newest is ${known.lastRelease})`
              : `dropdeploy manages no service "${route.service}"`,
          );
        }
        res.json(releaseView(r));
        return;
      }
      case 'redeploy':
      case 'rollback': {
        const body = jsonBody(req);
        const idempotency = idempotencyOf(req, route.kind, route.service, body);
        res.set('idempotency-key', idempotency.key);
        const result =
          route.kind === 'redeploy'
            ? await redeploy(ctx, route.service, {actor: caller.actor, source: redeployBody(body).source, idempotency})
            : await rollback(ctx, route.service, rollbackBody(body).release, {actor: caller.actor, idempotency});
        res.status(202).json(releaseView(result.release));
        return;
      }
      case 'getEnv': {
        res.json(await serviceEnv(ctx, route.service));
        return;
      }
      case 'controlRollout': {
        jsonBody(req); // none is needed; a malformed one is still refused
        const r = await store.get(route.service, route.release);
        if (!r) throw ApiError.notFound(`release ${route.release} of "${route.service}" does not exist`);
        const after = await runRolloutStep(ctx, r, {action: route.action, by: caller.actor});
        res.json(releaseView(after));
        return;
      }
      case 'patchEnv': {
        const change = envBody(jsonBody(req));
        // Secret values count (a new value under the same key is another request), slow-hashed.
        const idempotency = await secretIdempotencyOf(req, route.kind, route.service, change);
        res.set('idempotency-key', idempotency.key);
        const result = await changeEnv(ctx, route.service, change, {actor: caller.actor, idempotency});
        res.status(202).json(releaseView(result.release));
        return;
      }
      case 'getPolicy': {
        res.json(await servicePolicy(ctx, route.service));
        return;
      }
      case 'listPreviews': {
        const previews = await store.listPreviews(route.service);
        if (!previews) throw ApiError.notFound(`dropdeploy manages no service "${route.service}"`);
        res.json({previews});
        return;
      }
      case 'deletePreview': {
        if (!(await store.getService(route.service))) throw ApiError.notFound(`dropdeploy manages no service "${route.service}"`);
        const result = await removePreview(ctx, route.service, route.preview, {actor: caller.actor});
        res.json({service: route.service, preview: route.preview, ...result});
        return;
      }
      case 'patchPolicy': {
        const mask = updateMaskOf(req.query);
        res.json(await changePolicy(ctx, route.service, jsonBody(req), mask, caller.actor));
        return;
      }
    }
  } catch (err) {
    const e = toApiError(err);
    if (e.httpStatus >= 500) log.error(`API ${req.method} ${req.path} failed: ${e.message}`);
    else log.info(`API ${req.method} ${req.path} refused (${e.httpStatus}): ${e.message}`);
    for (const [k, v] of Object.entries(e.headers)) res.set(k, v);
    res.status(e.httpStatus).json(e.body());
  }
}

/**
 * The JSON body of a POST: as the body guard read and checked it, before the framework could
 * (src/index.ts puts the guard in front). Where no guard ran, the framework parsed the body
 * already, and the same rules are applied to its raw bytes; an empty body is `{}`.
 */
function jsonBody(req: Request): unknown {
  const guarded = guardedBody(req);
  if (guarded) return guarded.value ?? {};
  const raw = req.rawBody ?? Buffer.alloc(0);
  const verdict = parseJsonBody(raw, API_BODY_LIMITS);
  const problem = headerProblem(req.headers, API_BODY_LIMITS) ?? (verdict.ok ? undefined : verdict.problem);
  if (problem) throw new ApiError(problem.status, 'INVALID_ARGUMENT', problem.reason);
  return verdict.ok && verdict.value !== undefined ? verdict.value : {};
}

/**
 * The request's Idempotency-Key, or a new one: every manual release can then be resumed by
 * repeating the request with the key the answer names (a 503 says which).
 */
function idempotencyOf(req: Request, action: string, service: string, body: unknown): Idempotency {
  const given = req.get('idempotency-key');
  if (given !== undefined && !/^[\x21-\x7e]{1,128}$/.test(given))
    throw ApiError.invalid('Idempotency-Key', 'must be 1 to 128 visible ASCII characters');
  return {
    key: given ?? `dd-${randomUUID()}`,
    requestHash: createHash('sha256')
      .update(JSON.stringify([action, service, body]))
      .digest('hex'),
  };
}

/**
 * As {@link idempotencyOf}, for a body that may hold secret values (an env change). The hash is
 * stored next to the key, so a fast hash of a low-entropy secret could be reversed by guessing
 * from the store: it is scrypt (N=2^14, r=8: about 30 ms and 16 MiB once per request), salted
 * with the service and key so equal bodies under other keys hash apart. A keyed hash (HMAC)
 * would be stronger, but no key exists that every instance shares and the store does not hold.
 * The hash is never published or logged.
 */
async function secretIdempotencyOf(req: Request, action: string, service: string, body: unknown): Promise<Idempotency> {
  const {key} = idempotencyOf(req, action, service, body);
  const salt = createHash('sha256').update(`dropdeploy-request\n${service}\n${key}`).digest();
  const hash = await new Promise<Buffer>((resolve, reject) =>
    scrypt(JSON.stringify([action, service, body]), salt, 32, {N: 1 << 14, r: 8, p: 1}, (err, out) => (err ? reject(err) : resolve(out))),
  );
  return {key, requestHash: `scrypt:${hash.toString('hex')}`};
}

function paging(query: Request['query']): {pageSize: number; below?: number} {
  const size = query.pageSize === undefined ? 20 : Number(query.pageSize);
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE)
    throw ApiError.invalid('pageSize', `must be a whole number from 1 to ${MAX_PAGE}`);
  if (query.pageToken === undefined || query.pageToken === '') return {pageSize: size};
  const below =
    typeof query.pageToken === 'string'
      ? Number(
          Buffer.from(query.pageToken, 'base64url')
            .toString('utf8')
            .replace(/^below:/, ''),
        )
      : NaN;
  if (!Number.isSafeInteger(below) || below < 1) throw ApiError.invalid('pageToken', 'is not a token from a previous answer');
  return {pageSize: size, below};
}

function pageToken(below: number): string {
  return Buffer.from(`below:${below}`).toString('base64url');
}
