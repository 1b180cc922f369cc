/**
 * The environment that points the gcloud CLI at the local stack, published in
 * `.dropdeploy/local.json` as `gcloud`: endpoint overrides (http:// URLs ending in '/', as
 * gcloud requires), the stack's project and region, an access token file (gcloud wants
 * credentials; any token does, and no account is needed), a config folder of the stack's own
 * (the user's gcloud configuration stays untouched), no prompts and no usage reporting, and
 * the loopback proxy that takes `gcloud run`'s region-prefixed host back to 127.0.0.1
 * (local/gcloud-proxy.ts).
 */

/** What the stack knows of itself for gcloud. */
export interface GcloudTargets {
  project: string;
  region: string;
  /** The Cloud Run API (v1 routes) base URL, e.g. `http://127.0.0.1:8123`. */
  runUrl: string;
  /** The Cloud Storage JSON API base URL. */
  storageUrl: string;
  proxyPort: number;
  tokenFile: string;
  configDir: string;
}

const slash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

/** The `CLOUDSDK_*` variables for `targets`. */
export function gcloudEnv(t: GcloudTargets): Record<string, string> {
  return {
    CLOUDSDK_CONFIG: t.configDir,
    CLOUDSDK_CORE_PROJECT: t.project,
    CLOUDSDK_RUN_REGION: t.region,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: t.tokenFile,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: slash(t.runUrl),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: slash(t.storageUrl),
    CLOUDSDK_PROXY_TYPE: 'http',
    CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
    CLOUDSDK_PROXY_PORT: String(t.proxyPort),
  };
}
