import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {containerLaunch, type ContainerLaunch} from '../../../local/cloud-run/container-launch';
import type {ImageConfig} from '../../../local/build/registry';

const ROOTFS = '/reg/images/sha256-1/rootfs';
/** A host whose file system holds `files` (plain) and `executables`. */
const host = (files: string[] = [], executables: string[] = []) => ({
  nodePath: '/opt/node/bin/node',
  path: '/usr/bin:/bin',
  exists: (p: string) => files.includes(p) || executables.includes(p),
  isFile: (p: string) => files.includes(p) || executables.includes(p),
  isExecutable: (p: string) => executables.includes(p),
});
const reserved = {PORT: '41000', K_SERVICE: 'hello', K_REVISION: 'hello-00001-abc', K_CONFIGURATION: 'hello'};

const rows: {
  name: string;
  config: ImageConfig;
  argv?: string[];
  env?: Record<string, string>;
  files?: string[];
  executables?: string[];
  want: ContainerLaunch;
}[] = [
  {
    name: 'a buildpacks image: node is the host node, cwd the rootfs, the image env then the service env',
    config: {entrypoint: ['node', 'server.js'], env: {NODE_ENV: 'production', A: 'image'}},
    env: {A: 'service'},
    want: {
      argv: ['/opt/node/bin/node', 'server.js'],
      cwd: ROOTFS,
      env: {PATH: '/opt/node/bin:/usr/bin:/bin', NODE_ENV: 'production', A: 'service', ...reserved},
    },
  },
  {
    name: "a Dockerfile image: its WORKDIR under the rootfs, its PATH's image folders mapped, an absolute script under the rootfs",
    config: {
      entrypoint: ['node', '/app/dist/index.js', '/etc/not-in-image'],
      env: {PATH: '/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'},
      workingDir: 'app',
      user: 'node',
      exposedPorts: ['3000'],
    },
    files: [`${ROOTFS}/app/dist/index.js`],
    want: {
      argv: ['/opt/node/bin/node', `${ROOTFS}/app/dist/index.js`, '/etc/not-in-image'],
      cwd: `${ROOTFS}/app`,
      env: {PATH: `${ROOTFS}/app/node_modules/.bin:/opt/node/bin:/usr/bin:/bin`, ...reserved},
    },
  },
  {
    name: "a shell-form CMD: the shell is this machine's, node on its PATH is the host node",
    config: {entrypoint: ['/bin/sh', '-c', 'node index.js'], env: {}, workingDir: 'usr/src/app'},
    want: {argv: ['/bin/sh', '-c', 'node index.js'], cwd: `${ROOTFS}/usr/src/app`, env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved}},
  },
  {
    name: 'PORT is Cloud Run’s, whatever the image or the service say',
    config: {entrypoint: ['node', 'a.js'], env: {PORT: '3000'}, exposedPorts: ['3000']},
    env: {PORT: '9999'},
    want: {argv: ['/opt/node/bin/node', 'a.js'], cwd: ROOTFS, env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved}},
  },
  {
    name: "the node image's entrypoint: a script name as CMD runs with node, as docker-entrypoint.sh does",
    config: {entrypoint: ['docker-entrypoint.sh'], cmd: ['index.js'], env: {}, workingDir: 'app'},
    files: [`${ROOTFS}/app/index.js`],
    want: {argv: ['/opt/node/bin/node', 'index.js'], cwd: `${ROOTFS}/app`, env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved}},
  },
  {
    name: "the node image's entrypoint: a command on PATH runs as it is",
    config: {entrypoint: ['docker-entrypoint.sh'], cmd: ['npm', 'start'], env: {}},
    executables: ['/usr/bin/npm'],
    want: {argv: ['npm', 'start'], cwd: ROOTFS, env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved}},
  },
  {
    name: "the node image's entrypoint: a flag first runs node with it",
    config: {entrypoint: ['docker-entrypoint.sh'], cmd: ['--enable-source-maps', 'a.js'], env: {}},
    want: {
      argv: ['/opt/node/bin/node', '--enable-source-maps', 'a.js'],
      cwd: ROOTFS,
      env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved},
    },
  },
  {
    name: "a service's command replaces the node image's entrypoint: no node put in front",
    config: {entrypoint: ['docker-entrypoint.sh'], cmd: ['index.js'], env: {}},
    argv: ['./start.sh', 'fast'],
    executables: [`${ROOTFS}/start.sh`],
    want: {argv: ['./start.sh', 'fast'], cwd: ROOTFS, env: {PATH: '/opt/node/bin:/usr/bin:/bin', ...reserved}},
  },
];

describe('how the local Cloud Run launches an image as a container', () => {
  for (const r of rows) {
    it(r.name, () => {
      assert.deepEqual(
        containerLaunch(
          {digest: 'sha256:1', rootfs: ROOTFS, config: r.config},
          r.argv ?? [...r.config.entrypoint, ...(r.config.cmd ?? [])],
          r.env ?? {},
          reserved,
          host(r.files, r.executables),
        ),
        r.want,
      );
    });
  }
});
