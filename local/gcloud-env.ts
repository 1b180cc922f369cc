/**
 * The environment that points the real gcloud CLI at the local stack: each API's endpoint
 * override (gcloud sends plain HTTP/1.1 REST to an `http://` override), an access token file
 * (gcloud wants credentials but the stack checks none, so no Google account is needed), and the
 * local project. `npm start` prints these as `export` lines; the tests run gcloud with exactly
 * them. Pure.
 */

/** The stack's REST endpoints and the token file, as the stack started them. */
export interface GcloudTargets {
  project: string;
  cloudBuild: string;
  run: string;
  monitoring: string;
  logging: string;
  /** The local Cloud Storage JSON API (its `/storage/v1/` is the override). */
  storage: string;
  tokenFile: string;
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
  };
}

// Single quotes keep every character but a single quote, which closes, escapes and reopens.
const shellQuote = (v: string) => (/^[A-Za-z0-9_./:@=-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/** `export NAME=value` lines for a POSIX shell. */
export function exportLines(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
}
