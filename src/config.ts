/**
 * The controller's configuration: parsed and validated in one place, from an environment
 * passed in (tests pass their own). Every problem is reported at once, naming the variable.
 */
import {ConfigError} from './errors';
import {mergePolicy} from './releases/policy-patch';
import {DEFAULT_POLICY, parsePolicyText, type RolloutPolicy} from './releases/rollout-policy';
import {resolveTargets} from './releases/targets';

/** Settings for services that dropdeploy creates (never applied to existing services). */
export interface ServiceDefaults {
  serviceAccount?: string;
  memory?: string;
  cpu?: string;
  maxInstances?: number;
  ingress: 'INGRESS_TRAFFIC_ALL' | 'INGRESS_TRAFFIC_INTERNAL_ONLY' | 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER';
}

/** The parsed configuration. */
export interface Config {
  projectId: string;
  region: string;
  /** Artifact Registry Docker repository id (in `region`). */
  repository: string;
  /** Status topic id (not the full resource name). */
  statusTopic: string;
  /** Buckets whose archives may be built; nothing outside them is ever read. */
  buckets: string[];
  /** Object-name prefix in front of the service segment, e.g. `deploy/`; '' for none. */
  prefix: string;
  build: {
    serviceAccount?: string;
    machineType?: string;
    timeoutSeconds: number;
    /** Cache images per service in the repository (buildpacks `--cache-image`, docker `--cache-from`); DROPDEPLOY_BUILD_CACHE, default on. */
    cache: boolean;
  };
  service: ServiceDefaults;
  /** Firestore database id and the prefix of dropdeploy's collections. */
  firestore: {databaseId: string; root: string};
  /** How long a step (build start, deploy) may hold its lease before others take over; above the function timeout. */
  leaseSeconds: number;
  /** How long a duplicate delivery waits for another handler's step before asking for redelivery. */
  waitSeconds: number;
  /** The functions' request timeout on Cloud Run (what the installer deploys them with): no handler outlives it. */
  functionTimeoutSeconds: number;
  /** The controller's own Cloud Run services (its functions): never an upload's target. */
  controllerServices: string[];
  /** The reconciler: how long a release or an upload is left to the event path, how far back uploads are looked for. */
  reconcile: {graceSeconds: number; lookbackHours: number};
  /** host:port of local gRPC emulators (plaintext); unset on Google Cloud. */
  endpoints: {cloudBuild?: string; cloudRun?: string; monitoring?: string};
  logFormat: 'json' | 'pretty';
  /** The HTTP API's caller checks. */
  api: ApiConfig;
  /** http://host:port of a local Cloud Storage JSON API; unset on Google Cloud. */
  storageEndpoint?: string;
  /**
   * Load and construct the client libraries right after start instead of on the first request:
   * for instances kept warm (Cloud Run min-instances, the local stack), whose first event should
   * not pay for them. Off by default: a scale-from-zero instance starts fastest loading lazily.
   */
  preloadClients: boolean;
  /** The rollout policy of services that have none stored: DROPDEPLOY_ROLLOUT_POLICY over the built-in `immediate`. */
  rolloutPolicy: RolloutPolicy;
}

/**
 * How the HTTP API authenticates callers: always explicit, never guessed from a request, and
 * refused at start where it would admit more than intended (see {@link apiAuthProblems}).
 */
export interface ApiConfig {
  /**
   * `cloud-run-iam`: the API is private and Cloud Run IAM has verified each caller's ID token
   * (it hands the token on with its signature replaced), which the controller checks, once per
   * instance, by reading its own service's IAM policy; `google-id-token`: the controller verifies
   * every token's signature and audience itself and admits only `adminPrincipals`; `none`: the
   * local stack, on loopback only, never on Cloud Run.
   */
  auth: 'cloud-run-iam' | 'google-id-token' | 'none';
  /** Accepted token audiences (the API's URL, a custom audience or an OAuth client id); never taken from a request. */
  audiences: string[];
  /** If set, only these callers (`user:…`, `serviceAccount:…` or a bare email, any case) may call the API. */
  adminPrincipals: string[];
  /** Where the token signing certificates (PEM JSON) come from; Google's by default. */
  certsUrl?: string;
  /** The Cloud Run service this instance runs as (`K_SERVICE`); unset off Cloud Run. */
  service?: string;
}

