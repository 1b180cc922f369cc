/**
 * Which `FROM` images the local build can stand in for with this machine's Node.js: the
 * official `node` image (Docker Hub, under any of its names, and Google's mirror of it) and
 * Google's distroless Node.js images, whose only program is node. Pure.
 */

/** A base image the local build maps to the host's Node.js. */
export interface NodeBase {
  kind: 'node' | 'distroless';
  /** The image as written (after ARG substitution). */
  image: string;
  /** The Node.js major the tag asks for, when it names one (`20-slim` → 20; `lts`, `latest` → undefined). */
  major?: number;
  /** The image's default user, when it is not root (distroless `:nonroot`). */
  user?: string;
}

// Docker Hub's official images, under every name that reaches them; mirror.gcr.io is Google's cache of Docker Hub.
const NODE_NAMES = new Set([
  'node',
  'library/node',
  'docker.io/node',
  'docker.io/library/node',
  'index.docker.io/library/node',
  'registry-1.docker.io/library/node',
  'mirror.gcr.io/library/node',
]);
const DISTROLESS = /^gcr\.io\/distroless\/nodejs(\d+)?(?:-debian\d+)?$/;

// The release lines' codenames, which the node image also publishes as tags.
const CODENAMES: Record<string, number> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};

/** Splits `name[:tag][@digest]`; a colon before the last slash belongs to a registry port. */
export function splitImage(ref: string): {name: string; tag?: string; digest?: string} {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const rest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return {name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest};
  return {name: rest, digest};
}

/** The Node.js base `ref` names, or undefined when it is some other image. */
export function nodeBase(ref: string): NodeBase | undefined {
  const {name, tag} = splitImage(ref);
  const lower = name.toLowerCase();
  if (NODE_NAMES.has(lower)) return {kind: 'node', image: ref, major: tagMajor(tag)};
  const distroless = DISTROLESS.exec(lower);
  if (distroless) {
    const base: NodeBase = {kind: 'distroless', image: ref, major: distroless[1] ? Number(distroless[1]) : undefined};
    if (tag?.startsWith('nonroot') || tag?.startsWith('debug-nonroot')) base.user = 'nonroot';
    return base;
  }
  return undefined;
}

/** The major of a node image tag: `20`, `20.11.1-slim`, `22-alpine3.20`, `iron-bookworm-slim`; undefined for `lts`, `latest`, `current`, `slim`. */
export function tagMajor(tag: string | undefined): number | undefined {
  if (!tag) return undefined;
  const digits = /^(\d+)(?:[.-]|$)/.exec(tag);
  if (digits) return Number(digits[1]);
  const codename = /^([a-z]+)(?:-|$)/.exec(tag);
  return codename ? CODENAMES[codename[1]] : undefined;
}
