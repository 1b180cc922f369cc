/**
 * The API client: one method per route, JSON in and out. Errors become {@link CliError}s that
 * say what to do. 503 answers and network failures are retried with backoff; a POST or PATCH keeps
 * its Idempotency-Key across retries, so a retry resumes the release the first attempt
 * started instead of starting another.
 */
import type {SourceRef} from './args';
import type {EnvChangeArgs} from './env-args';
import type {PolicyChangeArgs} from './policy-args';
import {ApiCallError, CliError} from './errors';
import {isLocalUrl} from './auth';
import type {ApiEnv, ApiPolicy, ApiPreview, ApiRelease, ApiService, ReleasePage} from './types';

/** What the client needs from its surroundings. */
export interface ClientOptions {
  baseUrl: string;
  /** Authorization headers, asked for before each request. */
  headers: () => Promise<Record<string, string>>;
  /** Waits between retries; the length of the list is the number of retries. */
  retryDelaysMs?: readonly number[];
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

const DEFAULT_RETRY_DELAYS_MS = [500, 1500, 4000];

/** A client of one controller API. */
export class ApiClient {
  private readonly retryDelaysMs: readonly number[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.retryDelaysMs = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.fetch = opts.fetch ?? fetch;
  }

  /** `GET /v1/services`. */
  async listServices(): Promise<ApiService[]> {
    return (await this.call<{services: ApiService[]}>('GET', '/v1/services')).services;
  }

  /** One page of `GET /v1/services/{service}/releases`, newest first. */
  listReleases(service: string, pageSize: number, pageToken?: string): Promise<ReleasePage> {
    const q = new URLSearchParams({pageSize: String(pageSize), ...(pageToken ? {pageToken} : {})});
    return this.call('GET', `/v1/services/${encodeURIComponent(service)}/releases?${q.toString()}`, undefined, service);
  }

  /** `GET /v1/services/{service}/releases/{n}`. */
  getRelease(service: string, release: number): Promise<ApiRelease> {
    return this.call('GET', `/v1/services/${encodeURIComponent(service)}/releases/${release}`, undefined, service);
  }

  /** `POST /v1/services/{service}:redeploy`. */
  redeploy(service: string, source: SourceRef | undefined, idempotencyKey: string): Promise<ApiRelease> {
    return this.call('POST', `/v1/services/${encodeURIComponent(service)}:redeploy`, source ? {source} : {}, service, idempotencyKey);
  }

  /** `POST /v1/services/{service}:rollback`. */
  rollback(service: string, release: number, idempotencyKey: string): Promise<ApiRelease> {
    return this.call('POST', `/v1/services/${encodeURIComponent(service)}:rollback`, {release}, service, idempotencyKey);
  }

  /** `GET /v1/services/{service}/env`. */
  getEnv(service: string): Promise<ApiEnv> {
    return this.call('GET', `/v1/services/${encodeURIComponent(service)}/env`, undefined, service);
  }

  /** `PATCH /v1/services/{service}/env`: a config release. */
  patchEnv(service: string, change: EnvChangeArgs, idempotencyKey: string): Promise<ApiRelease> {
    const body = {...(Object.keys(change.set).length ? {set: {...change.set}} : {}), ...(change.unset.length ? {unset: change.unset} : {})};
    return this.call('PATCH', `/v1/services/${encodeURIComponent(service)}/env`, body, service, idempotencyKey);
  }

  /** `GET /v1/services/{service}/policy`. */
  /** `GET /v1/services/{service}/previews`. */
  listPreviews(service: string): Promise<{previews: ApiPreview[]}> {
    return this.call('GET', `/v1/services/${encodeURIComponent(service)}/previews`, undefined, service);
  }

  /** `DELETE /v1/services/{service}/previews/{name}`: idempotent. */
  deletePreview(service: string, name: string): Promise<{removed: boolean; detail: string}> {
    return this.call('DELETE', `/v1/services/${encodeURIComponent(service)}/previews/${encodeURIComponent(name)}`, undefined, service);
  }

  getPolicy(service: string): Promise<ApiPolicy> {
    return this.call('GET', `/v1/services/${encodeURIComponent(service)}/policy`, undefined);
  }