const AUTH_MODES: Array<ApiConfig['auth']> = ['cloud-run-iam', 'google-id-token', 'none'];
const MACHINE_TYPES = ['UNSPECIFIED', 'N1_HIGHCPU_8', 'N1_HIGHCPU_32', 'E2_HIGHCPU_8', 'E2_HIGHCPU_32', 'E2_MEDIUM'];
const INGRESS: Record<string, ServiceDefaults['ingress']> = {
  all: 'INGRESS_TRAFFIC_ALL',
  internal: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
  'internal-and-cloud-load-balancing': 'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER',
};
/** Below this a lease is shorter than one slow Cloud Run or Cloud Build call. */
export const MIN_LEASE_SECONDS = 10;
const MIN_FUNCTION_TIMEOUT_SECONDS = 5;
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const ID_RE = /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[a-z]+$/;

/** Parses `env` into a {@link Config}, or throws a {@link ConfigError} listing every problem. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const required = (name: string, what: string, re?: RegExp, alt?: string) => {
    const v = get(name) ?? (alt ? get(alt) : undefined);
    if (!v) problems.push(`${name} is not set: set it to ${what}`);
    else if (re && !re.test(v)) problems.push(`${name}="${v}" is not valid: expected ${what}`);
    return v ?? '';
  };
  const optional = (name: string, what: string, ok: (v: string) => boolean) => {
    const v = get(name);
    if (v !== undefined && !ok(v)) problems.push(`${name}="${v}" is not valid: expected ${what}`);
    return v;
  };
  const integer = (name: string, dflt: number, min: number, max: number) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}="${v}" is not valid: expected a whole number from ${min} to ${max}`);
      return dflt;
    }
    return n;
  };

  const projectId = required(
    'DROPDEPLOY_PROJECT',
    'the Google Cloud project id, e.g. my-project',
    /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
    'GOOGLE_CLOUD_PROJECT',
  );
  const region = required('DROPDEPLOY_REGION', 'a Cloud Run region, e.g. europe-west1', /^[a-z]+-[a-z]+\d+$/);
  const repository = required('DROPDEPLOY_REPOSITORY', 'an Artifact Registry repository id, e.g. dropdeploy', ID_RE);
  const statusTopic = required('DROPDEPLOY_STATUS_TOPIC', 'a Pub/Sub topic id, e.g. dropdeploy-status', /^[A-Za-z][\w.~+%-]{2,254}$/);
  const bucketList = required('DROPDEPLOY_BUCKETS', 'a comma-separated list of source bucket names');
  const buckets = bucketList
    .split(',')
    .map((b) => b.trim().replace(/^gs:\/\//, ''))
    .filter(Boolean);
  for (const b of buckets) {
    if (!BUCKET_RE.test(b)) problems.push(`DROPDEPLOY_BUCKETS: "${b}" is not a valid bucket name`);
  }
  const prefix =
    optional(
      'DROPDEPLOY_PREFIX',
      'an object-name prefix such as deploy/ (no leading slash)',
      (v) => !v.startsWith('/') && !v.includes('..'),
    ) ?? '';

  const machineType = optional('DROPDEPLOY_BUILD_MACHINE_TYPE', `one of ${MACHINE_TYPES.join(', ')}`, (v) => MACHINE_TYPES.includes(v));
  const buildServiceAccount = optional(
    'DROPDEPLOY_BUILD_SERVICE_ACCOUNT',
    'a service account email',
    (v) => EMAIL_RE.test(v) || /^projects\/[^/]+\/serviceAccounts\/[^/]+$/.test(v),
  );
  const runtimeServiceAccount = optional('DROPDEPLOY_RUNTIME_SERVICE_ACCOUNT', 'a service account email', (v) => EMAIL_RE.test(v));
  const memory = optional('DROPDEPLOY_SERVICE_MEMORY', 'a Cloud Run memory limit such as 512Mi or 1Gi', (v) => /^\d+(Mi|Gi)$/.test(v));
  const cpu = optional('DROPDEPLOY_SERVICE_CPU', 'a Cloud Run CPU limit such as 1, 2 or 1000m', (v) => /^(\d+|\d+m)$/.test(v));
  const ingressName = optional('DROPDEPLOY_SERVICE_INGRESS', `one of ${Object.keys(INGRESS).join(', ')}`, (v) => v in INGRESS) ?? 'all';
  const maxInstances =
    get('DROPDEPLOY_SERVICE_MAX_INSTANCES') === undefined ? undefined : integer('DROPDEPLOY_SERVICE_MAX_INSTANCES', 100, 1, 1000);
  const buildCache = optional('DROPDEPLOY_BUILD_CACHE', 'true or false', (v) => v === 'true' || v === 'false');
  const preload = optional('DROPDEPLOY_PRELOAD_CLIENTS', 'true or false', (v) => v === 'true' || v === 'false');
  const logFormat = optional('DROPDEPLOY_LOG_FORMAT', 'json or pretty', (v) => v === 'json' || v === 'pretty');
  const endpoint = (name: string) =>
    optional(name, 'host:port of a local emulator, e.g. 127.0.0.1:9100', (v) => /^[\w.-]+:\d{1,5}$/.test(v));

  const list = (name: string) =>
    (get(name) ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const auth = optional('DROPDEPLOY_API_AUTH', AUTH_MODES.join(', '), (v) => (AUTH_MODES as string[]).includes(v)) ?? 'google-id-token';
  const adminPrincipals = list('DROPDEPLOY_ADMIN_PRINCIPALS');
  for (const p of adminPrincipals) {
    if (!/^((user|serviceAccount):)?[^@:\s]+@[^@\s]+$/.test(p))
      problems.push(`DROPDEPLOY_ADMIN_PRINCIPALS: "${p}" is not user:EMAIL, serviceAccount:EMAIL or an email`);
  }
  const audiences = list('DROPDEPLOY_API_AUDIENCE');
  // A URL (the API's own, or a custom audience), or an OAuth client id: gcloud's user tokens
  // (`gcloud auth print-identity-token`) carry gcloud's client id as their audience.
  for (const a of audiences) {
    if (!/^https?:\/\/\S+$/.test(a) && !/^[\w-]+\.apps\.googleusercontent\.com$/.test(a))
      problems.push(`DROPDEPLOY_API_AUDIENCE: "${a}" is neither a URL nor an OAuth client id (….apps.googleusercontent.com)`);
  }
  // A lease must outlive any handler holding it: a handler frozen past the function timeout
  // must not still hold a lease it could act on. The rollout wait and the wait for a busy
  // step end inside the timeout (see `durations`).
  const functionTimeoutSeconds = integer('DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS', 540, MIN_FUNCTION_TIMEOUT_SECONDS, 3600);
  const leaseSeconds = integer('DROPDEPLOY_LEASE_SECONDS', 900, MIN_LEASE_SECONDS, 7200);
  if (get('DROPDEPLOY_LEASE_SECONDS') !== undefined && leaseSeconds <= functionTimeoutSeconds) {
    problems.push(
      `DROPDEPLOY_LEASE_SECONDS=${leaseSeconds} is not valid: it must be greater than the function timeout (DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS=${functionTimeoutSeconds}), or a handler could still act after its lease was taken over`,
    );
  } else if (leaseSeconds <= functionTimeoutSeconds) {
    problems.push(
      `DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS=${functionTimeoutSeconds} is not below the default lease of ${leaseSeconds}s: set DROPDEPLOY_LEASE_SECONDS above it`,
    );
  }
  const waitSeconds = integer('DROPDEPLOY_WAIT_SECONDS', Math.min(60, Math.floor(functionTimeoutSeconds / 2)), 0, 3600);
  if (waitSeconds >= functionTimeoutSeconds) {
    problems.push(
      `DROPDEPLOY_WAIT_SECONDS=${waitSeconds} is not valid: a handler's wait must end before the function timeout (DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS=${functionTimeoutSeconds})`,
    );
  }
  // Set by Cloud Run (and Knative) in every container; never set by dropdeploy itself.
  const runService = optional('K_SERVICE', 'a Cloud Run service name (Cloud Run sets it)', (v) =>
    /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(v),
  );
  const controllerServices = [...new Set([...list('DROPDEPLOY_CONTROLLER_SERVICES'), ...(runService ? [runService] : [])])];
  for (const s of list('DROPDEPLOY_CONTROLLER_SERVICES')) {
    if (!ID_RE.test(s)) problems.push(`DROPDEPLOY_CONTROLLER_SERVICES: "${s}" is not a Cloud Run service name`);
  }
  if ((AUTH_MODES as string[]).includes(auth))
    problems.push(...apiAuthProblems({auth: auth as ApiConfig['auth'], audiences, adminPrincipals, runService}));
  const rolloutPolicy = rolloutDefault(get('DROPDEPLOY_ROLLOUT_POLICY'), problems);
  const targets = resolveTargets(rolloutPolicy, {region, project: projectId});
  if (!targets.ok) problems.push(`DROPDEPLOY_ROLLOUT_POLICY ${targets.message}`);
  const httpUrl = (name: string) => optional(name, 'an http(s) URL', (v) => /^https?:\/\/[^\s/]+(\/\S*)?$/.test(v));

  const config: Config = {
    projectId,
    region,
    repository,
    statusTopic,
    buckets,
    prefix: prefix && !prefix.endsWith('/') ? prefix + '/' : prefix,
    build: {
      serviceAccount: buildServiceAccount,
      machineType,
      timeoutSeconds: integer('DROPDEPLOY_BUILD_TIMEOUT_SECONDS', 1200, 60, 86400),
      cache: buildCache !== 'false',
    },
    service: {serviceAccount: runtimeServiceAccount, memory, cpu, maxInstances, ingress: INGRESS[ingressName] ?? 'INGRESS_TRAFFIC_ALL'},
    firestore: {
      databaseId:
        optional('DROPDEPLOY_FIRESTORE_DATABASE', 'a Firestore database id', (v) => /^(\(default\)|[a-z][a-z0-9-]{2,62})$/.test(v)) ??
        '(default)',
      root:
        optional('DROPDEPLOY_FIRESTORE_ROOT', 'a collection-name prefix of letters, digits, - and _', (v) =>
          /^[A-Za-z][\w-]{0,40}$/.test(v),
        ) ?? 'dropdeploy',
    },
    leaseSeconds,
    waitSeconds,
    functionTimeoutSeconds,
    controllerServices,
    reconcile: {
      graceSeconds: integer('DROPDEPLOY_RECONCILE_GRACE_SECONDS', 120, 1, 86400),
      lookbackHours: integer('DROPDEPLOY_RECONCILE_LOOKBACK_HOURS', 24, 1, 24 * 90),
    },
    endpoints: {
      cloudBuild: endpoint('DROPDEPLOY_CLOUD_BUILD_ENDPOINT'),
      cloudRun: endpoint('DROPDEPLOY_CLOUD_RUN_ENDPOINT'),
      monitoring: endpoint('DROPDEPLOY_MONITORING_ENDPOINT'),
    },
    logFormat: (logFormat as Config['logFormat'] | undefined) ?? 'json',
    api: {
      auth: auth as ApiConfig['auth'],
      audiences,
      adminPrincipals,
      certsUrl: httpUrl('DROPDEPLOY_ID_TOKEN_CERTS_URL'),
      service: runService,
    },
    storageEndpoint: httpUrl('DROPDEPLOY_STORAGE_ENDPOINT'),
    preloadClients: preload === 'true',
    rolloutPolicy,
  };
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** DROPDEPLOY_ROLLOUT_POLICY (a strategy name, or a JSON policy, possibly partial) over the built-in default. */
function rolloutDefault(text: string | undefined, problems: string[]): RolloutPolicy {
  if (text === undefined) return DEFAULT_POLICY;
  const parsed = parsePolicyText(text);
  if (parsed.ok) return mergePolicy(DEFAULT_POLICY, parsed.policy);
  for (const p of parsed.problems)
    problems.push(
      p.field === 'policy'
        ? `DROPDEPLOY_ROLLOUT_POLICY ${p.problem}: set it to a strategy (immediate, verified, canary) or a JSON policy such as {"strategy":"canary","steps":[10,50,100]}`
        : `DROPDEPLOY_ROLLOUT_POLICY field ${p.field} ${p.problem}`,
    );
  return DEFAULT_POLICY;
}

