import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {envNameProblem, envValueProblem, envView, mergeEnv, replacedSecrets, type RunEnvVar} from '../../src/releases/env';

describe('envNameProblem: the names Cloud Run takes', () => {
  const rows: Array<{name: string; input: string; want: RegExp | undefined}> = [
    {name: 'a plain name', input: 'GREETING', want: undefined},
    {name: 'lowercase, dots and dashes', input: 'my.env-name', want: undefined},
    {name: 'a leading underscore', input: '_PRIVATE_THING', want: undefined},
    {name: 'digits after the first character', input: 'V8_FLAGS2', want: undefined},
    {name: '__proto__ is a name like any other', input: '__proto__', want: undefined},
    {name: 'empty', input: '', want: /cannot be empty/},
    {name: 'with =', input: 'A=B', want: /contains "="/},
    {name: 'a leading digit', input: '1ST', want: /not a valid name/},
    {name: 'a space', input: 'MY VAR', want: /not a valid name/},
    {name: 'non-ASCII', input: 'GRÜSSE', want: /not a valid name/},
    {name: 'PORT is reserved', input: 'PORT', want: /PORT is reserved/},
    {name: 'K_SERVICE is reserved', input: 'K_SERVICE', want: /reserved/},
    {name: 'K_REVISION is reserved', input: 'K_REVISION', want: /reserved/},
    {name: 'K_CONFIGURATION is reserved', input: 'K_CONFIGURATION', want: /reserved/},
    {name: 'FUNCTION_TARGET is reserved', input: 'FUNCTION_TARGET', want: /reserved/},
    {name: 'FUNCTION_SIGNATURE_TYPE is reserved', input: 'FUNCTION_SIGNATURE_TYPE', want: /reserved/},
    {name: 'port (another case) is not', input: 'port', want: undefined},
    {name: 'the X_GOOGLE_ prefix', input: 'X_GOOGLE_FOO', want: /X_GOOGLE_ are reserved/},
    {name: 'the X_GOOGLE_ prefix in lowercase', input: 'x_google_foo', want: /X_GOOGLE_ are reserved/},
    {name: 'longer than 32,768 characters', input: 'A'.repeat(32_769), want: /32769 characters long/},
    {name: '32,768 characters', input: 'A'.repeat(32_768), want: undefined},
  ];
  for (const r of rows) {
    it(r.name, () => {
      const got = envNameProblem(r.input);
      if (r.want) assert.match(got ?? '(none)', r.want);
      else assert.equal(got, undefined);
    });
  }
});

describe('envValueProblem: at most 32,768 bytes', () => {
  it('an empty value is fine', () => assert.equal(envValueProblem(''), undefined));
  it('32,768 bytes are fine', () => assert.equal(envValueProblem('x'.repeat(32_768)), undefined));
  it('counts bytes, not characters', () => assert.match(envValueProblem('é'.repeat(16_385)) ?? '', /32770 bytes/));
});

const secret = (name: string, s = 'api-key', version = 'latest'): RunEnvVar => ({name, valueSource: {secretKeyRef: {secret: s, version}}});

describe('mergeEnv', () => {
  const rows: Array<{name: string; env: RunEnvVar[] | undefined; set: Record<string, string>; unset: string[]; want: RunEnvVar[]}> = [
    {
      name: 'no env yet: appended in order',
      env: undefined,
      set: {A: '1', B: '2'},
      unset: [],
      want: [
        {name: 'A', value: '1'},
        {name: 'B', value: '2'},
      ],
    },
    {
      name: 'a set name replaces its entry where it stands',
      env: [
        {name: 'A', value: '1'},
        {name: 'B', value: '2'},
      ],
      set: {A: 'one'},
      unset: [],
      want: [
        {name: 'A', value: 'one'},
        {name: 'B', value: '2'},
      ],
    },
    {
      name: 'an unset name is removed; an absent one is nothing to do',
      env: [
        {name: 'A', value: '1'},
        {name: 'B', value: '2'},
      ],
      set: {},
      unset: ['A', 'NOT_THERE'],
      want: [{name: 'B', value: '2'}],
    },
    {
      name: 'secret references of other names stay untouched, field for field',
      env: [secret('API_KEY'), {name: 'A', value: '1', values: 'value'}],
      set: {A: '2', C: '3'},
      unset: [],
      want: [secret('API_KEY'), {name: 'A', value: '2'}, {name: 'C', value: '3'}],
    },
    {
      name: 'setting a secret reference replaces it with a plain value (no valueSource left)',
      env: [secret('API_KEY'), {name: 'A', value: '1'}],
      set: {API_KEY: 'plain'},
      unset: [],
      want: [
        {name: 'API_KEY', value: 'plain'},
        {name: 'A', value: '1'},
      ],
    },
    {name: 'unsetting a secret reference removes it', env: [secret('API_KEY')], set: {}, unset: ['API_KEY'], want: []},
    {name: 'an empty value is a value', env: [], set: {EMPTY: ''}, unset: [], want: [{name: 'EMPTY', value: ''}]},
    {
      name: 'already applied: the same change again gives the same list (idempotent)',
      env: [
        {name: 'A', value: '2'},
        {name: 'C', value: '3'},
      ],
      set: {A: '2', C: '3'},
      unset: ['B'],
      want: [
        {name: 'A', value: '2'},
        {name: 'C', value: '3'},
      ],
    },
  ];
  for (const r of rows) {
    it(r.name, () => assert.deepEqual(mergeEnv(r.env, {set: r.set, unset: r.unset}), r.want));
  }
  it('does not change the list it was given', () => {
    const env = [{name: 'A', value: '1'}];
    mergeEnv(env, {set: {A: '2'}, unset: []});
    assert.deepEqual(env, [{name: 'A', value: '1'}]);
  });
});

describe('replacedSecrets', () => {
  it('names the set names that are secret references now', () => {
    assert.deepEqual(replacedSecrets([secret('API_KEY'), secret('DB_PASSWORD'), {name: 'A', value: '1'}], {set: {API_KEY: 'x', A: 'y'}}), [
      'API_KEY',
    ]);
  });
});

describe('envView', () => {
  it('lists values, and secret references as references (never resolved)', () => {
    assert.deepEqual(
      envView([{name: 'A', value: '1', values: 'value', valueSource: null}, secret('API_KEY', 'projects/p/secrets/k', '3'), {name: 'E'}]),
      [
        {name: 'A', value: '1'},
        {name: 'API_KEY', valueSource: {secretKeyRef: {secret: 'projects/p/secrets/k', version: '3'}}},
        {name: 'E', value: ''},
      ],
    );
  });
  it('no env: an empty list', () => assert.deepEqual(envView(undefined), []));
});
