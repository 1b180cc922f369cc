/**
 * Where container paths are on this machine: the image's filesystem is its rootfs folder, so
 * `/app` is `<rootfs>/app` and nothing can climb above it. The PATH an image sets gets its
 * image folders mapped the same way; the system folders of the base image are this machine's.
 */
import {join, posix} from 'node:path';

/** The node image's PATH: its folders are the system's, here this machine's. */
export const IMAGE_SYSTEM_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The host path of container path `path` (absolute, or relative to `/`) under `rootfs`. */
export function hostPath(rootfs: string, path: string): string {
  return join(rootfs, posix.resolve('/', path));
}

/** The container folder `workdir` relative to the rootfs (`/usr/src/app` → `usr/src/app`, `/` → `.`). */
export function rootfsRelative(workdir: string): string {
  return posix.resolve('/', workdir).slice(1) || '.';
}

/**
 * The folders of an image's PATH other than the system ones, mapped under `rootfs`
 * (`/app/node_modules/.bin:/usr/local/bin` → `<rootfs>/app/node_modules/.bin`), to put before
 * this machine's own PATH.
 */
export function imagePathDirs(value: string | undefined, rootfs: string): string[] {
  if (!value) return [];
  return value
    .split(':')
    .filter((dir) => dir && !IMAGE_SYSTEM_PATH.includes(dir.replace(/\/+$/, '')))
    .map((dir) => (dir.startsWith('/') ? hostPath(rootfs, dir) : dir));
}

/**
 * The environment of a RUN: the build step's own (allow-listed host variables, the build's
 * HOME and TMPDIR, node's folder on PATH), then the Dockerfile's ARGs and ENVs, with the
 * image's PATH folders first. HOME and TMPDIR stay the build's: no RUN writes to this machine's.
 */
export function runEnv(build: Record<string, string>, docker: Record<string, string>, rootfs: string): Record<string, string> {
  const env = {...build};
  for (const [k, v] of Object.entries(docker)) if (!['PATH', 'HOME', 'TMPDIR'].includes(k)) env[k] = v;
  env.PATH = [...new Set([...imagePathDirs(docker.PATH, rootfs), ...(build.PATH ?? '').split(':').filter(Boolean)])].join(':');
  return env;
}
