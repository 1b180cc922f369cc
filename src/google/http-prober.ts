/**
 * The {@link Prober} port on `fetch`: a rollout's HTTP check of its tagged revision's URL. On
 * Google Cloud each request carries a Google ID token for the service (a private service
 * answers 403 without one), minted by google-auth-library from the controller's identity.
 */
import {describeError, RetryableError} from '../errors';
import type {ProbeSettings, Prober} from '../ports';

/** Mints an `Authorization` header for `audience`; undefined where no token is needed (the local stack). */
export type AuthHeader = (audience: string) => Promise<string | undefined>;

/** The pause between attempts: a revision that just became ready may need a moment. */
const PAUSE_MS = 250;

/** {@link Prober} over HTTP(S). */
export class HttpProber implements Prober {
  constructor(
    private readonly authHeader: AuthHeader,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async check(url: string, s: ProbeSettings, audience?: string): Promise<{ok: boolean; status?: number; attempts: number; detail: string}> {
    // The path is appended to the revision's own origin, never resolved against it: a path such
    // as `//other.host/` must not send the request (and the ID token) anywhere else.
    const origin = new URL(url).origin;
    const parsed = new URL(origin + s.path);
    const target = parsed.toString();
    if (parsed.origin !== origin || !s.path.startsWith('/'))
      return {ok: false, attempts: 0, detail: `the check path "${s.path}" does not stay on ${origin}; set a path such as /healthz`};
    // A token the controller cannot mint is its own failure, not the revision's: retried later.
    const auth = audience
      ? await this.authHeader(audience).catch((err: unknown) => {
          throw new RetryableError(
            `minting an ID token for the check of ${origin} failed: ${describeError(err)}; the next run tries again`,
            'ID_TOKEN',
          );
        })
      : undefined;
    let detail = '';
    let status: number | undefined;
    for (let attempt = 1; attempt <= s.attempts; attempt++) {
      if (attempt > 1) await this.sleep(PAUSE_MS);
      try {
        const res = await fetch(target, {
          headers: {'user-agent': 'dropdeploy-rollout-check', ...(auth ? {authorization: auth} : {})},
          redirect: 'manual',
          signal: AbortSignal.timeout(s.timeoutMs),
        });
        await res.body?.cancel();
        status = res.status;
        if (res.status === s.expectStatus)
          return {
            ok: true,
            status,
            attempts: attempt,
            detail: `GET ${target} answered ${res.status} (attempt ${attempt} of ${s.attempts})`,
          };
        detail = `GET ${target} answered ${res.status}, not ${s.expectStatus}`;
      } catch (err) {
        status = undefined;
        const e = err as Error & {cause?: {code?: string; message?: string}};
        detail =
          e.name === 'TimeoutError'
            ? `GET ${target} did not answer within ${s.timeoutMs} ms`
            : `GET ${target} failed: ${e.cause?.code ?? e.cause?.message ?? e.message}`;
      }
    }
    return {ok: false, ...(status !== undefined ? {status} : {}), attempts: s.attempts, detail: `${detail} (${s.attempts} attempts)`};
  }
}
