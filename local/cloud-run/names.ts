import {createHash} from 'node:crypto';
import {rpc} from '../grpc/rpc-error';

/** The parts of `projects/P/locations/R/services/S[/revisions/REV]`. */
export interface ResourceName {
  project: string;
  location: string;
  service: string;
  revision?: string;
}

/** Parses `projects/P/locations/R` (a Create/List parent); INVALID_ARGUMENT otherwise. */
export function parseParent(parent: string | undefined): {project: string; location: string} {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(parent ?? '');
  if (!m) throw rpc.invalidArgument(`Invalid parent '${parent ?? ''}': expected projects/{project}/locations/{location}.`);
  return {project: m[1], location: m[2]};
}

/** Parses a service or revision resource name; INVALID_ARGUMENT when it is neither. */
export function parseName(name: string | undefined, kind: 'service' | 'revision'): ResourceName {
  const m = /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([^/]+)(?:\/revisions\/([^/]+))?$/.exec(name ?? '');
  if (!m || (kind === 'revision') !== (m[4] !== undefined)) {
    throw rpc.invalidArgument(`Invalid ${kind} name '${name ?? ''}'.`);
  }
  return {project: m[1], location: m[2], service: m[3], revision: m[4]};
}

/** Checks a service id the way Cloud Run does: lowercase, starts with a letter, no trailing hyphen, ≤ 49. */
export function checkServiceId(id: string | undefined): string {
  if (!id || !/^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/.test(id)) {
    throw rpc.invalidArgument(
      `service_id '${id ?? ''}' is invalid: it must use only lowercase alphanumeric characters and dashes, ` +
        'begin with a letter, not end with a dash, and be at most 49 characters long.',
    );
  }
  return id;
}

/** The NOT_FOUND message Cloud Run uses for a missing resource. */
export function notFoundMessage(kind: 'SERVICE' | 'REVISION', name: ResourceName): string {
  const id = kind === 'SERVICE' ? name.service : name.revision;
  return `Resource '${id}' of kind '${kind}' in region '${name.location}' in project '${name.project}' does not exist.`;
}

/** An auto-generated revision name: `<service>-<5-digit generation>-<3 random letters>`. */
export function revisionId(service: string, generation: number, random: () => number = Math.random): string {
  const letters = Array.from({length: 3}, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');
  return `${service}-${String(generation).padStart(5, '0')}-${letters}`;
}

/** A URL shaped like Cloud Run's default one: `https://<service>-<project hash>-<region code>.a.run.app`. */
export function defaultServiceUri(name: {project: string; location: string; service: string}): string {
  const hash = BigInt('0x' + createHash('sha256').update(name.project).digest('hex').slice(0, 16))
    .toString(36)
    .slice(0, 10);
  const regionCode = name.location
    .split('-')
    .map((part) => part[0])
    .join('');
  return `https://${name.service}-${hash}-${regionCode}.a.run.app`;
}
