import assert from 'node:assert/strict';
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {parseJson} from '../../json';
import {check, decodeState, encodeState, loadState, saveState, StateFileError, type StateFormat} from '../../../local/state/state-file';

const FORMAT: StateFormat<{items: string[]}> = {
  what: 'test items',
  version: 2,
  parse: (body) => ({items: check.array(body.items, 'items').map((x, i) => check.string(x, `items[${i}]`))}),
};

describe('state files', () => {
  it('round-trips a body, bytes fields included', () => {
    const body = {items: ['a'], etag: new Uint8Array([1, 2, 255]), nested: {buf: Buffer.from('hi')}};
    const back = decodeState('f', encodeState(2, body), {what: 'x', version: 2, parse: (b) => b});
    assert.deepEqual(back, {items: ['a'], etag: new Uint8Array([1, 2, 255]), nested: {buf: new Uint8Array(Buffer.from('hi'))}});
  });

  const damaged: Array<{name: string; text: string; want: RegExp}> = [
    {name: 'not JSON (a write cut short)', text: '{"version": 2, "items": ["a"', want: /cannot be read: it is not JSON/},
    {name: 'not an object', text: '[1]', want: /it is not a JSON object/},
    {name: 'no version', text: '{"items": []}', want: /format version undefined, and this dropdeploy reads version 2/},
    {name: 'a newer version', text: '{"version": 3, "items": []}', want: /version 3.*\(a newer dropdeploy wrote it\)/},
    {
      name: 'a field of the wrong type',
      text: '{"version": 2, "items": ["a", 7]}',
      want: /does not hold test items as expected: items\[1\] is not a non-empty string/,
    },
    {name: 'a missing field', text: '{"version": 2}', want: /items is not a list/},
  ];
  for (const c of damaged) {
    it(`a damaged file is refused with what is wrong and what to do: ${c.name}`, () => {
      assert.throws(
        () => decodeState('/x/state/f.json', c.text, FORMAT),
        (err: unknown) =>
          err instanceof StateFileError &&
          c.want.test(err.message) &&
          err.message.includes('/x/state/f.json') &&
          err.message.includes('--fresh') &&
          err.message.includes('Nothing was changed'),
      );
    });
  }

  it('a missing file is a first start; a saved one loads; saving leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-state-'));
    const file = join(dir, 'items.json');
    assert.equal(loadState(file, FORMAT), undefined);
    saveState(file, 2, {items: ['x', 'y']});
    saveState(file, 2, {items: ['z']});
    assert.deepEqual(loadState(file, FORMAT), {items: ['z']});
    assert.deepEqual(readdirSync(dir), ['items.json']);
    assert.equal(parseJson<{version: number}>(readFileSync(file, 'utf8')).version, 2);
    writeFileSync(file, '');
    assert.throws(() => loadState(file, FORMAT), StateFileError, 'an empty file is damaged, not a first start');
  });
});
