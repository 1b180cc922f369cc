/**
 * COPY and ADD carried out: sources from a tree (the build context, or an earlier stage's
 * rootfs), with Docker's rules: a folder's contents are copied, not the folder; a file goes into
 * the destination when it is a folder (ends with `/`, exists as one, or gets several sources),
 * else becomes it; wildcards that match nothing copy nothing, as BuildKit allows.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import {basename, dirname, join, relative, sep} from 'node:path';
import type {StepAction} from './plan-types';
import type {EntryKind, SourceTree} from './build-context';
import {hostPath} from './container-paths';
import {hasWildcard, matcher} from './path-match';

/** A COPY that cannot be done; the executor adds the instruction and its line. */
export class CopyError extends Error {}

/** What a copy did, for the build log. */
export interface CopyOutcome {
  files: number;
  notes: string[];
}

/** Carries out one copy action into `rootfs`, reading from `tree`; `what` names the tree in messages. */
export function copyFiles(action: Extract<StepAction, {op: 'copy'}>, tree: SourceTree, rootfs: string, what: string): CopyOutcome {
  const notes: string[] = [];
  const matches: string[] = [];
  for (const src of action.sources) {
    if (hasWildcard(src)) {
      const re = matcher(src);
      const found = [...tree.entries.keys()].filter((rel) => rel && re.test(rel));
      if (!found.length) notes.push(`no file in ${what} matches "${src}": nothing copied for it`);
      matches.push(...found);
    } else if (tree.entries.has(src)) {
      matches.push(src);
    } else {
      const why = tree.excluded(src) ? ': .dockerignore excludes it' : '';
      throw new CopyError(`"${src || '.'}" is not in ${what}${why}`);
    }
  }
  const dest = hostPath(rootfs, action.dest);
  assertInside(rootfs, dest);
  const intoDir = action.destDir || matches.length > 1 || matches.some((m) => kindOf(tree, m) === 'dir') || isDir(dest);
  let files = 0;
  const place = (from: string, to: string, kind: EntryKind) => {
    if (kind === 'dir') {
      mkdirSync(to, {recursive: true});
      if (action.chmod !== undefined) chmodSync(to, action.chmod);
      return;
    }
    mkdirSync(dirname(to), {recursive: true});
    if (existsSync(to) || isLink(to)) rmSync(to, {recursive: true, force: true});
    if (kind === 'link') symlinkSync(readlinkSync(from), to);
    else {
      copyFileSync(from, to);
      chmodSync(to, action.chmod ?? statSync(from).mode & 0o7777);
    }
    files++;
  };
  mkdirSync(intoDir ? dest : dirname(dest), {recursive: true});
  for (const m of matches) {
    const kind = kindOf(tree, m);
    if (kind !== 'dir') {
      place(join(tree.root, m), intoDir ? join(dest, basename(m)) : dest, kind);
      continue;
    }
    const prefix = m ? `${m}/` : '';
    for (const [rel, k] of tree.entries) {
      if (rel && rel.startsWith(prefix)) place(join(tree.root, rel), join(dest, rel.slice(prefix.length)), k);
    }
  }
  return {files, notes};
}

/** A named symlink to a file is followed, as Docker follows the source path itself; other links are copied as links. */
function kindOf(tree: SourceTree, rel: string): EntryKind {
  const kind = tree.entries.get(rel)!;
  if (kind !== 'link' || !rel) return kind;
  return isFile(join(tree.root, rel)) ? 'file' : 'link';
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Refuses a destination that a symlink in the rootfs leads outside it (a copy there would write to this machine). */
function assertInside(rootfs: string, path: string): void {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const rel = relative(realpathSync(rootfs), realpathSync(existing));
  if (rel === '..' || rel.startsWith(`..${sep}`)) {
    throw new CopyError(`the destination leads outside the image through the symlink at "${existing}"`);
  }
}
