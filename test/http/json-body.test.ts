import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {servedTarget} from '../../src/http/body-guard';
import {headerProblem, nestingBeyond, parseJsonBody, pathProblem, type BodyLimits} from '../../src/http/json-body';

const limits: BodyLimits = {maxBytes: 100, maxDepth: 3, types: ['application/json', 'application/cloudevents+json']};
const json = (extra: Record<string, string> = {}) => ({'content-type': 'application/json', 'content-length': '2', ...extra});

describe('headerProblem (before a byte is read)', () => {
  const table: Array<{name: string; input: Record<string, string>; want: [number, RegExp] | undefined}> = [
    {name: 'application/json', input: json(), want: undefined},
    {name: 'charset=utf-8, any case, quoted', input: json({'content-type': 'Application/JSON; Charset="UTF-8"'}), want: undefined},
    {name: 'charset=utf8, a common alias', input: json({'content-type': 'application/json;charset=utf8'}), want: undefined},
    {
      name: 'a CloudEvent in structured mode',
      input: json({'content-type': 'application/cloudevents+json; charset=utf-8'}),
      want: undefined,
    },
    {name: 'no body: no type needed', input: {'content-length': '0'}, want: undefined},
    {name: 'no body at all (GET)', input: {}, want: undefined},
    {
      name: 'another charset',
      input: json({'content-type': 'application/json; charset=iso-8859-1'}),
      want: [415, /charset "iso-8859-1" is not accepted/],
    },
    {name: 'UTF-16 (body-parser would take it)', input: json({'content-type': 'application/json; charset=utf-16'}), want: [415, /charset/]},
    {
      name: 'another type',
      input: json({'content-type': 'text/plain'}),
      want: [415, /^Content-Type must be application\/json or application\/cloudevents\+json, not "text\/plain"/],
    },
    {name: 'no type with a body', input: {'content-length': '2'}, want: [415, /not missing/]},
    {name: 'a chunked body without a type', input: {'transfer-encoding': 'chunked'}, want: [415, /not missing/]},
    {name: 'a type that does not parse', input: json({'content-type': 'application/json; charset'}), want: [415, /Content-Type must be/]},
    {name: 'gzip', input: json({'content-encoding': 'gzip'}), want: [415, /Content-Encoding gzip is not accepted/]},
    {name: 'identity is fine', input: json({'content-encoding': 'identity'}), want: undefined},
    {name: 'declared over the limit', input: json({'content-length': '101'}), want: [413, /is 101 bytes; at most 100/]},
    {name: 'declared at the limit', input: json({'content-length': '100'}), want: undefined},
  ];
  for (const c of table) {
    it(c.name, () => {
      const p = headerProblem(c.input, limits);
      if (!c.want) return assert.equal(p, undefined);
      assert.equal(p?.status, c.want[0]);
      assert.match(p.reason, c.want[1]);
    });
  }
});

describe('parseJsonBody (the bytes read)', () => {
  const table: Array<{name: string; input: Buffer; want: {value: unknown} | [number, RegExp]}> = [
    {name: 'an object', input: Buffer.from('{"a":[1,{"b":2}]}'), want: {value: {a: [1, {b: 2}]}}},
    {name: 'empty', input: Buffer.alloc(0), want: {value: undefined}},
    {name: 'any JSON value (the caller decides what it needs)', input: Buffer.from('[1]'), want: {value: [1]}},
    {name: 'a byte order mark is dropped', input: Buffer.from('\ufeff{"a":1}'), want: {value: {a: 1}}},
    {name: 'multi-byte UTF-8', input: Buffer.from('{"é":"😀"}'), want: {value: {é: '😀'}}},
    {name: 'brackets inside strings do not nest', input: Buffer.from('{"a":"[[[[[{{{{\\"]]]"}'), want: {value: {a: '[[[[[{{{{"]]]'}}},
    {
      name: 'malformed, with the position only',
      input: Buffer.from('{"secret" 1}'),
      want: [400, /^the request body is not valid JSON \(at character 10\); send one JSON object$/],
    },
    {
      name: 'malformed where V8 would quote the body',
      input: Buffer.from('{"secret": tru}'),
      want: [400, /^the request body is not valid JSON; send one JSON object$/],
    },
    {name: 'breaks off', input: Buffer.from('{"a":'), want: [400, /not valid JSON/]},
    {name: 'a lone continuation byte', input: Buffer.from([0x7b, 0x80, 0x7d]), want: [400, /not valid UTF-8 \(at or after byte 1\)/]},
    {
      name: 'a truncated sequence',
      input: Buffer.from([0x7b, 0x22, 0x61, 0xe2, 0x82]),
      want: [400, /not valid UTF-8 \(at or after byte 3\)/],
    },
    {name: 'an overlong encoding', input: Buffer.from([0x22, 0xc0, 0xaf, 0x22]), want: [400, /not valid UTF-8/]},
    {name: 'a UTF-16 surrogate encoded in UTF-8', input: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), want: [400, /not valid UTF-8/]},
    {name: 'nested as deep as allowed', input: Buffer.from('[[[1]]]'), want: {value: [[[1]]]}},
    {name: 'nested deeper', input: Buffer.from('[[[[1]]]]'), want: [400, /nested deeper than 3 levels \(at character 3\)/]},
    {name: 'over the size', input: Buffer.from('"' + 'x'.repeat(100) + '"'), want: [413, /at most 100 bytes/]},
  ];
  for (const c of table) {
    it(c.name, () => {
      const v = parseJsonBody(c.input, limits);
      if (!Array.isArray(c.want)) return assert.deepEqual(v, {ok: true, value: c.want.value});
      assert.ok(!v.ok);
      assert.equal(v.problem.status, c.want[0]);
      assert.match(v.problem.reason, c.want[1]);
      assert.ok(!v.problem.reason.includes('secret'), 'never quotes the body');
    });
  }
  it('nestingBeyond scans 30,000 levels without recursion', () => {
    assert.equal(nestingBeyond('['.repeat(30_000) + ']'.repeat(30_000), 29_999), 29_999);
    assert.equal(nestingBeyond('['.repeat(30_000) + ']'.repeat(30_000), 30_000), undefined);
  });
});

describe('pathProblem', () => {
  for (const [url, bad] of [
    ['/v1/services/a:rollback', false],
    ['/v1/services/%61', false],
    ['/x?q=%zz', false],
    ['/v1/%E0%A4%A', true],
    ['/v1/%zz', true],
    ['/v1/%', true],
    ['/v1/%C3', true],
  ] as const) {
    it(`${url} ${bad ? 'is refused' : 'is fine'}`, () => assert.equal(pathProblem(url)?.status, bad ? 400 : undefined));
  }
});

describe('servedTarget (as the Functions Framework reads it)', () => {
  const table: Array<{name: string; input: [string[], Record<string, string>]; want: string | undefined}> = [
    {name: '--target=NAME', input: [['node', 'ff', '--target=dropdeployApi'], {FUNCTION_TARGET: 'other'}], want: 'dropdeployApi'},
    {name: '--target NAME', input: [['node', 'ff', '--target', 'dropdeployEvents'], {}], want: 'dropdeployEvents'},
    {name: 'FUNCTION_TARGET', input: [['node', 'ff'], {FUNCTION_TARGET: 'dropdeployApi'}], want: 'dropdeployApi'},
    {name: 'neither (a test process)', input: [['node', '--test'], {}], want: undefined},
  ];
  for (const c of table) it(c.name, () => assert.equal(servedTarget(...c.input), c.want));
});
