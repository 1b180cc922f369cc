// Lint: typescript-eslint's type-aware recommended rules over all TypeScript, and the layer
// rules of the architecture (see README "Layout"), so a reviewer never has to remember them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Import patterns (gitignore-style, matched against the import string). */
const outsideSrc = ['**/local', '**/local/**', '**/cli', '**/cli/**', '**/bench', '**/bench/**', '**/test', '**/test/**'];
const sdk = ['@google-cloud/*', '@google/*', 'google-gax', 'google-gax/*', 'google-auth-library', '@grpc/*'];

const layer = (patterns, message) => [{group: patterns, message}];

/** The pure core: decisions and decoding, no I/O (and the dashboard's view model, which runs in node's tests and the browser). */
const pureCore = ['src/releases/**/*.ts', 'src/events/**/*.ts', 'src/dashboard/view.ts'];

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', '.dropdeploy/**', 'examples/**', 'bench/fixtures/**', 'test/fixtures/apps/**', '**/*.js', '**/*.mjs', '**/*.cjs']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
    linterOptions: {reportUnusedDisableDirectives: 'error'},
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away).
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none'}],
    },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {allowForKnownSafeCalls: [{from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach']}]}],
    },
  },
  {
    // The pretty printer is a dev dependency, loaded synchronously and only when asked for.
    files: ['src/log.ts'],
    rules: {'@typescript-eslint/no-require-imports': ['error', {allow: ['^pino-pretty$']}]},
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {patterns: layer(outsideSrc, 'src/ is the controller: it never imports local/, cli/, bench/ or test/.')}],
    },
  },
  {
    files: pureCore,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...layer(outsideSrc, 'src/ is the controller: it never imports local/, cli/, bench/ or test/.'),
          ...layer(sdk, 'the pure core (src/releases, src/events) imports no client library: put the call in an adapter (src/google/) behind a port (src/ports.ts).').map((p) => ({...p, allowTypeImports: true})),
          ...layer(['node:fs', 'node:fs/*', 'fs', 'node:child_process', 'node:net', 'node:http', 'node:https', 'node:dns', 'node:os'], 'the pure core does no I/O: pass what it needs in as arguments.'),
        ],
      }],
      'no-restricted-properties': ['error',
        {object: 'process', property: 'env', message: 'the pure core reads no environment: parseConfig(env) does, and passes the values in.'},
        {object: 'Date', property: 'now', message: 'the pure core calls no clock: take `now` as an argument.'},
      ],
      'no-restricted-syntax': ['error',
        {selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'the pure core calls no clock: take `now` as an argument.'},
        {selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'the pure core draws no randomness: take it as an argument.'},
      ],
    },
  },
  {
    // The local Dockerfile planner decides from what it is given (see local/build/dockerfile/planner.ts).
    files: ['local/build/dockerfile/**/*.ts'],
    ignores: ['local/build/dockerfile/{build-context,build-dockerfile,copy-files,executor}.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: layer(['node:fs', 'node:fs/*', 'fs', 'node:child_process', 'node:os', '../run-step', '../registry'], 'the Dockerfile planner does no I/O: the executor (executor.ts, copy-files.ts) does.').map((p) => ({...p, allowTypeImports: true})),
      }],
      'no-restricted-properties': ['error', {object: 'process', property: 'env', message: 'the Dockerfile planner reads no environment: take it as an argument.'}],
    },
  },
  {
    files: ['cli/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          {regex: '^(\\.\\./)+src/(?!releases/(states|rollout-policy)$)', allowTypeImports: true, message: 'cli/ talks to the controller through its HTTP API only: of src/ it may import types, the release states (src/releases/states) and the rollout policy rules (src/releases/rollout-policy), both pure.'},
          ...layer(['**/local', '**/local/**', '**/bench/**', '**/test/**'], 'cli/ talks to the controller through its HTTP API only.'),
          ...layer(sdk.filter((s) => s !== 'google-auth-library'), 'cli/ talks to the controller through its HTTP API only (it may use google-auth-library for ID tokens).'),
        ],
      }],
    },
  },
);
