/**
 * What an extracted tree may contain, decided without touching the disk: which names are
 * acceptable, and where a symlink really leads once every other link in the archive is
 * followed. SafeTree applies it; the libraries that read the archives never decide for themselves.
 */
import type {ArchiveEntry} from './archive-entry';
import {ExtractError} from './extract-limits';

/** Bytes in one file or folder name (NAME_MAX of ext4, APFS, XFS ...). */
export const NAME_MAX = 255;
/** Bytes in a whole path the system accepts, without its NUL (PATH_MAX - 1). */
export const PATH_BYTES_MAX = process.platform === 'darwin' ? 1023 : 4095;
/** Links followed in a row before a resolution counts as a loop (Linux's limit). */
export const MAX_LINK_HOPS = 40;
// Path steps one resolution may take: 40 hops of long targets full of `./` would otherwise
// cost millions of steps per link, times thousands of links.
const MAX_STEPS = 4096;

const ABSOLUTE = /^(?:[\\/]|[A-Za-z]:)/;
// Backslashes count as separators: a zip made on Windows uses them, and `..\x` must not slip through.
const SEPARATORS = /[\\/]+/;

/** The normalised archive-relative path of `name` ('' for the root), or throws if it is absolute, escapes, or has a name too long. */
export function safeRelative(name: string, what = 'entry', entry = name): string {
  if (ABSOLUTE.test(name)) throw new ExtractError(`${what} "${name}" is an absolute path`, entry);
  if (name.includes('\0')) throw new ExtractError(`${what} "${name}" contains a NUL byte`, entry);
  const segs = lexical(name);
  if (!segs) throw new ExtractError(`${what} "${name}" points outside the archive root (../)`, entry);
  for (const seg of segs) {
    const bytes = Buffer.byteLength(seg);
    // Refused here, by name, rather than as ENAMETOOLONG from the file system halfway through.
    if (bytes > NAME_MAX) {
      throw new ExtractError(
        `${what} "${shown(name)}" has a file or folder name of ${bytes} bytes; names may be at most ${NAME_MAX} bytes: shorten it`,
        entry,
      );
    }
  }
  return segs.join('/');
}

/** Throws when `rel` under the folder `dest` makes a path longer than the system accepts. */
export function checkPathLength(dest: string, rel: string, entry: string): void {
  const bytes = Buffer.byteLength(dest) + 1 + Buffer.byteLength(rel);
  if (bytes > PATH_BYTES_MAX) {
    throw new ExtractError(
      `entry "${shown(entry)}" would have a path of ${bytes} bytes in the build folder; paths may be at most ${PATH_BYTES_MAX} bytes: ` +
        'use shorter names or fewer nested folders',
      entry,
    );
  }
}

/**
 * The archive-relative path a link entry at `rel` names, read lexically: a symlink's target is
 * relative to its own folder, a tar hard link's to the archive root. Throws for a link with no
 * target, an absolute one, or one whose `..` climb out of the root.
 */
export function linkTarget(entry: Pick<ArchiveEntry, 'name' | 'type' | 'linkTarget'>, rel: string): string {
  const target = entry.linkTarget ?? '';
  const kind = entry.type === 'symlink' ? 'a symlink' : 'a hard link';
  if (!target) throw new ExtractError(`entry "${entry.name}" is ${kind} with no target`, entry.name);
  if (ABSOLUTE.test(target)) {
    throw new ExtractError(
      `entry "${entry.name}" is ${kind} to the absolute path "${target}"; links must stay inside the archive`,
      entry.name,
    );
  }
  if (target.includes('\0')) throw new ExtractError(`entry "${entry.name}" is ${kind} whose target contains a NUL byte`, entry.name);
  if (Buffer.byteLength(target) > PATH_BYTES_MAX) {
    throw new ExtractError(
      `entry "${entry.name}" is ${kind} with a target of ${Buffer.byteLength(target)} bytes; at most ${PATH_BYTES_MAX} are allowed`,
      entry.name,
    );
  }
  const from = entry.type === 'symlink' ? [...rel.split('/').slice(0, -1), target].join('/') : target;
  const segs = lexical(from);
  if (!segs) throw new ExtractError(`entry "${entry.name}" is ${kind} to "${target}", which points outside the archive`, entry.name);
  return segs.join('/');
}

/** Where a symlink leads: a path inside the tree, outside it (and through which link), or nowhere (a loop). */
export type LinkResolution = {kind: 'inside'; path: string} | {kind: 'outside'; via?: string} | {kind: 'endless'; why: string};

/**
 * Resolves the symlink at `rel` as the kernel would, but over the tree as extracted (`links`:
 * every symlink, by its path, with its target), so that a link whose final target does not
 * exist yet is judged too. A name that is not a link (a file, a folder, or nothing yet) is
 * taken as it stands: `..` after it is its parent, whatever is created there later.
 */
export function resolveLink(rel: string, links: ReadonlyMap<string, string>): LinkResolution {
  const at = rel.split('/').slice(0, -1);
  // Segments still to walk, the next one last (so a link's target is pushed, not spliced in front).
  const todo = (links.get(rel) ?? '').split(SEPARATORS).reverse();
  let hops = 1;
  let via: string | undefined;
  for (let steps = 0; todo.length; steps++) {
    if (steps > MAX_STEPS) return {kind: 'endless', why: `more than ${MAX_STEPS} path steps`};
    const seg = todo.pop()!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!at.length) return {kind: 'outside', via};
      at.pop();
      continue;
    }
    const here = [...at, seg].join('/');
    const target = links.get(here);
    if (target === undefined) {
      at.push(seg);
      continue;
    }
    if (++hops > MAX_LINK_HOPS) return {kind: 'endless', why: `more than ${MAX_LINK_HOPS} links in a row (a loop?)`};
    if (ABSOLUTE.test(target)) return {kind: 'outside', via: here};
    via = here;
    todo.push(...target.split(SEPARATORS).reverse());
  }
  return {kind: 'inside', path: at.join('/')};
}

/** The refusal of a symlink whose resolution is not inside the tree, or undefined when it is. */
export function linkRefusal(entry: string, target: string, r: LinkResolution): ExtractError | undefined {
  if (r.kind === 'outside') {
    const through = r.via ? ` (through the symlink "${r.via}")` : '';
    return new ExtractError(`entry "${entry}" is a symlink to "${target}", which resolves outside the archive${through}`, entry);
  }
  if (r.kind === 'endless') return new ExtractError(`entry "${entry}" is a symlink to "${target}", which never resolves: ${r.why}`, entry);
  return undefined;
}

/** The path segments of `name` after `.` and `..`, or undefined when `..` climbs above the start. */
function lexical(name: string): string[] | undefined {
  const out: string[] = [];
  for (const seg of name.split(SEPARATORS)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!out.length) return undefined;
      out.pop();
    } else out.push(seg);
  }
  return out;
}

/** A name short enough to read in a message: a path of thousands of bytes is shown by its ends. */
function shown(name: string): string {
  return name.length > 300 ? `${name.slice(0, 60)}…${name.slice(-40)}` : name;
}
