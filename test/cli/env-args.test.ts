import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseAssignments, parseEnvArgs} from '../../cli/env-args';
import {UsageError} from '../../cli/errors';

describe('parseAssignments: NAME=VALUE words', () => {
  const rows: Array<{name: string; words: string[]; want: Record<string, string>}> = [
    {name: 'one', words: ['GREETING=hello'], want: {GREETING: 'hello'}},
    {name: 'an empty value', words: ['EMPTY='], want: {EMPTY: ''}},
    {name: 'the value keeps later =', words: ['Q=a=b=c'], want: {Q: 'a=b=c'}},
    {name: 'spaces and quotes stay in the value', words: ['MSG=hello "world"  '], want: {MSG: 'hello "world"  '}},
    {name: 'several, in order', words: ['B=2', 'A=1'], want: {B: '2', A: '1'}},
    {name: 'a URL', words: ['API_URL=https://x.example/?a=1&b=2'], want: {API_URL: 'https://x.example/?a=1&b=2'}},
    {name: '__proto__ is a name', words: ['__proto__=x'], want: {['__proto__']: 'x'}},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = parseAssignments('web', r.words);
      assert.deepEqual(Object.entries(got), Object.entries(r.want));
    });
  }
  const bad: Array<{name: string; words: string[]; want: RegExp}> = [
    {name: 'none', words: [], want: /set needs at least one NAME=VALUE/},
    {name: 'no =', words: ['GREETING'], want: /"GREETING" is not NAME=VALUE \(to remove a variable: `dropdeploy env web unset GREETING`\)/},
    {name: 'no name', words: ['=x'], want: /"=x" has no name/},
    {name: 'a name twice', words: ['A=1', 'A=2'], want: /A is given twice/},
  ];
  for (const r of bad) {
    it(`refuses: ${r.name}`, () =>
      assert.throws(
        () => parseAssignments('web', r.words),
        (e: unknown) => e instanceof UsageError && r.want.test(e.message),
      ));
  }
});

describe('parseEnvArgs', () => {
  it('no action: list', () => assert.equal(parseEnvArgs('web', undefined, []), undefined));
  it('unset: names, each once', () => assert.deepEqual(parseEnvArgs('web', 'unset', ['A', 'B', 'A'])?.unset, ['A', 'B']));
  const bad: Array<{name: string; action: string; words: string[]; want: RegExp}> = [
    {name: 'unset NAME=VALUE', action: 'unset', words: ['A=1'], want: /unset takes names, not NAME=VALUE \("A=1"\)/},
    {name: 'unset nothing', action: 'unset', words: [], want: /unset needs at least one NAME/},
    {name: 'a near miss of set', action: 'st', words: ['A=1'], want: /unknown action "st"; did you mean set\?/},
    {name: 'a near miss of unset', action: 'unst', words: ['A'], want: /did you mean unset\?/},
    {name: 'nothing near', action: 'delete', words: ['A'], want: /unknown action "delete"; use set or unset/},
    {name: 'set forgotten', action: 'A=1', words: ['B=2'], want: /did you mean `dropdeploy env web set A=1`/},
  ];
  for (const r of bad) {
    it(`refuses: ${r.name}`, () =>
      assert.throws(
        () => parseEnvArgs('web', r.action, r.words),
        (e: unknown) => e instanceof UsageError && e.exitCode === 2 && r.want.test(e.message) && /^dropdeploy env </.test(e.usage ?? ''),
      ));
  }
});
