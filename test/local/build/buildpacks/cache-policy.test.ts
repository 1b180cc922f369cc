import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {cacheKey, chooseEvictions, type CacheEntryInfo} from '../../../../local/build/buildpacks/cache-policy';

describe('cacheKey', () => {
  it('is the same for the same lockfile and inputs, and differs when either changes', () => {
    const lock = Buffer.from('{"lockfileVersion":3}');
    const key = cacheKey(lock, '{"pm":"npm"}');
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey(Buffer.from('{"lockfileVersion":3}'), '{"pm":"npm"}'), key);
    assert.notEqual(cacheKey(Buffer.from('{"lockfileVersion":2}'), '{"pm":"npm"}'), key);
    assert.notEqual(cacheKey(lock, '{"pm":"pnpm"}'), key);
    // The separator keeps a byte moved between the two parts from giving the same key.
    assert.notEqual(cacheKey(Buffer.from('ab'), 'c'), cacheKey(Buffer.from('a'), 'bc'));
  });
});

describe('chooseEvictions: least recently used first, down to the budget', () => {
  const e = (key: string, bytes: number, lastUsedMs: number): CacheEntryInfo => ({key, bytes, lastUsedMs});
  const cases: Array<{name: string; entries: CacheEntryInfo[]; budget: number; keep?: string[]; want: string[]}> = [
    {name: 'empty cache', entries: [], budget: 10, want: []},
    {name: 'within budget: nothing', entries: [e('a', 4, 1), e('b', 6, 2)], budget: 10, want: []},
    {
      name: 'over budget: the oldest use goes first',
      entries: [e('new', 5, 30), e('old', 5, 10), e('mid', 5, 20)],
      budget: 10,
      want: ['old'],
    },
    {name: 'as many as it takes', entries: [e('a', 5, 1), e('b', 5, 2), e('c', 5, 3), e('d', 5, 4)], budget: 6, want: ['a', 'b', 'c']},
    {
      name: 'the entry a build just used is kept, even when the oldest',
      entries: [e('mine', 8, 1), e('other', 8, 2)],
      budget: 10,
      keep: ['mine'],
      want: ['other'],
    },
    {name: 'kept alone over budget: nothing else to evict', entries: [e('mine', 20, 1)], budget: 10, keep: ['mine'], want: []},
    {
      name: 'ties broken by key, so two builds choose alike',
      entries: [e('b', 5, 1), e('a', 5, 1), e('c', 5, 9)],
      budget: 5,
      want: ['a', 'b'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(chooseEvictions(c.entries, c.budget, new Set(c.keep ?? [])), c.want));
  }
});
