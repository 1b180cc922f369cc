import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {parsePackageJson} from '../../../../local/build/buildpacks/package-json';
import {planBuild, type BuildPlan, type SourceShape} from '../../../../local/build/buildpacks/plan';

const STORE = '/build/pnpm-store';

/** A source shape: the files that exist, package.json (undefined: none), and the rest. */
function shape(files: string[], pkg: object | undefined, extra: Partial<SourceShape> = {}): SourceShape {
  return {
    files: new Set([...files, ...(pkg ? ['package.json'] : [])]),
    packageJson: pkg && parsePackageJson(JSON.stringify(pkg)),
    projectEnv: [],
    stepEnv: [],
    hostNode: 'v20.20.2',
    hostNpm: '11.6.0',
    pnpmStore: STORE,
    ...extra,
  };
}

const cmd = (plan: BuildPlan, part: 'install' | 'build' | 'prune' | 'afterRestore') => {
  const steps = part === 'install' ? (plan.install ? [plan.install] : []) : plan[part];
  return steps.map((s) => [s.display.join(' '), s.env ?? {}]);
};
const PNPM9 = ['exec', '--yes', '--package=pnpm@9.12.0', '--', 'pnpm'];
const dev = {devDependencies: {typescript: '5.4.5'}};

interface Row {
  name: string;
  src: SourceShape;
  want: {
    install?: Array<[string, Record<string, string>]>;
    build?: string[];
    prune?: string[];
    afterRestore?: string[];
    via?: string[];
    log?: RegExp[];
    noLog?: RegExp[];
    cache?: string | null;
    fn?: BuildPlan['fn'];
    start?: BuildPlan['start'];
    imageEnv?: Record<string, string>;
    pnp?: boolean;
  };
}