/** The durations derived from the configured seconds, in milliseconds: the one place they are computed. */
export interface Durations {
  /** A step's lease (build start, deploy lock). */
  leaseMs: number;
  /** How long a delivery waits for another's step. */
  waitMs: number;
  /** How long one handler may run: the function timeout less a reserve for recording its outcome. */
  handlerMs: number;
  /** How often a held lease is renewed while its holder waits. */
  renewEveryMs: number;
  /** How long the reconciler leaves a release or an upload to the event path. */
  graceMs: number;
  /** How far back the reconciler looks for uploads no event announced. */
  lookbackMs: number;
}

/** The derived durations of `c` (see {@link Durations}). */
export function durations(c: Pick<Config, 'leaseSeconds' | 'waitSeconds' | 'functionTimeoutSeconds' | 'reconcile'>): Durations {
  const timeoutMs = c.functionTimeoutSeconds * 1000;
  // The reserve covers what follows the rollout: recording it and publishing its events.
  const reserveMs = Math.min(30_000, Math.round(timeoutMs / 5));
  return {
    leaseMs: c.leaseSeconds * 1000,
    waitMs: c.waitSeconds * 1000,
    handlerMs: timeoutMs - reserveMs,
    renewEveryMs: Math.round((c.leaseSeconds * 1000) / 3),
    graceMs: c.reconcile.graceSeconds * 1000,
    lookbackMs: c.reconcile.lookbackHours * 3_600_000,
  };
}

