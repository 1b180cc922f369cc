/**
 * Where the local Cloud Run sends a request: the revision chosen by a service's traffic
 * split, or the one a traffic tag names. The router asks this for each request.
 */
import type {Service} from './messages';
import type {Route, RouteAnswer} from './router';
import {shortRevision} from './service-status';

/** The parts of the Cloud Run emulator that tell where a service's traffic goes. */
export interface ServingView {
  /** A service by its full resource name, or by its id alone. */
  getService(name: string): Pick<Service, 'trafficStatuses' | 'latestReadyRevision'> | undefined;
  /** Where a revision (by its id) of the service (its full name; without it, known by the id alone) listens. */
  revisionUrl(revision: string, serviceName?: string): string | undefined;
  /** Makes sure the revision runs before a request is sent to it (a crashed one is started again). */
  wake?(revision: string, serviceName?: string): Promise<void>;
}

/**
 * The revision that answers `route` now, once it runs: for a service URL, one chosen by the
 * traffic percentages in trafficStatuses (falling back to latestReadyRevision); for a tag URL,
 * the revision its tag names, whatever its percentage (404 once no target has the tag). Undefined
 * when no revision is ready. Meant as the router's `target`: `target: (r) => servingTarget(emulator, r)`.
 */
export async function servingTarget(emu: ServingView, route: Route, random: () => number = Math.random): Promise<RouteAnswer | undefined> {
  const name = route.where ? `projects/${route.where.project}/locations/${route.where.location}/services/${route.service}` : undefined;
  const svc = emu.getService(name ?? route.service);
  const urlOf = (revision: string) => emu.revisionUrl(revision, name);
  let revision: string | undefined;
  if (route.tag !== undefined) {
    const tagged = svc?.trafficStatuses?.find((t) => t.tag === route.tag);
    if (!tagged) return {status: 404, message: noTagMessage(route.service, route.tag)};
    revision = tagged.revision && urlOf(tagged.revision) ? tagged.revision : undefined;
  } else {
    revision = svc && splitRevision(svc, urlOf, random);
  }
  if (!revision) return undefined;
  await emu.wake?.(revision, name);
  const url = urlOf(revision);
  return url ? {url, revision} : undefined;
}

function splitRevision(
  svc: Pick<Service, 'trafficStatuses' | 'latestReadyRevision'>,
  revisionUrl: (revision: string) => string | undefined,
  random: () => number,
): string | undefined {
  const statuses = svc.trafficStatuses ?? [];
  if (statuses.length === 0) {
    const latest = shortRevision(svc.latestReadyRevision);
    return latest && revisionUrl(latest) ? latest : undefined;
  }
  const candidates = statuses
    .map((t) => ({revision: t.revision, percent: Number(t.percent ?? 0)}))
    .filter((c): c is {revision: string; percent: number} => !!c.revision && !!revisionUrl(c.revision) && c.percent > 0);
  let pick = random() * candidates.reduce((sum, c) => sum + c.percent, 0);
  for (const c of candidates) {
    pick -= c.percent;
    if (pick < 0) return c.revision;
  }
  return candidates.at(-1)?.revision;
}

// Cloud Run's front end answers a URL that names no tag with a 404 page.
function noTagMessage(service: string, tag: string): string {
  return (
    `Service '${service}' has no traffic target tagged '${tag}' (any more): this tag URL serves nothing. ` +
    "The service's trafficStatuses list the tags it has now.\n"
  );
}
