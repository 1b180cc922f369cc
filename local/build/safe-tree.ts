/**
 * Writes archive entries under one destination directory and nowhere else: every path is
 * checked by the tree policy, nothing is ever written through a symlink, links may only lead
 * inside, and special files are refused.
 */
import {chmod, link, lstat, mkdir, open, readdir, readlink, rm, symlink, unlink, type FileHandle} from 'node:fs/promises';
import {join, sep} from 'node:path';
import type {ArchiveEntry} from './archive-entry';
import {ExtractError} from './extract-limits';
import {checkPathLength, linkRefusal, linkTarget, resolveLink, safeRelative} from './tree-policy';

/** Receives the bytes of one file entry. */
export interface EntryWriter {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

/** The destination tree being filled. */
export class SafeTree {
  // The entry that made each symlink, by its path, to name it in a refusal.
  private readonly symlinks = new Map<string, string>();

  constructor(readonly dest: string) {}

  /** Creates what `entry` describes; for a file, returns the writer of its bytes. */
  async add(entry: ArchiveEntry): Promise<EntryWriter | undefined> {
    const {name} = entry;
    if (entry.type === 'other') {
      throw new ExtractError(`entry "${name}" is a ${entry.kind}; only files, directories and links are allowed`, name);
    }
    const rel = safeRelative(name);
    if (rel === '') {
      if (entry.type === 'dir') return undefined;
      throw new ExtractError(`entry "${name}" has no file name`, name);
    }
    checkPathLength(this.dest, rel, name);
    const target = entry.type === 'symlink' || entry.type === 'hardlink' ? linkTarget(entry, rel) : undefined;
    const path = await this.prepare(rel, name, entry.type === 'dir');
    switch (entry.type) {
      case 'dir':
        await mkdir(path, {recursive: true});
        return undefined;
      case 'symlink':
        await symlink(entry.linkTarget!, path);
        this.symlinks.set(rel, name);
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
   * After the last entry: each symlink must lead inside the tree when every other link in it is
   * followed, whether or not its final target exists yet. Checked on the finished tree, since a
   * later entry can change what an earlier link leads through (`a -> .` then `b -> a/..`).
   */
  async finish(): Promise<void> {
    if (!this.symlinks.size) return;
    const links = await symlinksIn(this.dest);
    // In archive order, so that a refusal names the first entry that leads out.
    for (const rel of new Set([...this.symlinks.keys(), ...links.keys()])) {
      const target = links.get(rel);
      if (target === undefined) continue; // replaced by a later entry
      const refusal = linkRefusal(this.symlinks.get(rel) ?? rel, target, resolveLink(rel, links));
      if (refusal) throw refusal;
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
      else if (st.isSymbolicLink())
        throw new ExtractError(`entry "${name}" would be written through the symlink "${relOf(this.dest, path)}"`, name);
      else if (!st.isDirectory())
        throw new ExtractError(`entry "${name}" is inside "${relOf(this.dest, path)}", which is not a directory`, name);
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
      if (st.isSymbolicLink())
        throw new ExtractError(`entry "${name}" is a hard link through the symlink "${relOf(this.dest, path)}"`, name);
    }
    if (!(await lstat(path)).isFile())
      throw new ExtractError(`entry "${name}" is a hard link to "${targetRel}", which is not a file`, name);
    return path;
  }
}

/** Every symlink under `dest` (following none), by its path relative to `dest`, with its target. */
async function symlinksIn(dest: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const d of await readdir(dir, {withFileTypes: true})) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isSymbolicLink()) links.set(r, await readlink(join(dir, d.name)));
      else if (d.isDirectory()) await walk(join(dir, d.name), r);
    }
  };
  await walk(dest, '');
  return links;
}

function relOf(dest: string, path: string): string {
  return path
    .slice(dest.length + 1)
    .split(sep)
    .join('/');
}

function fileWriter(fh: FileHandle): EntryWriter {
  return {
    write: async (chunk) => {
      for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off)).bytesWritten;
    },
    end: () => fh.close(),
  };
}