/**
 * Why an API auth setting may not start: every mode refuses where it would admit callers that
 * nothing checked. `runService` is K_SERVICE, which Cloud Run sets in every container.
 */
export function apiAuthProblems(a: {
  auth: ApiConfig['auth'];
  audiences: string[];
  adminPrincipals: string[];
  runService?: string;
}): string[] {
  switch (a.auth) {
    case 'none':
      return a.runService === undefined
        ? []
        : [
            `DROPDEPLOY_API_AUTH=none is refused on Cloud Run (K_SERVICE=${a.runService} is set): it admits every caller as "local" and is meant for the local stack on loopback only; set DROPDEPLOY_API_AUTH=cloud-run-iam (the installer's setting) or google-id-token`,
          ];
    case 'google-id-token': {
      const needs = 'DROPDEPLOY_API_AUTH=google-id-token needs';
      return [
        ...(a.audiences.length
          ? []
          : [
              `DROPDEPLOY_API_AUDIENCE is not set: ${needs} the audience callers mint their tokens for, e.g. the API's URL (gcloud auth print-identity-token --audiences=URL); the request's Host header is never trusted for it`,
            ]),
        ...(a.adminPrincipals.length
          ? []
          : [
              `DROPDEPLOY_ADMIN_PRINCIPALS is not set: ${needs} the callers it admits (user:EMAIL or serviceAccount:EMAIL, comma-separated); without it any Google account could call the API`,
            ]),
      ];
    }
    case 'cloud-run-iam':
      return a.runService !== undefined
        ? []
        : [
            'DROPDEPLOY_API_AUTH=cloud-run-iam needs K_SERVICE, which Cloud Run sets: off Cloud Run no Cloud Run IAM checks callers, and their unsigned tokens would be trusted; use DROPDEPLOY_API_AUTH=google-id-token (with DROPDEPLOY_API_AUDIENCE and DROPDEPLOY_ADMIN_PRINCIPALS) or none (loopback only)',
          ];
  }
}
