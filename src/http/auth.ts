/**
 * Who is calling the API. On Google Cloud the function is private: Cloud Run IAM admits only
 * callers with the invoker role and a Google ID token (mode `cloud-run-iam`; that IAM really is
 * in front is checked separately, see invoker-gate.ts). In mode `google-id-token` the
 * controller verifies every token's signature and audience (DROPDEPLOY_API_AUDIENCE, never the
 * request's Host) itself and admits only DROPDEPLOY_ADMIN_PRINCIPALS. The caller becomes the
 * release's actor. The local stack runs with auth `none`, on loopback only. The mode is
 * configuration, never inferred from a request; a refusal shows a fixed reason, never the token.
 */
import type {ApiConfig} from '../config';
import {describeError} from '../errors';
import {ApiError} from './errors';
import {GOOGLE_ISSUERS, idTokenVerifier, REFUSALS, type Refusal, type TokenPayload} from './id-token';

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

const refused = (reason: Refusal) => new ApiError(401, 'UNAUTHENTICATED', REFUSALS[reason]);

function decodePayload(token: string): TokenPayload {
  const parts = token.split('.');
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
    if (parts.length === 3 && payload && typeof payload === 'object' && !Array.isArray(payload)) return payload;
  } catch {
    // reported below, with a fixed reason
  }
  throw refused('malformed');
}

/** Checks the request's caller; throws 401/403 (503 while Google's signing certificates are unreachable) as an {@link ApiError}. */
export async function authenticate(api: ApiConfig, headers: Record<string, string | string[] | undefined>, now: Date): Promise<Caller> {
  if (api.auth === 'none') return {actor: 'local'};
  const header = headers['x-serverless-authorization'] ?? headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  const token = value && /^Bearer\s+(\S+)$/i.exec(value)?.[1];
  if (!token)
    throw new ApiError(
      401,
      'UNAUTHENTICATED',
      'missing "Authorization: Bearer <Google ID token>"; get one with `gcloud auth print-identity-token --audiences=<API URL>`',
      {'www-authenticate': 'Bearer'},
    );
  let payload: TokenPayload;
  if (token.split('.')[2] === PLATFORM_VERIFIED_SIGNATURE) {
    // Only Cloud Run IAM may vouch for a token without its signature; anywhere else such a
    // token is a forgery waiting to happen.
    if (api.auth !== 'cloud-run-iam') {
      throw new ApiError(
        401,
        'UNAUTHENTICATED',
        'the ID token has no signature to verify; if the API is private behind Cloud Run IAM, set DROPDEPLOY_API_AUTH=cloud-run-iam',
      );
    }
    // Cloud Run checked signature and audience by its own rules (gcloud's user tokens carry
    // gcloud's client id as audience); expiry, identity and admin list are checked here.
    payload = decodePayload(token);
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < now.getTime()) throw refused('expired');
    if (!payload.iss || !GOOGLE_ISSUERS.includes(payload.iss)) throw refused('wrongIssuer');
  } else {
    // Never a default taken from the request (its Host header is the caller's to choose).
    if (!api.audiences.length)
      throw new ApiError(401, 'UNAUTHENTICATED', 'this API accepts no signed ID tokens: DROPDEPLOY_API_AUDIENCE is not set');
    const verdict = await idTokenVerifier(api.certsUrl)
      .then((verify) => verify(token, api.audiences))
      .catch((err: unknown) => {
        throw new ApiError(503, 'UNAVAILABLE', describeError(err), {'retry-after': '5'});
      });
    if (!verdict.ok) throw refused(verdict.refusal);
    payload = verdict.payload;
  }
  if (typeof payload.email !== 'string' || !payload.email || payload.email_verified !== true) {
    throw new ApiError(401, 'UNAUTHENTICATED', 'the ID token carries no verified email; mint it for a user or service account');
  }
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
