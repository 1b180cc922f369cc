/**
 * Verifying a Google ID token's signature with google-auth-library, and turning whatever it
 * throws into one of a few fixed reasons. Its error messages quote the token (or its payload),
 * so they never reach an answer or a log line: only the fixed text of {@link REFUSALS} does.
 */
import {RetryableError} from '../errors';

/** What a verified token says (the claims dropdeploy reads). */
export interface TokenPayload {
  aud?: string | string[];
  iss?: string;
  exp?: number;
  email?: string;
  email_verified?: unknown;
  sub?: string;
}

/** Why a token was refused, as a caller can act on it; the only texts a refusal shows. */
export const REFUSALS = {
  malformed: 'the bearer token is not a well-formed JWT; send a Google ID token (gcloud auth print-identity-token)',
  badSignature: "the ID token's signature does not verify against Google's signing keys; send a token Google issued, unaltered",
  expired: 'the ID token has expired; get a new one',
  notYetValid: "the ID token is not valid yet or claims too long a lifetime; check the caller's clock and get a new one",
  wrongIssuer: 'the ID token was not issued by Google (accounts.google.com); send a Google ID token',
  wrongAudience:
    "the ID token was minted for another audience; mint it for this API's (DROPDEPLOY_API_AUDIENCE), e.g. gcloud auth print-identity-token --audiences=<API URL>",
  unverifiable: 'the ID token could not be verified; send a Google ID token (gcloud auth print-identity-token)',
} as const;

/** One of {@link REFUSALS}. */
export type Refusal = keyof typeof REFUSALS;

/** Google's ID token issuers. */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

// google-auth-library 10, OAuth2Client.verifySignedJwtWithCertsAsync: the start of each message.
const BY_MESSAGE: Array<[RegExp, Refusal]> = [
  [/^(Wrong number of segments|Can't parse token|No issue time|No expiration time|iat field|exp field)/, 'malformed'],
  [/^(No pem found for envelope|Invalid token signature)/, 'badSignature'],
  [/^Token used too late/, 'expired'],
  [/^(Token used too early|Expiration time too far in future)/, 'notYetValid'],
  [/^Invalid issuer/, 'wrongIssuer'],
  [/^Wrong recipient/, 'wrongAudience'],
];

/** The fixed reason for an error google-auth-library threw while checking a token. */
export function tokenRefusal(err: unknown): Refusal {
  const message = err instanceof Error ? err.message : '';
  return BY_MESSAGE.find(([re]) => re.test(message))?.[1] ?? 'unverifiable';
}

/** The result of checking one token: its claims, or why it was refused. */
export type Verdict = {ok: true; payload: TokenPayload} | {ok: false; refusal: Refusal};

type Verifier = (token: string, audiences: string[]) => Promise<Verdict>;
const verifiers = new Map<string, Promise<Verifier>>();

/**
 * The signature verifier for `certsUrl` (Google's when unset), built on first use so
 * google-auth-library stays unloaded until a signed token arrives. Fetching the certificates
 * can fail for a while: that is a {@link RetryableError} (503), not the caller's fault.
 */
export function idTokenVerifier(certsUrl: string | undefined): Promise<Verifier> {
  const key = certsUrl ?? '';
  let made = verifiers.get(key);
  if (!made) {
    made = (async () => {
      const {OAuth2Client} = await import('google-auth-library');
      const client = new OAuth2Client(certsUrl ? {endpoints: {oauth2FederatedSignonPemCertsUrl: certsUrl}} : {});
      return async (token: string, audiences: string[]): Promise<Verdict> => {
        let certs;
        try {
          // Cached by the client until the certificates' max-age runs out.
          certs = (await client.getFederatedSignonCertsAsync()).certs;
        } catch {
          throw new RetryableError("Google's ID token signing certificates could not be fetched; retry in a moment");
        }
        try {
          const ticket = await client.verifySignedJwtWithCertsAsync(token, certs, audiences, GOOGLE_ISSUERS);
          return {ok: true, payload: ticket.getPayload() ?? {}};
        } catch (err) {
          return {ok: false, refusal: tokenRefusal(err)};
        }
      };
    })();
    made.catch(() => verifiers.delete(key));
    verifiers.set(key, made);
  }
  return made;
}
