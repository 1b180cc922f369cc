/**
 * The layer rules of eslint.config.mjs hold: each row lints a few lines as if they were in a
 * file of that folder, with the project's own ESLint configuration.
 */
import assert from 'node:assert/strict';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {ESLint} from 'eslint';

const ROOT = join(__dirname, '..', '..', '..');
const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-properties', 'no-restricted-syntax']);

describe('layer rules', () => {
  const eslint = new ESLint({cwd: ROOT});
  const cases: Array<{name: string; file: string; code: string; want: string[]}> = [
    {
      name: 'src/ may not import local/',
      file: 'src/controller/upload.ts',
      code: "import {LocalStack} from '../../local/stack';\nexport const x = LocalStack;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'src/ may not import cli/',
      file: 'src/http/api.ts',
      code: "import {main} from '../../cli/main';\nexport const x = main;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'src/ may not import test/',
      file: 'src/composition.ts',
      code: "import {putStoredObject} from '../test/integration/stack';\nexport const x = putStoredObject;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'src/ may not import bench/',
      file: 'src/index.ts',
      code: "import {coldStart} from '../bench/cold-start';\nexport const x = coldStart;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'an adapter may use its client library',
      file: 'src/google/cloud-run.ts',
      code: "import {ServicesClient} from '@google-cloud/run';\nexport const x = ServicesClient;",
      want: [],
    },
    {
      name: 'the core may not load a client library',
      file: 'src/releases/naming.ts',
      code: "import {Firestore} from '@google-cloud/firestore';\nexport const x = Firestore;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'the core may not load google-gax',
      file: 'src/events/decode.ts',
      code: "import {Status} from 'google-gax';\nexport const x = Status.OK;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'the core may name a client library type',
      file: 'src/events/decode.ts',
      code: "import type {StorageObjectData} from '@google/events/cloud/storage/v1/StorageObjectData';\nexport type X = StorageObjectData;",
      want: [],
    },
    {
      name: 'the core does no file I/O',
      file: 'src/releases/release.ts',
      code: "import {readFileSync} from 'node:fs';\nexport const x = readFileSync;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'the core may hash',
      file: 'src/releases/release.ts',
      code: "import {createHash} from 'node:crypto';\nexport const x = createHash('sha256').digest('hex');",
      want: [],
    },
    {
      name: 'the core reads no environment',
      file: 'src/releases/naming.ts',
      code: 'export const x = process.env.HOME;',
      want: ['no-restricted-properties'],
    },
    {
      name: 'the core calls no clock',
      file: 'src/releases/decisions.ts',
      code: 'export const x = Date.now();',
      want: ['no-restricted-properties'],
    },
    {
      name: 'the core makes no "now" Date',
      file: 'src/releases/decisions.ts',
      code: 'export const x = new Date();',
      want: ['no-restricted-syntax'],
    },
    {
      name: 'the core may make a Date from a time it was given',
      file: 'src/releases/decisions.ts',
      code: 'export const x = (ms: number) => new Date(ms);',
      want: [],
    },
    {
      name: 'the core draws no randomness',
      file: 'src/events/json.ts',
      code: 'export const x = Math.random();',
      want: ['no-restricted-syntax'],
    },
    {
      name: 'config may read the env it is given',
      file: 'src/config.ts',
      code: 'export const x = (env: NodeJS.ProcessEnv) => env.HOME;',
      want: [],
    },
    {
      name: 'cli/ may not reach an adapter',
      file: 'cli/commands.ts',
      code: "import {CloudRunAdapter} from '../src/google/cloud-run';\nexport const x = CloudRunAdapter;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'cli/ may not load a client library',
      file: 'cli/client.ts',
      code: "import {ServicesClient} from '@google-cloud/run';\nexport const x = ServicesClient;",
      want: ['no-restricted-imports'],
    },
    {
      name: 'cli/ may not import local/',
      file: 'cli/discover.ts',
      code: "import {LocalStack} from '../local/stack';\nexport const x = LocalStack;",
      want: ['no-restricted-imports'],
    },
    {
      name: "cli/ may use the API's types",
      file: 'cli/types.ts',
      code: "import type {ServiceSummary} from '../src/ports';\nexport type X = ServiceSummary;",
      want: [],
    },
    {
      name: 'cli/ may use the release states',
      file: 'cli/wait.ts',
      code: "import {isTerminalState} from '../src/releases/states';\nexport const x = isTerminalState;",
      want: [],
    },
    {
      name: 'local/ runs the controller code',
      file: 'local/stack.ts',
      code: "import {parseConfig} from '../src/config';\nexport const x = parseConfig;",
      want: [],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const [result] = await eslint.lintText(c.code + '\n', {filePath: join(ROOT, c.file)});
      const found = [
        ...new Set(
          result.messages
            .map((m) => m.ruleId ?? `parse error: ${m.message}`)
            .filter((r) => LAYER_RULES.has(r) || r.startsWith('parse error')),
        ),
      ];
      assert.deepEqual(found, c.want, result.messages.map((m) => m.message).join('\n'));
    });
  }
});
