/**
 * The Cloud Run emulator's services as the local stack saves them between runs
 * (`.dropdeploy/state/cloud-run.json`): each service as last read (template, traffic,
 * generation, etag, conditions), its revisions and its IAM policy; and which revisions to run
 * again when they are brought back. Pure.
 */
import {check, type StateFormat} from '../state/state-file';
import type {Revision, StoredPolicy, StoredService} from './messages';
import {shortRevision} from './service-status';

/** One saved service. */
export interface SavedService {
  service: StoredService;
  /** Oldest first, as they were created. */
  revisions: Revision[];
  policy?: StoredPolicy;
}

/** What the state file holds. */
export interface SavedServices {
  services: SavedService[];
}

function parseService(raw: unknown, at: string): SavedService {
  const entry = check.object(raw, at);
  const service = check.object(entry.service, `${at}.service`);
  const name = check.string(service.name, `${at}.service.name`);
  check.string(service.uri, `${at}.service.uri`);
  const template = check.object(service.template, `${name}: template`);
  check.array(template.containers, `${name}: template.containers`).forEach((c, i) => {
    check.string(check.object(c, `${name}: template.containers[${i}]`).image, `${name}: template.containers[${i}].image`);
  });
  check.array(service.traffic, `${name}: traffic`);
  const revisions = check.array(entry.revisions, `${name}: revisions`).map((r, i) => {
    const revision = check.object(r, `${name}: revisions[${i}]`);
    const revName = check.string(revision.name, `${name}: revisions[${i}].name`);
    if (!revName.startsWith(`${name}/revisions/`)) throw new Error(`${name}: revision ${revName} is not one of its revisions`);
    check.array(revision.containers, `${revName}: containers`);
    return revision as unknown as Revision;
  });
  const policy = entry.policy === undefined ? undefined : check.object(entry.policy, `${name}: policy`);
  if (policy && !(policy.etag instanceof Uint8Array)) throw new Error(`${name}: policy.etag is not bytes`);
  return {service: service as unknown as StoredService, revisions, ...(policy ? {policy: policy as unknown as StoredPolicy} : {})};
}

/** The state file format of the Cloud Run emulator. */
export const SERVICES_FORMAT: StateFormat<SavedServices> = {
  what: "the Cloud Run emulator's services",
  version: 1,
  parse(body) {
    const services = check.array(body.services, 'services').map((s, i) => parseService(s, `services[${i}]`));
    const names = new Set<string>();
    for (const s of services) {
      if (names.has(s.service.name)) throw new Error(`service ${s.service.name} is listed twice`);
      names.add(s.service.name);
    }
    return {services};
  },
};

const readyState = (r: Revision) => r.conditions?.find((c) => c.type === 'Ready')?.state;

/**
 * The revisions (ids) to run again when a saved service comes back: those that served it
 * (traffic or a tag; else its latest ready revision), and its latest created revision if it
 * was still starting when the stack stopped (Cloud Run would have gone on starting it). A
 * revision that had failed never ran, and is not started.
 */
export function revisionsToRestart(saved: SavedService): string[] {
  const {service, revisions} = saved;
  const byId = new Map(revisions.map((r) => [shortRevision(r.name)!, r]));
  const statuses = service.trafficStatuses ?? [];
  const serving = statuses.filter((t) => (t.percent ?? 0) > 0 || t.tag).map((t) => t.revision);
  if (statuses.length === 0) serving.push(shortRevision(service.latestReadyRevision));
  const latest = byId.get(shortRevision(service.latestCreatedRevision) ?? '');
  if (latest && readyState(latest) === 'CONDITION_RECONCILING') serving.push(shortRevision(latest.name));
  const ids = serving.filter((id): id is string => !!id && byId.has(id) && readyState(byId.get(id)!) !== 'CONDITION_FAILED');
  return [...new Set(ids)];
}

/** The saved service with its URL moved to `uri` (its router port was taken), traffic tag URLs included. */
export function withUri(service: StoredService, uri: string): StoredService {
  if (uri === service.uri) return service;
  const move = (u: string | undefined) => u?.split(service.uri).join(uri);
  return {
    ...service,
    uri,
    urls: (service.urls ?? [service.uri]).map((u) => move(u)!),
    ...(service.trafficStatuses ? {trafficStatuses: service.trafficStatuses.map((t) => (t.uri ? {...t, uri: move(t.uri)} : t))} : {}),
  };
}