const rows: Row[] = [
  {
    name: 'npm with package-lock.json, no build script: npm ci for production, cached by the lockfile',
    src: shape(['package-lock.json', 'server.js'], {dependencies: {ms: '^2'}, ...dev}),
    want: {
      install: [['npm ci --quiet --no-fund --no-audit', {NODE_ENV: 'production'}]],
      build: [],
      prune: [],
      via: [],
      cache: 'package-lock.json',
      log: [
        /^Using Node\.js v20\.20\.2 \(the host's; no engines\.node/,
        /^Using package manager: npm 11\.6\.0 \(package-lock\.json; the host's npm\)$/,
        /^Installing with NODE_ENV=production: no build script/,
      ],
      start: {kind: 'node', file: 'server.js', why: 'npm start runs server.js when there is no start script'},
      imageEnv: {NODE_ENV: 'production'},
    },
  },
  {
    name: 'npm-shrinkwrap.json wins over package-lock.json',
    src: shape(['npm-shrinkwrap.json', 'package-lock.json'], {main: 'app.js'}),
    want: {
      cache: 'npm-shrinkwrap.json',
      log: [/\(npm-shrinkwrap\.json; /],
      start: {kind: 'node', file: 'app.js', why: 'the main file in package.json'},
    },
  },
  {
    name: 'npm without a lockfile: npm install, the buildpack warning, no cache',
    src: shape(['index.js'], {}),
    want: {
      install: [['npm install --quiet --no-fund --no-audit', {NODE_ENV: 'production'}]],
      cache: null,
      log: [
        /^WARNING: \*\*\* Improve build performance by generating and committing package-lock\.json\.$/,
        /^Using package manager: npm 11\.6\.0 \(no lockfile;/,
      ],
      start: {kind: 'node', file: 'index.js', why: 'no start script, server.js or main in package.json'},
    },
  },
  {
    name: 'gcp-build with devDependencies: installed for the build, then pruned',
    src: shape(['package-lock.json'], {scripts: {'gcp-build': 'tsc', start: 'node dist/index.js'}, ...dev}),
    want: {
      install: [['npm ci --quiet --no-fund --no-audit', {NODE_ENV: 'development'}]],
      build: ['npm run gcp-build'],
      prune: ['npm prune --omit=dev --quiet --no-fund --no-audit'],
      log: [/^Running the gcp-build script$/, /^Installing with NODE_ENV=development: the build scripts get the devDependencies$/],
      start: {kind: 'script', script: 'node dist/index.js'},
    },
  },
  {
    name: 'gcp-build without devDependencies: nothing to prune',
    src: shape(['package-lock.json'], {scripts: {'gcp-build': 'node gen.js'}}),
    want: {build: ['npm run gcp-build'], prune: []},
  },
  {
    name: 'a build script runs by default, gcp-build first when both exist',
    src: shape(['package-lock.json'], {scripts: {build: 'tsc', 'gcp-build': 'tsc -p prod'}, ...dev}),
    want: {build: ['npm run gcp-build']},
  },
  {
    name: 'the build script alone runs, as the buildpacks do by default',
    src: shape(['package-lock.json'], {scripts: {build: 'tsc'}, ...dev}),
    want: {build: ['npm run build'], log: [/^Running the build script, as the buildpacks do by default/]},
  },
  {
    name: 'GOOGLE_NODE_RUN_SCRIPTS from project.toml replaces gcp-build',
    src: shape(
      ['package-lock.json'],
      {scripts: {'gcp-build': 'x', lint: 'y', build: 'z'}, ...dev},
      {projectEnv: [{name: 'GOOGLE_NODE_RUN_SCRIPTS', value: 'lint, build'}]},
    ),
    want: {
      build: ['npm run lint', 'npm run build'],
      prune: ['npm prune --omit=dev --quiet --no-fund --no-audit'],
      log: [
        /^Build env from project\.toml: applied GOOGLE_NODE_RUN_SCRIPTS$/,
        /^Running the scripts in GOOGLE_NODE_RUN_SCRIPTS: lint, build$/,
      ],
    },
  },
  {
    name: 'an empty GOOGLE_NODE_RUN_SCRIPTS runs no build script',
    src: shape(['package-lock.json'], {scripts: {build: 'z'}, ...dev}, {projectEnv: [{name: 'GOOGLE_NODE_RUN_SCRIPTS', value: ''}]}),
    want: {build: [], prune: [], install: [['npm ci --quiet --no-fund --no-audit', {NODE_ENV: 'production'}]]},
  },
  {
    name: 'NODE_ENV=development in the build env keeps the devDependencies',
    src: shape(['package-lock.json'], {scripts: {'gcp-build': 'tsc'}, ...dev}, {projectEnv: [{name: 'NODE_ENV', value: 'development'}]}),
    want: {
      install: [['npm ci --quiet --no-fund --no-audit', {NODE_ENV: 'development'}]],
      prune: [],
      log: [
        /^Retaining devDependencies because \$NODE_ENV="development"\.$/,
        /^Installing with NODE_ENV=development \(from the build env\)$/,
      ],
      imageEnv: {NODE_ENV: 'development'},
    },
  },
  {
    name: 'pnpm-lock.yaml: pnpm at the packageManager version, through npm exec, with CI=true and its store in the build',
    src: shape(['pnpm-lock.yaml'], {packageManager: 'pnpm@9.12.0+sha512.abc', scripts: {'gcp-build': 'tsc'}, ...dev}),
    want: {
      via: PNPM9,
      install: [[`pnpm install --store-dir=${STORE}`, {CI: 'true', NODE_ENV: 'development'}]],
      build: ['pnpm run gcp-build'],
      prune: [`pnpm prune --prod --config.store-dir=${STORE}`],
      cache: 'pnpm-lock.yaml',
      log: [/^Using package manager: pnpm 9\.12\.0 \(pnpm-lock\.yaml; version from packageManager in package\.json\)$/],
    },
  },
  {
    name: 'pnpm: engines.pnpm wins over packageManager; no version at all is the latest',
    src: shape(['pnpm-lock.yaml'], {engines: {pnpm: '^8'}, packageManager: 'pnpm@9.0.0'}),
    want: {
      via: ['exec', '--yes', '--package=pnpm@^8', '--', 'pnpm'],
      prune: [],
      log: [/pnpm \^8 \(pnpm-lock\.yaml; version from engines\.pnpm/],
    },
  },
  {
    name: 'pnpm with NODE_ENV set by the user does not prune',
    src: shape(['pnpm-lock.yaml'], {scripts: {build: 'tsc'}, ...dev}, {projectEnv: [{name: 'NODE_ENV', value: 'development'}]}),
    want: {via: ['exec', '--yes', '--package=pnpm@latest', '--', 'pnpm'], prune: []},
  },
  {
    name: 'yarn.lock wins over pnpm-lock.yaml (the builder tries the yarn group first); Yarn classic',
    src: shape(['yarn.lock', 'pnpm-lock.yaml'], {scripts: {'gcp-build': 'tsc', build: 'x'}, ...dev}),
    want: {
      via: ['exec', '--yes', '--package=yarn@latest', '--', 'yarn'],
      install: [['yarn install --non-interactive --prefer-offline --frozen-lockfile --production=false', {}]],
      build: ['yarn run gcp-build'],
      prune: ['yarn install --ignore-scripts --prefer-offline --production=true --frozen-lockfile'],
      cache: 'yarn.lock',
      log: [/^Using package manager: yarn latest \(yarn\.lock has no __metadata block: Yarn classic; the latest yarn package, 1\.x\)$/],
    },
  },
  {
    name: 'Yarn classic without gcp-build keeps devDependencies and ignores GOOGLE_NODE_RUN_SCRIPTS and build',
    src: shape(
      ['yarn.lock'],
      {packageManager: 'yarn@1.22.22', scripts: {build: 'x'}, ...dev},
      {stepEnv: ['GOOGLE_NODE_RUN_SCRIPTS=build']},
    ),
    want: {
      via: ['exec', '--yes', '--package=yarn@1.22.22', '--', 'yarn'],
      install: [['yarn install --non-interactive --prefer-offline --frozen-lockfile', {}]],
      build: [],
      prune: [],
      log: [
        /^WARNING: GOOGLE_NODE_RUN_SCRIPTS is not read by the yarn buildpack/,
        /^The build script does not run: with yarn/,
        /^devDependencies are installed and kept/,
      ],
    },
  },
  {
    name: 'Yarn 4 (yarn.lock __metadata) with node-modules linker: @yarnpkg/cli-dist, --immutable, pruned with workspaces focus',
    src: shape(
      ['yarn.lock', '.yarnrc.yml'],
      {packageManager: 'yarn@4.5.0', ...dev},
      {yarnLockBerry: true, yarnrc: {nodeLinker: 'node-modules', plugins: []}},
    ),
    want: {
      via: ['exec', '--yes', '--package=@yarnpkg/cli-dist@4.5.0', '--', 'yarn'],
      install: [['yarn install --immutable', {}]],
      build: [],
      prune: ['yarn workspaces focus --all --production'],
      cache: 'yarn.lock',
      pnp: false,
      noLog: [/^WARNING/],
    },
  },
  {
    name: 'Yarn 3 without the workspace-tools plugin keeps devDependencies, with the buildpack warning',
    src: shape(
      ['yarn.lock', '.yarn/cache'],
      {packageManager: 'yarn@3.8.0', ...dev},
      {yarnLockBerry: true, yarnrc: {nodeLinker: 'node-modules', plugins: []}},
    ),
    want: {
      install: [['yarn install --immutable --immutable-cache', {}]],
      prune: [],
      log: [/^WARNING: Keeping devDependencies because the Yarn workspace-tools plugin is not installed/],
    },
  },
  {
    name: "Yarn Plug'n'Play (the default linker): not cached, .pnp.cjs at run time, and the Yarn version warning",
    src: shape(['yarn.lock'], {scripts: {start: 'node server.js'}}, {yarnLockBerry: true}),
    want: {
      via: ['exec', '--yes', '--package=@yarnpkg/cli-dist@latest', '--', 'yarn'],
      pnp: true,
      cache: null,
      imageEnv: {NODE_ENV: 'production', NODE_OPTIONS: '--require ./.pnp.cjs'},
      log: [/^WARNING: package\.json names no Yarn version/],
    },
  },
  {
    name: 'engines.node that the host satisfies',
    src: shape(['package-lock.json'], {engines: {node: '>=20'}}),
    want: {log: [/^Using Node\.js v20\.20\.2 \(the host's; satisfies engines\.node in package\.json ">=20"\)$/]},
  },
  {
    name: 'engines.node that the host does not satisfy: a warning saying what runs instead',
    src: shape(['package-lock.json'], {engines: {node: '22.x'}}),
    want: {
      log: [
        /^WARNING: engines\.node in package\.json asks for Node\.js "22\.x", which the host's Node\.js v20\.20\.2 does not satisfy: the build and the app run with v20\.20\.2 here/,
      ],
    },
  },
  {
    name: 'GOOGLE_NODEJS_VERSION in project.toml wins over engines.node',
    src: shape(['package-lock.json'], {engines: {node: '>=20'}}, {projectEnv: [{name: 'GOOGLE_NODEJS_VERSION', value: '18.x'}]}),
    want: {log: [/^WARNING: GOOGLE_NODEJS_VERSION asks for Node\.js "18\.x"/]},
  },
  {
    name: 'a function without package.json: target from project.toml, the Functions Framework added',
    src: shape(['index.js', 'project.toml'], undefined, {projectEnv: [{name: 'GOOGLE_FUNCTION_TARGET', value: 'hello'}]}),
    want: {
      install: [],
      build: ['node --check index.js'],
      fn: {target: 'hello', signatureType: 'http', inject: true},
      cache: null,
      start: undefined,
      imageEnv: {NODE_ENV: 'production', FUNCTION_TARGET: 'hello', FUNCTION_SIGNATURE_TYPE: 'http'},
      log: [
        /^Node\.js function "hello" \(http; target from project\.toml\)$/,
        /^Handling functions without dependency on functions-framework: adding it/,
      ],
    },
  },
  {
    name: "the upload metadata's target and signature type win over project.toml's",
    src: shape(['function.js'], undefined, {
      projectEnv: [
        {name: 'GOOGLE_FUNCTION_TARGET', value: 'fromToml'},
        {name: 'FOO', value: 'bar'},
      ],
      stepEnv: ['GOOGLE_FUNCTION_TARGET=fromUpload', 'GOOGLE_FUNCTION_SIGNATURE_TYPE=cloudevent'],
    }),
    want: {
      build: ['node --check function.js'],
      fn: {target: 'fromUpload', signatureType: 'cloudevent', inject: true},
      log: [
        /^Build env from project\.toml: applied FOO; GOOGLE_FUNCTION_TARGET overridden by the upload metadata$/,
        /target from the upload metadata/,
      ],
    },
  },
  {
    name: 'a function that depends on the Functions Framework uses its own',
    src: shape(
      ['package-lock.json', 'index.js'],
      {dependencies: {'@google-cloud/functions-framework': '^5'}},
      {stepEnv: ['GOOGLE_FUNCTION_TARGET=hello']},
    ),
    want: {
      fn: {target: 'hello', signatureType: 'http', inject: false},
      build: ['node --check index.js'],
      log: [/^Handling functions with dependency on functions-framework \(\^5\)\.$/],
    },
  },
  {
    name: "a TypeScript function's main is checked after its build makes it",
    src: shape(
      ['package-lock.json'],
      {main: 'dist/index.js', scripts: {'gcp-build': 'tsc'}, ...dev},
      {stepEnv: ['GOOGLE_FUNCTION_TARGET=hello']},
    ),
    want: {build: ['npm run gcp-build', 'node --check dist/index.js'], prune: ['npm prune --omit=dev --quiet --no-fund --no-audit']},
  },
  {
    name: 'GOOGLE_ENTRYPOINT sets the start command',
    src: shape(
      ['package-lock.json', 'server.js'],
      {scripts: {start: 'node server.js'}},
      {projectEnv: [{name: 'GOOGLE_ENTRYPOINT', value: 'node other.js'}]},
    ),
    want: {start: {kind: 'entrypoint', command: 'node other.js'}},
  },
  {
    name: "install scripts of the source's own package.json run again after a cache restore",
    src: shape(['package-lock.json'], {scripts: {postinstall: 'node setup.js', prepare: 'x'}}),
    want: {afterRestore: ['npm run postinstall', 'npm run prepare']},
  },
];

describe('planBuild: source shape in, plan out', () => {
  for (const {name, src, want} of rows) {
    it(name, () => {
      const plan = planBuild(src);
      if (want.install) assert.deepEqual(cmd(plan, 'install'), want.install);
      for (const part of ['build', 'prune', 'afterRestore'] as const) {
        if (want[part])
          assert.deepEqual(
            cmd(plan, part).map((c) => c[0]),
            want[part],
            part,
          );
      }
      if (want.via) assert.deepEqual(plan.packageManager?.via, want.via);
      if (want.via && plan.install) assert.deepEqual(plan.install.args.slice(0, want.via.length), want.via);
      for (const re of want.log ?? [])
        assert.ok(
          plan.log.some((l) => re.test(l)),
          `no log line ${re}:\n${plan.log.join('\n')}`,
        );
      for (const re of want.noLog ?? []) assert.ok(!plan.log.some((l) => re.test(l)), `log line ${re}:\n${plan.log.join('\n')}`);
      if (want.cache !== undefined) assert.equal(plan.cache?.lockfile ?? null, want.cache);
      if ('fn' in want) assert.deepEqual(plan.fn, want.fn);
      if ('start' in want) assert.deepEqual(plan.start, want.start);
      if (want.imageEnv) assert.deepEqual(plan.imageEnv, want.imageEnv);
      if (want.pnp !== undefined) assert.equal(plan.pnp, want.pnp);
    });
  }
});

describe('planBuild refuses what the buildpacks refuse, saying what to do', () => {
  const cases: Array<{name: string; src: SourceShape; want: RegExp}> = [
    {
      name: 'no package.json and no function target',
      src: shape(['index.js'], undefined),
      want: /no package\.json and names no function target: add a package\.json/,
    },
    {
      name: 'a function file that does not exist',
      src: shape([], undefined, {stepEnv: ['GOOGLE_FUNCTION_TARGET=hello']}),
      want: /the function's source file function\.js does not exist/,
    },
    {
      name: 'a pnpm function without the Functions Framework',
      src: shape(['pnpm-lock.yaml', 'index.js'], {}, {stepEnv: ['GOOGLE_FUNCTION_TARGET=hello']}),
      want: /This project is using pnpm but you have not included the Functions Framework in your dependencies\. Please add it by running: 'pnpm add @google-cloud\/functions-framework'\.$/,
    },
    {
      name: "a Yarn Plug'n'Play function without the Functions Framework",
      src: shape(['yarn.lock', 'index.js'], {}, {yarnLockBerry: true, stepEnv: ['GOOGLE_FUNCTION_TARGET=hello']}),
      want: /This project is using Yarn Plug'n'Play/,
    },
    {
      name: 'a packageManager that contradicts the lockfile',
      src: shape(['pnpm-lock.yaml'], {packageManager: 'yarn@4.0.0'}),
      want: /pnpm was detected \(by its lockfile\) but package\.json's packageManager field names yarn/,
    },
    {
      name: 'an engines.pnpm that is no range',
      src: shape(['pnpm-lock.yaml'], {engines: {pnpm: 'banana'}}),
      want: /engines\.pnpm "banana" is not a version or range/,
    },
  ];
  for (const c of cases) it(c.name, () => assert.throws(() => planBuild(c.src), c.want));
});

describe('the dependency cache inputs', () => {
  const inputs = (pkg: object, extra: Partial<SourceShape> = {}) => planBuild(shape(['package-lock.json'], pkg, extra)).cache?.inputs;
  it("do not change with where pnpm's store is, which differs from build to build", () => {
    const pnpm = (store: string) => planBuild(shape(['pnpm-lock.yaml'], {}, {pnpmStore: store})).cache?.inputs;
    assert.equal(pnpm('/work/b1/pnpm-store'), pnpm('/work/b2/pnpm-store'));
  });

  it('change with the dependencies, the Node.js major and NODE_ENV, not with a script', () => {
    const base = inputs({dependencies: {ms: '2'}, scripts: {start: 'node a.js'}});
    assert.equal(inputs({dependencies: {ms: '2'}, scripts: {start: 'node b.js'}}), base);
    assert.notEqual(inputs({dependencies: {ms: '3'}, scripts: {start: 'node a.js'}}), base);
    assert.notEqual(inputs({dependencies: {ms: '2'}, scripts: {start: 'node a.js'}}, {hostNode: 'v22.1.0'}), base);
    assert.equal(inputs({dependencies: {ms: '2'}, scripts: {start: 'node a.js'}}, {hostNode: 'v20.1.0'}), base);
    assert.notEqual(
      inputs({dependencies: {ms: '2'}, scripts: {start: 'node a.js', build: 'x'}}),
      base,
      'a build script installs devDependencies',
    );
  });
});
