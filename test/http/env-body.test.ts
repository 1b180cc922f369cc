/**
 * `PATCH /v1/services/{service}/env`: its route and its body, as table tests.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {ApiError} from '../../src/http/errors';
import {matchRoute} from '../../src/http/routes';
import {envBody} from '../../src/http/validate';

describe('the env routes', () => {
  it('GET reads, PATCH changes', () => {
    assert.deepEqual(matchRoute('GET', '/v1/services/web/env'), {kind: 'getEnv', service: 'web'});
    assert.deepEqual(matchRoute('PATCH', '/v1/services/web/env/'), {kind: 'patchEnv', service: 'web'});
  });
  it('another method: 405 allowing GET and PATCH', () => {
    assert.throws(
      () => matchRoute('POST', '/v1/services/web/env'),
      (e: unknown) => e instanceof ApiError && e.httpStatus === 405 && e.headers.allow === 'GET, PATCH',
    );
  });
  it('a bad service name: 400 naming the field', () => {
    assert.throws(
      () => matchRoute('GET', '/v1/services/Web/env'),
      (e: unknown) => e instanceof ApiError && e.httpStatus === 400 && /^service:/.test(e.message),
    );
  });
});

describe('envBody', () => {
  const ok: Array<{name: string; body: unknown; want: {set: Record<string, string>; unset: string[]}}> = [
    {name: 'set only', body: {set: {GREETING: 'hi', EMPTY: ''}}, want: {set: {GREETING: 'hi', EMPTY: ''}, unset: []}},
    {name: 'unset only, duplicates once', body: {unset: ['A', 'A', 'B']}, want: {set: {}, unset: ['A', 'B']}},
    {name: 'both', body: {set: {A: '1'}, unset: ['B']}, want: {set: {A: '1'}, unset: ['B']}},
    {
      name: '__proto__ is kept as a name',
      body: JSON.parse('{"set": {"__proto__": "x"}}') as unknown,
      want: {set: {['__proto__']: 'x'}, unset: []},
    },
  ];
  for (const r of ok) {
    it(r.name, () => {
      const got = envBody(r.body);
      assert.deepEqual({set: {...got.set}, unset: got.unset}, r.want);
      assert.deepEqual(Object.keys(got.set), Object.keys(r.want.set));
    });
  }
  const bad: Array<{name: string; body: unknown; want: RegExp}> = [
    {name: 'nothing to change', body: {}, want: /^body: names nothing to change/},
    {name: 'empty set and unset', body: {set: {}, unset: []}, want: /^body: names nothing/},
    {name: 'an unknown field', body: {set: {A: '1'}, env: {}}, want: /^env: unknown field/},
    {name: 'a reserved name, named', body: {set: {PORT: '8080'}}, want: /^set\.PORT: PORT is reserved/},
    {name: 'a name with =', body: {set: {'A=B': '1'}}, want: /^set\.A=B: .*contains "="/},
    {name: 'an empty name', body: {set: {'': '1'}}, want: /^set\.: .*cannot be empty/},
    {name: 'a value that is not a string', body: {set: {A: 1}}, want: /^set\.A: the value must be a string/},
    {name: 'a value too large', body: {set: {A: 'x'.repeat(32_769)}}, want: /^set\.A: the value is 32769 bytes/},
    {name: 'a value with a NUL', body: {set: {A: 'a\0b'}}, want: /^set\.A: the value contains a NUL character/},
    {
      name: 'more variables than a container holds, before any is checked',
      body: {set: Object.fromEntries(Array.from({length: 1001}, (_, i) => [`V${i}`, 'x']))},
      want: /^set: names 1001 variables; a Cloud Run container holds at most 1000/,
    },
    {name: 'a long bad name, cut in the field path', body: {set: {['9'.repeat(5000)]: 'x'}}, want: /^set\.9{57}\.\.\.: /},
    {name: 'set not an object', body: {set: ['A=1']}, want: /^set: must be a JSON object/},
    {name: 'unset not a list', body: {unset: 'A'}, want: /^unset: must be a list/},
    {name: 'a bad name in unset, by index', body: {unset: ['A', 'K_SERVICE']}, want: /^unset\[1\]: K_SERVICE is reserved/},
    {name: 'a name both set and unset', body: {set: {A: '1'}, unset: ['A']}, want: /^unset\[0\]: A is also in set/},
    {name: 'not an object', body: [], want: /^body: must be a JSON object/},
  ];
  for (const r of bad) {
    it(`400: ${r.name}`, () => {
      assert.throws(
        () => envBody(r.body),
        (e: unknown) => e instanceof ApiError && e.httpStatus === 400 && r.want.test(e.message),
      );
    });
  }
});
