/**
 * The URLs of services' traffic tags in the Cloud Run emulator: each tag gets one when a
 * request first names it, and keeps it (also when the tag is removed and comes back, and
 * across restarts where the saved port is free).
 */
import type {StoredService, TrafficTarget} from './messages';
import {parseName} from './names';

/** Allocates a tag's URL (the router's tag listener locally). */
export type TagUriSource = (name: {project: string; location: string; service: string; tag: string}) => string | Promise<string>;

/** A tag URL that a restore could not have again. */
export interface MovedTag {
  service: string;
  tag: string;
  from: string;
  to: string;
}

const key = (serviceName: string, tag: string) => `${serviceName}\u0000${tag}`;

/** Tag URLs by service name and tag. */
export class TagUris {
  private readonly uris = new Map<string, string>();

  constructor(private readonly source?: TagUriSource) {}

  /** Gives each tag of `traffic` its URL, once per service and tag, before a rollout reports it. */
  async allocate(serviceName: string, traffic: TrafficTarget[] | undefined): Promise<void> {
    if (!this.source) return;
    for (const t of traffic ?? []) {
      if (!t.tag || this.uris.has(key(serviceName, t.tag))) continue;
      const uri = await this.source({...parseName(serviceName, 'service'), tag: t.tag});
      if (!this.uris.has(key(serviceName, t.tag))) this.uris.set(key(serviceName, t.tag), uri);
    }
  }

  /** The tag's URL; without a source, Cloud Run's `https://<tag>---<service URL host>`. */
  uriOf(serviceName: string, serviceUri: string, tag: string): string {
    return this.uris.get(key(serviceName, tag)) ?? serviceUri.replace('https://', `https://${tag}---`);
  }

  /**
   * Each tag of a saved service at its saved URL again (`again` says which it got), written into
   * the restored service's trafficStatuses; returns the tags whose URL changed.
   */
  async restore(
    service: StoredService,
    saved: StoredService,
    again: (service: string, tag: string, savedUri: string, where: {project: string; location: string}) => Promise<string>,
  ): Promise<MovedTag[]> {
    const {service: id, project, location} = parseName(service.name, 'service');
    const moved: MovedTag[] = [];
    for (const t of saved.trafficStatuses ?? []) {
      if (!t.tag || !t.uri) continue;
      const uri = await again(id, t.tag, t.uri, {project, location});
      this.uris.set(key(service.name, t.tag), uri);
      if (uri !== t.uri) moved.push({service: id, tag: t.tag, from: t.uri, to: uri});
    }
    service.trafficStatuses = service.trafficStatuses?.map((t) => (t.tag ? {...t, uri: this.uriOf(service.name, service.uri, t.tag)} : t));
    return moved;
  }
}
