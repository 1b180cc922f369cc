/**
 * How a revision's container is started as a local process, the way Cloud Run starts it:
 * the image's command in its working folder under the rootfs, the environment from the image
 * then the service, then Cloud Run's reserved variables. Without a container, `node` is this
 * machine's node, and an absolute path the image has (`CMD ["node", "/app/index.js"]`) is the
 * file under the rootfs. Pure: whether a file exists is asked of `exists`.
 */
import {dirname, join} from 'node:path';
import {hostPath, imagePathDirs} from '../build/dockerfile/container-paths';
import type {LocalImage} from '../build/registry';

/** The process to start: argv, folder, environment. */
export interface ContainerLaunch {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
}

/** What comes from this machine: its node binary and its PATH. */
export interface LaunchHost {
  nodePath: string;
  path: string;
  exists(path: string): boolean;
}

/** The launch of `image` with the service's `env` and Cloud Run's `reserved` variables (PORT, K_SERVICE…), which win. */
export function containerLaunch(
  image: LocalImage,
  env: Record<string, string>,
  reserved: Record<string, string>,
  host: LaunchHost,
): ContainerLaunch {
  const {rootfs, config} = image;
  const inImage = (arg: string) => (arg.startsWith('/') && host.exists(hostPath(rootfs, arg)) ? hostPath(rootfs, arg) : arg);
  const [command, ...args] = config.entrypoint;
  const {PATH: imagePath, ...imageEnv} = config.env;
  // Like a container, the app does not inherit the host's environment (credentials, emulator hosts): only a
  // PATH on which the image's own folders come first, then this machine's node, then the system's programs.
  const path = [...imagePathDirs(imagePath, rootfs), dirname(host.nodePath), ...host.path.split(':').filter(Boolean)];
  return {
    argv: [command === 'node' ? host.nodePath : inImage(command), ...args.map(inImage)],
    cwd: join(rootfs, config.workingDir ?? '.'),
    env: {PATH: [...new Set(path)].join(':'), ...imageEnv, ...env, ...reserved},
  };
}
