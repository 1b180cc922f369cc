/**
 * The build context as `docker build` sends it: every file of the source except what
 * `.dockerignore` excludes, matched with @balena/dockerignore (a port of Docker's own rules:
 * patterns anchored at the context root, `**`, `!` exceptions that can re-include a file
 * under an excluded folder).
 */
import {existsSync, lstatSync, readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import ignore from '@balena/dockerignore';

/** What an entry of a tree is. */
export type EntryKind = 'dir' | 'file' | 'link';

/** A tree to COPY from: its root folder and its entries by relative path (`''` is the root). */
export interface SourceTree {
  root: string;
  entries: Map<string, EntryKind>;
  /** Whether a path exists under root but was left out (by .dockerignore). */
  excluded(rel: string): boolean;
}

/** The context at `root`, filtered by its `.dockerignore`; `patterns` says how many rules it had. */
export function buildContext(root: string): {tree: SourceTree; patterns: number} {
  const file = join(root, '.dockerignore');
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : [];
  const ig = ignore().add(rules);
  // Without exceptions nothing under an excluded folder can come back: skip walking it (node_modules).
  const reincludes = rules.some((r) => r.startsWith('!'));
  const entries = walk(root, (rel) => ig.ignores(rel), !reincludes);
  return {
    tree: {root, entries, excluded: (rel) => !entries.has(rel) && existsSync(join(root, rel))},
    patterns: rules.length,
  };
}

/** Every entry of the tree at `root` (a stage's rootfs), unfiltered. */
export function wholeTree(root: string): SourceTree {
  return {root, entries: walk(root, () => false, true), excluded: () => false};
}

function walk(root: string, ignored: (rel: string) => boolean, pruneIgnoredDirs: boolean): Map<string, EntryKind> {
  const entries = new Map<string, EntryKind>([['', 'dir']]);
  const visit = (rel: string): boolean => {
    let kept = false;
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const out = ignored(path);
      if (st.isDirectory()) {
        if (out && pruneIgnoredDirs) continue;
        // An excluded folder is still there when an exception keeps something inside it.
        if (!out) entries.set(path, 'dir');
        const inner = visit(path);
        if (out && inner) entries.set(path, 'dir');
        kept ||= !out || inner;
      } else if (!out && (st.isFile() || st.isSymbolicLink())) {
        entries.set(path, st.isSymbolicLink() ? 'link' : 'file');
        kept = true;
      }
    }
    return kept;
  };
  visit('');
  return entries;
}
