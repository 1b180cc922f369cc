/**
 * Writes archive entries under one destination directory and nowhere else: every path is
 * checked lexically, nothing is ever written through a symlink, links may only point inside,
 * and special files are refused.
 */
import {chmod, link, lstat, mkdir, open, realpath, rm, symlink, unlink, type FileHandle} from 'node:fs/promises';
import {join, posix, sep} from 'node:path';
import {ExtractError} from './extract-limits';

/** An entry as both archive formats describe it. */
export interface ArchiveEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'special';
  /** For `special`: what it is (FIFO, character device, ...), for the refusal. */
  kind?: string;
  mode: number;
  /** Symlink target (relative to the link's folder), or hard link target (relative to the archive root). */
  linkTarget?: string;
}

/** Receives the bytes of one file entry. */
export interface EntryWriter {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

const ABSOLUTE = /^(?:[\\/]|[A-Za-z]:)/;

/** The normalised archive-relative path of `name` ('' for the root), or throws if it is absolute or escapes. */
export function safeRelative(name: string, what = 'entry', entry = name): string {
  if (ABSOLUTE.test(name)) throw new ExtractError(`${what} "${name}" is an absolute path`, entry);
  if (name.includes('\0')) throw new ExtractError(`${what} "${name}" contains a NUL byte`, entry);
  const out: string[] = [];
  // Backslashes count as separators: a zip made on Windows uses them, and `..\x` must not slip through.
  for (const seg of name.split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (!out.length) throw new ExtractError(`${what} "${name}" points outside the archive root (../)`, entry);
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

/** The destination tree being filled. */
export class SafeTree {
  private readonly symlinks: Array<{rel: string; name: string; target: string}> = [];

  constructor(readonly dest: string) {}

  /** Creates what `entry` describes; for a file, returns the writer of its bytes. */
  async add(entry: ArchiveEntry): Promise<EntryWriter | undefined> {
    const {name} = entry;
    if (entry.type === 'special') {
      throw new ExtractError(`entry "${name}" is a ${entry.kind}; only files, directories and links are allowed`, name);
    }
    const rel = safeRelative(name);
    if (rel === '') {
      if (entry.type === 'dir') return undefined;
      throw new ExtractError(`entry "${name}" has no file name`, name);
    }
    const target = entry.type === 'symlink' || entry.type === 'hardlink' ? this.checkLink(entry, rel) : undefined;
    const path = await this.prepare(rel, name, entry.type === 'dir');
    switch (entry.type) {
      case 'dir':
        await mkdir(path, {recursive: true});
        return undefined;
      case 'symlink':
        await symlink(entry.linkTarget!, path);
        this.symlinks.push({rel, name, target: entry.linkTarget!});
        return undefined;
      case 'hardlink': {
        const source = await this.hardlinkSource(target!, name);
        await link(source, path);
        return undefined;
      }
      default:
        // 'wx' (O_EXCL) never follows a link someone put at that path, and the mode keeps only permission bits.
        return fileWriter(await open(path, 'wx', (entry.mode & 0o755) | 0o600));
    }
  }

  /**
   * After the last entry: each symlink must resolve inside the tree. This catches chains the
   * lexical check cannot see (`a -> .` then `b -> a/..`).
   */
  async finish(): Promise<void> {
    const root = await realpath(this.dest);
    for (const s of this.symlinks) {
      let resolved: string;
      try {
        resolved = await realpath(join(this.dest, s.rel));
      } catch {
        continue; // dangling: it points at nothing, and the lexical check kept it inside
      }
      if (resolved !== root && !resolved.startsWith(root + sep)) {
        throw new ExtractError(`entry "${s.name}" is a symlink to "${s.target}", which resolves outside the archive`, s.name);
      }
    }
  }

  private checkLink(entry: ArchiveEntry, rel: string): string {
    const target = entry.linkTarget ?? '';
    const kind = entry.type === 'symlink' ? 'a symlink' : 'a hard link';
    if (!target) throw new ExtractError(`entry "${entry.name}" is ${kind} with no target`, entry.name);
    if (ABSOLUTE.test(target)) {
      throw new ExtractError(`entry "${entry.name}" is ${kind} to the absolute path "${target}"; links must stay inside the archive`, entry.name);
    }
    // A symlink's target is relative to its own folder; a tar hard link's to the archive root.
    const from = entry.type === 'symlink' ? posix.join(posix.dirname(rel), target) : target;
    try {
      return safeRelative(from, 'link target', entry.name);
    } catch {
      throw new ExtractError(`entry "${entry.name}" is ${kind} to "${target}", which points outside the archive`, entry.name);
    }
  }

  /** Makes the parent folders (never through a symlink) and clears what is at the entry's path. */
  private async prepare(rel: string, name: string, isDir: boolean): Promise<string> {
    const segs = rel.split('/');
    let path = this.dest;
    for (const seg of segs.slice(0, -1)) {
      path = join(path, seg);
      const st = await lstat(path).catch(() => undefined);
      if (!st) await mkdir(path, {mode: 0o755});
      else if (st.isSymbolicLink()) throw new ExtractError(`entry "${name}" would be written through the symlink "${relOf(this.dest, path)}"`, name);
      else if (!st.isDirectory()) throw new ExtractError(`entry "${name}" is inside "${relOf(this.dest, path)}", which is not a directory`, name);
    }
    path = join(path, segs[segs.length - 1]);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isDirectory() && isDir) await chmod(path, 0o755);
    else if (st?.isDirectory()) await rm(path, {recursive: true, force: true});
    else if (st) await unlink(path); // a later entry replaces an earlier one, as tar does
    return path;
  }

  private async hardlinkSource(targetRel: string, name: string): Promise<string> {
    let path = this.dest;
    for (const seg of targetRel.split('/')) {
      path = join(path, seg);
      const st = await lstat(path).catch(() => undefined);
      if (!st) throw new ExtractError(`entry "${name}" is a hard link to "${targetRel}", which is not in the archive before it`, name);
      if (st.isSymbolicLink()) throw new ExtractError(`entry "${name}" is a hard link through the symlink "${relOf(this.dest, path)}"`, name);
    }
    if (!(await lstat(path)).isFile()) throw new ExtractError(`entry "${name}" is a hard link to "${targetRel}", which is not a file`, name);
    return path;
  }
}

function relOf(dest: string, path: string): string {
  return path.slice(dest.length + 1).split(sep).join('/');
}

function fileWriter(fh: FileHandle): EntryWriter {
  return {
    write: async (chunk) => {
      for (let off = 0; off < chunk.length; ) off += (await fh.write(chunk, off)).bytesWritten;
    },
    end: () => fh.close(),
  };
}
