/**
 * Which requests a browser may make to the API, whatever auth runs. Pure.
 *
 * A page on another site can make the browser send a form POST or a no-cors `fetch` to the API
 * with the browser's credentials — and through `gcloud run services proxy` the proxy adds the
 * operator's ID token to whatever reaches it. Such a request with an empty body passes the JSON
 * checks (json-body.ts accepts no body as `{}`), so a redeploy or a rollout's promote could be
 * set off from any site. Browsers say where a request comes from: `Sec-Fetch-Site` (every
 * current browser), else `Origin`. Requests that change something must come from the API's own
 * origin (the dashboard) or from no page at all (the CLI, curl, gcloud, which send neither).
 *
 * A browser's same-origin is not proof either: through `gcloud run services proxy` a page on
 * a name its DNS resolves to 127.0.0.1 (DNS rebinding) is same-origin to itself. Its name is in
 * `Origin`, which browsers send with every non-GET fetch: it must be a loopback name or the
 * request's own Host.
 *
 * Without auth (the local stack, on loopback only) one more thing: a page on a name that its DNS
 * resolves to 127.0.0.1 (DNS rebinding) is same-origin to itself and could read and act; such a
 * request carries that name in `Host`, so the API then answers loopback names only.
 */

type Headers = Record<string, string | string[] | undefined>;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/i;

/** Why the API refuses this request (an answer 403), or undefined when it may go on. */
export function requestOriginProblem(method: string, headers: Headers, opts: {loopbackOnly: boolean}): string | undefined {
  if (opts.loopbackOnly) {
    const host = first(headers.host) ?? '';
    if (!LOOPBACK_HOST.test(host))
      return `this API runs without auth (DROPDEPLOY_API_AUTH=none) and answers requests for a loopback host only (127.0.0.1, localhost), not ${JSON.stringify(host.slice(0, 100))}; use the URL npm start printed`;
  }
  if (SAFE.has(method.toUpperCase())) return undefined;
  const site = first(headers['sec-fetch-site'])?.toLowerCase();
  const refusal = (from: string) =>
    `a ${method} from ${from} may not change anything through this API (cross-site request forgery); use the dashboard at the API's own URL, the CLI or curl`;
  if (site === 'none') return undefined;
  if (site !== undefined && site !== 'same-origin') return refusal(`a page of another ${site === 'same-site' ? 'origin' : 'site'}`);
  // Same-origin is not enough: through gcloud run services proxy a page on a name rebound to
  // 127.0.0.1 is same-origin to itself, and the proxy sends every request on with the
  // operator's token and the service's own Host. The page's own name is in Origin: it must be
  // loopback (the proxy, the local stack) or the name the request was sent to.
  const origin = first(headers.origin);
  if (origin === undefined) return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return refusal(`origin ${JSON.stringify(origin.slice(0, 100))}`);
  }
  const hosts = [first(headers.host), first(headers['x-forwarded-host'])].map((h) => h?.toLowerCase());
  return LOOPBACK_HOST.test(originHost) || hosts.includes(originHost) ? undefined : refusal(`a page of ${origin.slice(0, 100)}`);
}
