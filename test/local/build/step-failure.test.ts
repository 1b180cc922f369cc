import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {missingCommand, stepFailure} from '../../../local/build/step-failure';

describe('missingCommand reads the shells npm runs scripts with', () => {
  const cases: Array<{name: string; tail: string[]; want: string | undefined}> = [
    {name: 'dash (Debian, Ubuntu sh)', tail: ['> app@1.0.0 gcp-build', '> tsc -p .', '', 'sh: 1: tsc: not found'], want: 'tsc'},
    {name: 'bash as sh (macOS)', tail: ['sh: tsc: command not found'], want: 'tsc'},
    {name: 'bash with a line number', tail: ['sh: line 1: esbuild: command not found'], want: 'esbuild'},
    {name: 'a full shell path', tail: ['/bin/sh: 1: vite: not found'], want: 'vite'},
    {name: 'the last one wins', tail: ['sh: 1: a: not found', 'sh: 1: b: not found'], want: 'b'},
    {name: 'a program that printed "not found" itself', tail: ['Error: module x: not found'], want: undefined},
    {name: 'no output', tail: [], want: undefined},
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(missingCommand(c.tail), c.want));
  }
});

describe('stepFailure names the step, how it ended, and what to add', () => {
  const cases: Array<{name: string; args: string[]; code: number | null; signal?: NodeJS.Signals; tail: string[]; want: string}> = [
    {
      name: 'tsc without typescript',
      args: ['run', 'gcp-build'],
      code: 127,
      tail: ['sh: 1: tsc: not found'],
      want: 'npm run gcp-build failed (exit code 127): the command "tsc" was not found. Build tools come from the source\'s own dependencies: add "typescript" to devDependencies in package.json',
    },
    {
      name: 'a tool with no known package',
      args: ['run', 'gcp-build'],
      code: 127,
      tail: ['sh: 1: mytool: not found'],
      want: 'npm run gcp-build failed (exit code 127): the command "mytool" was not found. Build tools come from the source\'s own dependencies: add the package that provides "mytool" to devDependencies in package.json',
    },
    {
      name: 'a script that failed',
      args: ['run', 'gcp-build'],
      code: 3,
      tail: ['error TS2322: boom'],
      want: 'npm run gcp-build failed (exit code 3)',
    },
    {
      name: '127 without a shell message',
      args: ['ci', '--no-audit'],
      code: 127,
      tail: ['npm error'],
      want: 'npm ci failed (exit code 127)',
    },
    {
      name: 'killed',
      args: ['install', '--omit=dev'],
      code: null,
      signal: 'SIGKILL',
      tail: [],
      want: 'npm install failed (killed by SIGKILL)',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const f = stepFailure(['npm', ...c.args], {code: c.code, signal: c.signal ?? null, tail: c.tail});
      assert.equal(f.reason, c.want);
      assert.deepEqual(f.tail, c.tail);
    });
  }
});
