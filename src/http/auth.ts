/**
 * Who is calling the API. On Google Cloud the function is private: Cloud Run IAM admits only
 * callers with the invoker role and a Google ID token (mode `cloud-run-iam`). The controller
 * verifies a token's signature itself when it has one (audience = its own URL; always, in mode
 * `google-id-token`), checks the caller against DROPDEPLOY_ADMIN_PRINCIPALS, and records the
 * caller as the release's actor. The local stack runs with auth `none`, on loopback only. The
 * mode is configuration, never inferred from a request.
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
  email_verified?: boolean;
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
  const audiences = api.audiences.length ? api.audiences : [hostAudience(headers)];
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
    try {
      payload = await (await getVerifier(api.certsUrl))(token, audiences);
    } catch (err) {
      throw new ApiError(401, 'UNAUTHENTICATED', `the ID token was refused: ${(err as Error).message}`);
    }
  }
  if (!payload.iss || !ISSUERS.includes(payload.iss)) throw new ApiError(401, 'UNAUTHENTICATED', `the ID token's issuer ${String(payload.iss)} is not Google`);
  if (!payload.email || payload.email_verified === false) throw new ApiError(401, 'UNAUTHENTICATED', 'the ID token carries no verified email; mint it for a user or service account');
  const actor = `${payload.email.endsWith('.gserviceaccount.com') ? 'serviceAccount' : 'user'}:${payload.email}`;
  if (api.adminPrincipals.length && !api.adminPrincipals.some((p) => p === actor || p === payload.email)) {
    throw new ApiError(403, 'PERMISSION_DENIED', `${actor} may not call the dropdeploy API; add it to DROPDEPLOY_ADMIN_PRINCIPALS`);
  }
  return {actor};
}

function hostAudience(headers: Record<string, string | string[] | undefined>): string {
  // Only Host: it is what routed the request to this service, unlike X-Forwarded-Host.
  const host = headers.host;
  return `https://${Array.isArray(host) ? host[0] : host ?? ''}`;
}
