/**
 * The environment that points the real gcloud CLI at the local stack, published in
 * `.dropdeploy/local.json` as `gcloud` and printed by `npm start` as `export` lines; the tests
 * run gcloud with exactly these. Each API's endpoint override (gcloud sends plain HTTP/1.1
 * REST to an `http://` override; the URL must end in '/'), the stack's project and region, an
 * access token file (gcloud wants credentials; the stack checks none, so no Google account is
 * needed), a config folder of the stack's own (the user's gcloud configuration stays
 * untouched), no prompts and no usage reporting, and the loopback proxy that takes `gcloud
 * run`'s region-prefixed host back to 127.0.0.1 (local/gcloud-proxy.ts). Pure.
 */

/** The stack's REST endpoints, proxy, token file and config folder, as the stack started them. */
export interface GcloudTargets {
  project: string;
  region: string;
  cloudBuild: string;
  /** The Cloud Run REST server: v2 and the v1 (Knative) routes. */
  run: string;
  monitoring: string;
  logging: string;
  /** The local Cloud Storage JSON API (its `/storage/v1/` is the override). */
  storage: string;
  proxyPort: number;
  tokenFile: string;
  configDir: string;
}

// gcloud joins the override and the API's relative path: it must end with a slash.
const base = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** Variable name → value, in the order `npm start` prints them. */
export function gcloudEnv(t: GcloudTargets): Record<string, string> {
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD: base(t.cloudBuild),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: base(t.run),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING: base(t.monitoring),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING: base(t.logging),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: `${base(t.storage)}storage/v1/`,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: t.tokenFile,
    CLOUDSDK_CORE_PROJECT: t.project,
    CLOUDSDK_RUN_REGION: t.region,
    CLOUDSDK_CONFIG: t.configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_PROXY_TYPE: 'http',
    CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
    CLOUDSDK_PROXY_PORT: String(t.proxyPort),
  };
}

// Single quotes keep every character but a single quote, which closes, escapes and reopens.
const shellQuote = (v: string) => (/^[A-Za-z0-9_./:@=-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** `export NAME=value` lines for a POSIX shell. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
}
