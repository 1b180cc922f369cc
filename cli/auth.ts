/**
 * The Authorization header for the API. A ready-made token in DROPDEPLOY_ID_TOKEN is sent to
 * any URL (the caller asked for it explicitly); otherwise a loopback URL is the local stack,
 * which runs without auth, and gets nothing; anything else gets a Google ID token minted from
 * Application Default Credentials for the API's origin, as Cloud Run IAM and the controller
 * expect.
 */
import {CliError} from './errors';

/** How requests to a URL are authenticated. */
export type AuthPlan = {kind: 'none'} | {kind: 'token'; token: string} | {kind: 'adc'; audience: string};

/** Whether `url` points at this machine (the local stack, never a Cloud Run URL). */
export function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Decides how to authenticate to `url`. Pure. */
export function authPlan(url: string, env: Record<string, string | undefined>): AuthPlan {
  const token = env.DROPDEPLOY_ID_TOKEN?.trim();
  if (token) return {kind: 'token', token};
  if (isLocalUrl(url)) return {kind: 'none'};
  return {kind: 'adc', audience: new URL(url).origin};
}

/** Something that signs requests with an ID token (google-auth-library's IdTokenClient). */
export interface IdTokenSigner {
  getRequestHeaders(): Promise<Headers>;
}

/** Mints ID tokens for `audience` from Application Default Credentials. */
async function adcSigner(audience: string): Promise<IdTokenSigner> {
  // Loaded only here: local use never pays for google-auth-library.
  const {GoogleAuth} = await import('google-auth-library');
  return new GoogleAuth().getIdTokenClient(audience);
}

/** Returns the headers to add to each request; a minted token is refreshed by the library when it expires. */
export function authHeaders(
  plan: AuthPlan,
  signer: (audience: string) => Promise<IdTokenSigner> = adcSigner,
): () => Promise<Record<string, string>> {
  switch (plan.kind) {
    case 'none':
      return () => Promise.resolve({});
    case 'token':
      return () => Promise.resolve({authorization: `Bearer ${plan.token}`});
    case 'adc': {
      let client: Promise<IdTokenSigner> | undefined;
      return async () => {
        try {
          client ??= signer(plan.audience);
          const headers = await (await client).getRequestHeaders();
          const value = headers.get('authorization');
          if (!value) throw new Error('no Authorization header was produced');
          return {authorization: value};
        } catch (err) {
          client = undefined;
          throw noCredentials(plan.audience, err);
        }
      };
    }
  }
}

function noCredentials(audience: string, err: unknown): CliError {
  return new CliError(
    `could not get a Google ID token for ${audience}: ${(err as Error).message}\n` +
      'To fix it, either:\n' +
      '  gcloud auth application-default login --impersonate-service-account=SA_EMAIL   (user credentials alone cannot mint ID tokens; a service account key in GOOGLE_APPLICATION_CREDENTIALS or running on Google Cloud works too)\n' +
      `  export DROPDEPLOY_ID_TOKEN=$(gcloud auth print-identity-token --audiences=${audience})   (a ready-made token, valid for an hour)`,
  );
}
