/**
 * How a revision's container is started as a local process, the way Cloud Run starts it:
 * its argv (see container-command.ts) in the image's working folder under the rootfs, the
 * environment from the image then the service, then Cloud Run's reserved variables. Without a
 * container, `node` is this machine's node, the node image's `docker-entrypoint.sh` is carried
 * out by its own rule, and an absolute path the image has (`CMD ["node", "/app/index.js"]`) is
 * the file under the rootfs. Pure: what the file system holds is asked of the host.
 */
import {dirname, join, posix} from 'node:path';
import {NODE_IMAGE_ENTRYPOINT, nodeEntrypointArgv} from '../build/dockerfile/command';
import {hostPath, imagePathDirs} from '../build/dockerfile/container-paths';
import type {LocalImage} from '../build/registry';

/** The process to start: argv, folder, environment. */
export interface ContainerLaunch {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** What comes from this machine: its node binary, its PATH, and what its file system holds. */
export interface LaunchHost {
  nodePath: string;
  path: string;
  exists(path: string): boolean;
  /** Whether `path` is a regular file. */
  isFile(path: string): boolean;
  /** Whether `path` is a regular file with the execute bit. */
  isExecutable(path: string): boolean;
}

/**
 * The launch of `argv` (the container's command) from `image`, with the service's `env` and
 * Cloud Run's `reserved` variables (PORT, K_SERVICE…), which win.
 */
export function containerLaunch(
  image: LocalImage,
  argv: string[],
  env: Record<string, string>,
  reserved: Record<string, string>,
  host: LaunchHost,
): ContainerLaunch {
  const {rootfs, config} = image;
  const cwd = join(rootfs, config.workingDir ?? '.');
  const inImage = (arg: string) => (arg.startsWith('/') && host.exists(hostPath(rootfs, arg)) ? hostPath(rootfs, arg) : arg);
  const {PATH: imagePath, ...imageEnv} = config.env;
  // Like a container, the app does not inherit the host's environment (credentials, emulator hosts): only a
  // PATH on which the image's own folders come first, then this machine's node, then the system's programs.
  const dirs = [...new Set([...imagePathDirs(imagePath, rootfs), dirname(host.nodePath), ...host.path.split(':').filter(Boolean)])];
  let [command, ...args] = argv;
  if (command === NODE_IMAGE_ENTRYPOINT) {
    const resolve = (name: string) => (name.startsWith('/') ? hostPath(rootfs, name) : join(cwd, name));
    [command, ...args] = nodeEntrypointArgv(args, {
      isCommand: (name) =>
        name.includes('/') ? host.isExecutable(resolve(name)) : dirs.some((d) => host.isExecutable(posix.join(d, name))),
      isPlainFile: (name) => host.isFile(resolve(name)) && !host.isExecutable(resolve(name)),
    });
  }
  return {
    argv: [command === 'node' ? host.nodePath : inImage(command), ...args.map(inImage)],
    cwd,
    env: {PATH: dirs.join(':'), ...imageEnv, ...env, ...reserved},
  };
}
