import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {parseNpmLocations, stepEnv, type StepEnvInput} from '../../../local/build/build-env';

// What a developer's shell plus the `npm start` that launched dropdeploy hold.
const host: NodeJS.ProcessEnv = {
  PATH: '/repo/node_modules/.bin:/node_modules/.bin:/usr/lib/node_modules/npm/node_modules/@npmcli/run-script/lib/node-gyp-bin:/home/dev/.cargo/bin:/usr/bin:/bin',
  HOME: '/home/dev',
  TMPDIR: '/home/dev/tmp',
  LANG: 'en_GB.UTF-8',
  TZ: 'Europe/Paris',
  HTTPS_PROXY: 'http://proxy:3128',
  NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
  GOOGLE_APPLICATION_CREDENTIALS: '/home/dev/key.json',
  CLOUDSDK_CONFIG: '/home/dev/.config/gcloud',
  CLOUDSDK_CORE_PROJECT: 'prod',
  AWS_ACCESS_KEY_ID: 'AKIA',
  AWS_SECRET_ACCESS_KEY: 's',
  GITHUB_TOKEN: 'ghp',
  NPM_TOKEN: 'npm',
  NODE_AUTH_TOKEN: 'npm2',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080',
  DROPDEPLOY_PROJECT: 'p',
  NODE_OPTIONS: '--require /repo/hook.js',
  NODE_PATH: '/repo/node_modules',
  NODE_ENV: 'development',
  INIT_CWD: '/repo',
  npm_lifecycle_event: 'start',
  npm_lifecycle_script: 'node dist/local/start.js',
  npm_package_name: 'dropdeploy',
  npm_config_cache: '/home/dev/.npm',
  npm_config_registry: 'https://registry.example',
  NPM_CONFIG_USERCONFIG: '/home/dev/.npmrc',
  npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
  npm_node_execpath: '/usr/bin/node',
  NODE: '/usr/bin/node',
  EDITOR: 'vi',
  COLOR: '1',
};
const base: StepEnvInput = {
  host,
  sourceRoot: '/tmp/work/b1/src',
  home: '/tmp/work/b1/home',
  tmp: '/tmp/work/b1/tmp',
  nodeDir: '/opt/node/bin',
  npm: {userconfig: '/home/dev/.npmrc', cache: '/home/dev/.npm'},
};
const PATH = '/tmp/work/b1/src/node_modules/.bin:/opt/node/bin:/usr/local/bin:/usr/bin:/bin';

describe('stepEnv: an allow-list, never the host environment', () => {
  const cases: Array<{name: string; input: StepEnvInput; want: Record<string, string>}> = [
    {
      name: 'an app: its own PATH and HOME, the machine npm config, locale, proxy; nothing else of the host',
      input: base,
      want: {
        PATH,
        HOME: '/tmp/work/b1/home',
        TMPDIR: '/tmp/work/b1/tmp',
        LANG: 'en_GB.UTF-8',
        TZ: 'Europe/Paris',
        HTTPS_PROXY: 'http://proxy:3128',
        NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
        npm_config_userconfig: '/home/dev/.npmrc',
        npm_config_cache: '/home/dev/.npm',
      },
    },
    {
      name: 'a function: the step env reaches the step',
      input: {...base, host: {}, stepEnv: ['GOOGLE_FUNCTION_TARGET=hello', 'GOOGLE_FUNCTION_SIGNATURE_TYPE=cloudevent', 'X=a=b']},
      want: {
        PATH,
        HOME: '/tmp/work/b1/home',
        TMPDIR: '/tmp/work/b1/tmp',
        npm_config_userconfig: '/home/dev/.npmrc',
        npm_config_cache: '/home/dev/.npm',
        GOOGLE_FUNCTION_TARGET: 'hello',
        GOOGLE_FUNCTION_SIGNATURE_TYPE: 'cloudevent',
        X: 'a=b',
      },
    },
    {
      name: 'a step env cannot widen PATH or move HOME',
      input: {...base, host: {}, npm: {}, stepEnv: ['PATH=/repo/node_modules/.bin', 'HOME=/home/dev', 'NODE_ENV=production']},
      want: {PATH, HOME: '/tmp/work/b1/home', TMPDIR: '/tmp/work/b1/tmp', NODE_ENV: 'production'},
    },
    {
      name: 'npm next to node in a system folder: each folder once',
      input: {...base, host: {}, npm: {}, nodeDir: '/usr/bin'},
      want: {
        PATH: '/tmp/work/b1/src/node_modules/.bin:/usr/bin:/usr/local/bin:/bin',
        HOME: '/tmp/work/b1/home',
        TMPDIR: '/tmp/work/b1/tmp',
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(stepEnv(c.input), c.want));
  }
});

describe('parseNpmLocations', () => {
  const cases: Array<{name: string; input: string; want: object}> = [
    {
      name: 'both',
      input: 'cache=/home/dev/.npm\nuserconfig=/home/dev/.npmrc\n',
      want: {cache: '/home/dev/.npm', userconfig: '/home/dev/.npmrc'},
    },
    {name: 'a path with = in it', input: 'cache=/a=b\nuserconfig=/c\n', want: {cache: '/a=b', userconfig: '/c'}},
    {name: 'nothing', input: '', want: {}},
    {name: 'an empty value', input: 'cache=\nuserconfig=/c', want: {userconfig: '/c'}},
    {name: 'other output', input: 'npm warn config something\ncache=/x', want: {cache: '/x'}},
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(parseNpmLocations(c.input), c.want));
  }
});