  /** `PATCH /v1/services/{service}/policy?updateMask=…`: exactly the fields of `change.mask`. */
  patchPolicy(service: string, change: PolicyChangeArgs): Promise<ApiPolicy> {
    const q = new URLSearchParams({updateMask: change.mask.join(',')});
    return this.call('PATCH', `/v1/services/${encodeURIComponent(service)}/policy?${q.toString()}`, change.body);
  }

  /** `POST /v1/services/{service}/releases/{n}:<action>`: an operator's action on a rollout. */
  controlRollout(service: string, release: number, action: 'promote' | 'abort' | 'pause' | 'resume'): Promise<ApiRelease> {
    return this.call('POST', `/v1/services/${encodeURIComponent(service)}/releases/${release}:${action}`, {}, service);
  }

  private async call<T>(method: string, path: string, body?: unknown, service?: string, idempotencyKey?: string): Promise<T> {
    const url = this.opts.baseUrl + path;
    for (let attempt = 0; ; attempt++) {
      const retryIn = this.retryDelaysMs[attempt];
      let res: Response;
      try {
        const headers: Record<string, string> = {accept: 'application/json', ...(await this.opts.headers())};
        if (body !== undefined) headers['content-type'] = 'application/json';
        if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
        res = await this.fetch(url, {method, headers, ...(body !== undefined ? {body: JSON.stringify(body)} : {})});
      } catch (err) {
        if (err instanceof CliError) throw err;
        const problem = networkProblem(this.opts.baseUrl, err);
        // Nothing listens on a local port that refuses: waiting will not change that.
        if (retryIn === undefined || problem.refusedLocally) throw new CliError(problem.message);
        await this.sleep(retryIn);
        continue;
      }
      const text = await res.text();
      if (res.ok) return parse<T>(text, method, url);
      if (res.status === 503 && retryIn !== undefined) {
        await this.sleep(retryIn);
        continue;
      }
      throw explain(res.status, text, service);
    }
  }
}

function parse<T>(text: string, method: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${method} ${url} answered something that is not JSON: ${text.slice(0, 200)}; is --url the dropdeploy API?`);
  }
}

function networkProblem(baseUrl: string, err: unknown): {message: string; refusedLocally: boolean} {
  const cause = (err as {cause?: {code?: string; message?: string}}).cause;
  const code = cause?.code ?? '';
  const detail = cause?.message ?? (err as Error).message;
  if (code === 'ECONNREFUSED' && isLocalUrl(baseUrl)) {
    return {message: `cannot reach the dropdeploy API at ${baseUrl} (connection refused): is \`npm start\` running?`, refusedLocally: true};
  }
  return {
    message: `cannot reach the dropdeploy API at ${baseUrl}: ${detail}; check the URL and your network, then try again`,
    refusedLocally: false,
  };
}

/** Turns an error answer into a message that says what to do. */
export function explain(httpStatus: number, text: string, service?: string): ApiCallError {
  let status = 'UNKNOWN';
  let message = text.slice(0, 300) || `HTTP ${httpStatus}`;
  try {
    const e = (JSON.parse(text) as {error?: {status?: string; message?: string}}).error;
    if (e?.message) message = e.message;
    if (e?.status) status = e.status;
  } catch {
    /* not the API's JSON: keep the raw text */
  }
  if (httpStatus === 404 && service !== undefined && message.startsWith('dropdeploy manages no service')) {
    return new ApiCallError(`dropdeploy manages no service ${service}; see \`dropdeploy services\``, httpStatus, status);
  }
  if (httpStatus === 401 || httpStatus === 403) {
    return new ApiCallError(
      `the API refused the call (${httpStatus} ${status}): ${message}\n` +
        "Callers need roles/run.invoker on the dropdeploy API's Cloud Run service, and must be listed in " +
        'DROPDEPLOY_ADMIN_PRINCIPALS when the controller sets it.',
      httpStatus,
      status,
    );
  }
  if (httpStatus === 503) return new ApiCallError(`the API is unavailable (503): ${message}; try again in a minute`, httpStatus, status);
  return new ApiCallError(`${message} (${httpStatus} ${status})`, httpStatus, status);
}
