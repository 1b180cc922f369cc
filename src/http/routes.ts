/**
 * The API's routes, parsed from method and path. Pure. A path that looks like a route but
 * carries a bad service name or release number is a 400 naming the field, never a 404.
 */
import {previewNameProblem, serviceNameProblem} from '../releases/naming';
import type {RolloutAction} from '../releases/rollout';
import {ApiError} from './errors';

/** A matched route. */
export type Route =
  | {kind: 'listServices'}
  | {kind: 'listReleases'; service: string}
  | {kind: 'getRelease'; service: string; release: number}
  | {kind: 'redeploy'; service: string}
  | {kind: 'rollback'; service: string}
  | {kind: 'getEnv'; service: string}
  | {kind: 'patchEnv'; service: string}
  | {kind: 'controlRollout'; service: string; release: number; action: RolloutAction}
  | {kind: 'getPolicy'; service: string}
  | {kind: 'patchPolicy'; service: string}
  | {kind: 'listPreviews'; service: string}
  | {kind: 'deletePreview'; service: string; preview: string};

const ALLOWED: Record<Route['kind'], string> = {
  listServices: 'GET',
  listReleases: 'GET',
  getRelease: 'GET',
  redeploy: 'POST',
  rollback: 'POST',
  getEnv: 'GET',
  patchEnv: 'PATCH',
  controlRollout: 'POST',
  getPolicy: 'GET',
  patchPolicy: 'PATCH',
  listPreviews: 'GET',
  deletePreview: 'DELETE',
};

function service(raw: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw ApiError.invalid('service', `"${raw}" is not a valid path segment`);
  }
  const problem = serviceNameProblem(name);
  if (problem) throw ApiError.invalid('service', problem);
  return name;
}

function previewName(raw: string, svc: string): string {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    throw ApiError.invalid('preview', `"${raw}" is not a valid path segment`);
  }
  const problem = previewNameProblem(name, svc);
  if (problem) throw ApiError.invalid('preview', problem);
  return name;
}

function releaseNumber(raw: string): number {
  const n = /^[1-9]\d{0,8}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw ApiError.invalid('release', `"${raw}" is not a release number (1, 2, 3 …)`);
  return n;
}

/** Matches `method path` to a route; throws 404 for unknown paths and 405 for a wrong method. */
export function matchRoute(method: string, path: string): Route {
  const p = path.replace(/\/+$/, '') || '/';
  let route: Route | undefined;
  let m: RegExpExecArray | null;
  // One resource, two methods: GET reads it, PATCH changes it.
  if ((m = /^\/v1\/services\/(.+)\/(env|policy)$/.exec(p))) {
    const [get, patch] = m[2] === 'env' ? (['getEnv', 'patchEnv'] as const) : (['getPolicy', 'patchPolicy'] as const);
    if (method === 'GET' || method === 'PATCH') return {kind: method === 'GET' ? get : patch, service: service(m[1])};
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use GET or PATCH`, {allow: 'GET, PATCH'});
  }
  if (p === '/v1/services') route = {kind: 'listServices'};
  else if ((m = /^\/v1\/services\/([^/]+)\/previews$/.exec(p))) route = {kind: 'listPreviews', service: service(m[1])};
  else if ((m = /^\/v1\/services\/([^/]+)\/previews\/([^/]+)$/.exec(p))) {
    const svc = service(m[1]);
    route = {kind: 'deletePreview', service: svc, preview: previewName(m[2], svc)};
  } else if ((m = /^\/v1\/services\/(.+):(redeploy|rollback)$/.exec(p)))
    route = {kind: m[2] as 'redeploy' | 'rollback', service: service(m[1])};
  else if ((m = /^\/v1\/services\/(.+)\/releases\/([^/:]+):(promote|abort|pause|resume)$/.exec(p)))
    route = {kind: 'controlRollout', service: service(m[1]), release: releaseNumber(m[2]), action: m[3] as RolloutAction};
  else if ((m = /^\/v1\/services\/(.+)\/releases\/([^/:]+):([^/]*)$/.exec(p)))
    throw ApiError.notFound(`unknown method ":${m[3]}"; use :promote, :abort, :pause or :resume`);
  else if ((m = /^\/v1\/services\/(.+)\/releases\/([^/]+)$/.exec(p)))
    route = {kind: 'getRelease', service: service(m[1]), release: releaseNumber(m[2])};
  else if ((m = /^\/v1\/services\/(.+)\/releases$/.exec(p))) route = {kind: 'listReleases', service: service(m[1])};
  else if ((m = /^\/v1\/services\/([^/]+):([^/]*)$/.exec(p)))
    throw ApiError.notFound(`unknown method ":${m[2]}"; use :redeploy or :rollback`);
  if (!route) throw ApiError.notFound(`no route for ${method} ${path}; see GET /v1/services`);
  if (method !== ALLOWED[route.kind])
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${ALLOWED[route.kind]}`, {
      allow: ALLOWED[route.kind],
    });
  return route;
}
