/**
 * The local content-addressed image registry. An "image" is a directory (the built app)
 * plus a config (entrypoint, env, working dir, and for a Dockerfile its user and ports). Its digest is the SHA-256 of its content:
 * every file's relative path, mode and content hash, plus the config — so the same build
 * output always has the same digest, and any change gives a new one.
 *
 * Layout under `root`:
 *   images/sha256-<hex>/rootfs/…     the files
 *   images/sha256-<hex>/config.json  the ImageConfig
 *   tags.json                        { "<repository>:<tag>": "sha256:<hex>" }
 */
import {createHash} from 'node:crypto';
import {cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {lstat, readdir, readFile, readlink} from 'node:fs/promises';
import {join} from 'node:path';

/** How to run an image. */
export interface ImageConfig {
  /** argv, run in `workingDir` (relative to rootfs): the image's ENTRYPOINT; a buildpacks image has its whole command here. */
  entrypoint: string[];
  /** The image's CMD: arguments after `entrypoint` (the whole argv when it is empty); a service's `args` replace them. */
  cmd?: string[];
  env: Record<string, string>;
  workingDir?: string;
  // Only images built from a Dockerfile have these; buildpacks images (and their digests) stay as they were.
  /** The Dockerfile's USER, recorded: the local run cannot switch users. */
  user?: string;
  /** The Dockerfile's EXPOSE ports, e.g. ["3000", "8080/tcp"], recorded: Cloud Run sends requests to PORT. */
  exposedPorts?: string[];
  labels?: Record<string, string>;
}

/** A resolved image. */
export interface LocalImage {
  digest: string;
  rootfs: string;
  config: ImageConfig;
}

/** Hashes a directory tree: sorted relative paths with mode and content (symlinks by target). */
export async function treeDigest(dir: string, config: ImageConfig): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(dir, rel))).sort();
    for (const name of entries) {
      const path = join(rel, name);
      const st = await lstat(join(dir, path));
      if (st.isDirectory()) {
        hash.update(`d ${path}\0`);
        await walk(path);
      } else if (st.isSymbolicLink()) {
        hash.update(`l ${path} ${await readlink(join(dir, path))}\0`);
      } else if (st.isFile()) {
        const content = createHash('sha256')
          .update(await readFile(join(dir, path)))
          .digest('hex');
        hash.update(`f ${path} ${st.mode & 0o111 ? 'x' : '-'} ${content}\0`);
      }
    }
  };
  await walk('');
  hash.update(JSON.stringify(config));
  return `sha256:${hash.digest('hex')}`;
}

/** The registry at `root`. */
export class LocalRegistry {
  constructor(readonly root: string) {
    mkdirSync(join(root, 'images'), {recursive: true});
  }

  private dirOf(digest: string): string {
    return join(this.root, 'images', digest.replace(':', '-'));
  }

  private tags(): Record<string, string> {
    const p = join(this.root, 'tags.json');
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, string>) : {};
  }

  /**
   * Stores the directory `rootfs` (moved, not copied) as an image and tags it `name`
   * (`repository:tag`). Returns the digest; pushing identical content again is a no-op.
   */
  async push(name: string, rootfs: string, config: ImageConfig): Promise<string> {
    const digest = await treeDigest(rootfs, config);
    const dir = this.dirOf(digest);
    if (!existsSync(dir)) {
      const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
      mkdirSync(tmp, {recursive: true});
      moveTree(rootfs, join(tmp, 'rootfs'));
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2));
      renameSync(tmp, dir);
    } else {
      rmSync(rootfs, {recursive: true, force: true});
    }
    const tags = this.tags();
    tags[name] = digest;
    const p = join(this.root, 'tags.json');
    writeFileSync(`${p}.tmp`, JSON.stringify(tags, null, 2));
    renameSync(`${p}.tmp`, p);
    return digest;
  }

  /** Resolves `repository@sha256:…` or `repository:tag` to an image, or undefined. */
  resolve(ref: string): LocalImage | undefined {
    const at = ref.indexOf('@sha256:');
    const digest = at >= 0 ? ref.slice(at + 1) : this.tags()[ref];
    if (!digest || !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
    const dir = this.dirOf(digest);
    if (!existsSync(join(dir, 'config.json'))) return undefined;
    return {digest, rootfs: join(dir, 'rootfs'), config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as ImageConfig};
  }
}

/**
 * Renames `from` to `to`, or copies and removes it when they are on different file systems:
 * builds happen in the system temp folder (outside any Node.js project), often a tmpfs.
 */
function moveTree(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    // verbatimSymlinks: a relative link stays relative instead of pointing back into `from`.
    cpSync(from, to, {recursive: true, verbatimSymlinks: true, preserveTimestamps: true});
    rmSync(from, {recursive: true, force: true});
  }
}
