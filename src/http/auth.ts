/**
 * Who is calling the API. On Google Cloud the function is private: Cloud Run IAM admits only
 * callers with the invoker role and a Google ID token (mode `cloud-run-iam`). In mode
 * `google-id-token` the controller verifies every token's signature and audience
 * (DROPDEPLOY_API_AUDIENCE, never the request's Host) itself and admits only
 * DROPDEPLOY_ADMIN_PRINCIPALS. The caller becomes the release's actor. The local stack runs with
 * auth `none`, on loopback only. The mode is configuration, never inferred from a request.
 */
import type {ApiConfig} from '../config';
import {ApiError} from './errors';

/** The authenticated caller. */
export interface Caller {
  /** `user:EMAIL`, `serviceAccount:EMAIL`, or `local` without auth. */
  actor: string;
}

/**
 * Cloud Run replaces the signature of an ID token it has verified with this text before the
 * request reaches the container; such a token was checked by the platform already.
 */
export const PLATFORM_VERIFIED_SIGNATURE = 'SIGNATURE_REMOVED_BY_GOOGLE';
const ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

interface TokenPayload {
  aud?: string | string[];
  iss?: string;
  exp?: number;
  email?: string;
  email_verified?: unknown;
  sub?: string;
}

let verifier: Promise<(token: string, audiences: string[]) => Promise<TokenPayload>> | undefined;

/** The signature verifier, built on first use (google-auth-library stays unloaded until then). */
function getVerifier(certsUrl: string | undefined): Promise<(token: string, audiences: string[]) => Promise<TokenPayload>> {
  verifier ??= (async () => {
    const {OAuth2Client} = await import('google-auth-library');
    const client = new OAuth2Client(certsUrl ? {endpoints: {oauth2FederatedSignonPemCertsUrl: certsUrl}} : {});
    return async (token: string, audiences: string[]) => {
      const ticket = await client.verifyIdToken({idToken: token, audience: audiences});
      return ticket.getPayload() as TokenPayload;
    };
  })();
  return verifier;
}

function decodePayload(token: string): TokenPayload {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as TokenPayload;
  } catch {
    throw new ApiError(401, 'UNAUTHENTICATED', 'the bearer token is not a JWT; send a Google ID token (gcloud auth print-identity-token)');
  }
}

/** Checks the request's caller; throws 401/403 as an {@link ApiError}. */
export async function authenticate(api: ApiConfig, headers: Record<string, string | string[] | undefined>, now: Date): Promise<Caller> {
  if (api.auth === 'none') return {actor: 'local'};
  const header = headers['x-serverless-authorization'] ?? headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  const token = value && /^Bearer\s+(\S+)$/i.exec(value)?.[1];
  if (!token) throw new ApiError(401, 'UNAUTHENTICATED', 'missing "Authorization: Bearer <Google ID token>"; get one with `gcloud auth print-identity-token --audiences=<API URL>`', {'www-authenticate': 'Bearer'});
  let payload: TokenPayload;
  if (token.split('.')[2] === PLATFORM_VERIFIED_SIGNATURE) {
    // Only Cloud Run IAM may vouch for a token without its signature; anywhere else such a
    // token is a forgery waiting to happen.
    if (api.auth !== 'cloud-run-iam') {
      throw new ApiError(401, 'UNAUTHENTICATED', 'the ID token has no signature to verify; if the API is private behind Cloud Run IAM, set DROPDEPLOY_API_AUTH=cloud-run-iam');
    }
    // Cloud Run checked signature and audience by its own rules (gcloud's user tokens carry
    // gcloud's client id as audience); expiry, identity and admin list are checked here.
    payload = decodePayload(token);
    if (!payload.exp || payload.exp * 1000 < now.getTime()) throw new ApiError(401, 'UNAUTHENTICATED', 'the ID token has expired; get a new one');
  } else {
    // Never a default taken from the request (its Host header is the caller's to choose).
    if (!api.audiences.length) throw new ApiError(401, 'UNAUTHENTICATED', 'this API accepts no signed ID tokens: DROPDEPLOY_API_AUDIENCE is not set');
    try {
      payload = await (await getVerifier(api.certsUrl))(token, api.audiences);
    } catch (err) {
      throw new ApiError(401, 'UNAUTHENTICATED', `the ID token was refused: ${(err as Error).message}`);
    }
  }
  if (!payload.iss || !ISSUERS.includes(payload.iss)) throw new ApiError(401, 'UNAUTHENTICATED', `the ID token's issuer ${String(payload.iss)} is not Google`);
  if (typeof payload.email !== 'string' || !payload.email || payload.email_verified !== true) throw new ApiError(401, 'UNAUTHENTICATED', 'the ID token carries no verified email; mint it for a user or service account');
  const email = payload.email;
  const actor = `${email.toLowerCase().endsWith('.gserviceaccount.com') ? 'serviceAccount' : 'user'}:${email}`;
  if (!isAdmin(api, actor, email)) {
    throw new ApiError(403, 'PERMISSION_DENIED', `${actor} may not call the dropdeploy API; add it to DROPDEPLOY_ADMIN_PRINCIPALS`);
  }
  return {actor};
}

/**
 * Whether the caller may use the API: listed in DROPDEPLOY_ADMIN_PRINCIPALS (emails compare in
 * any case), or — in mode cloud-run-iam with no list — admitted by Cloud Run IAM alone. In mode
 * google-id-token an empty list admits nobody (parseConfig already refuses to start so).
 */
function isAdmin(api: ApiConfig, actor: string, email: string): boolean {
  if (!api.adminPrincipals.length) return api.auth === 'cloud-run-iam';
  const want = [actor.toLowerCase(), email.toLowerCase()];
  return api.adminPrincipals.some((p) => want.includes(p.toLowerCase()));
}
