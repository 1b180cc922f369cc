/** The run's seed replays fast-check's properties and the fault tests' draws. */
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {parseSeed, random, shuffled} from './seed';

/** What a fresh process with `seed` draws: fast-check's own (global seed) and a stream of ours. */
function drawsWith(seed: string): string {
  const script = `const fc = require('fast-check'); const s = require(${JSON.stringify(join(__dirname, 'seed'))});
    console.log(JSON.stringify([fc.sample(fc.integer(), 5), Array.from({length: 5}, s.random('faults')), s.shuffled([1, 2, 3, 4, 5, 6], 'order')]));`;
  return execFileSync(process.execPath, ['-e', script], {env: {...process.env, DROPDEPLOY_TEST_SEED: seed}, encoding: 'utf8'});
}

describe('test seeds', () => {
  it('the same DROPDEPLOY_TEST_SEED draws the same in another process; another seed does not', () => {
    assert.equal(drawsWith('42'), drawsWith('42'));
    assert.notEqual(drawsWith('42'), drawsWith('43'));
  });

  it('streams are independent, draws are in [0, 1), a shuffle keeps every item', () => {
    const a = random('a');
    const b = random('b');
    const [xs, ys] = [Array.from({length: 2000}, a), Array.from({length: 2000}, b)];
    assert.notDeepEqual(xs, ys);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(new Set(xs).size > 1990, 'draws repeat');
    // Uniform enough for probabilities: 15% of draws below 0.15 (± 4 points), a mean near 0.5.
    const below = xs.filter((x) => x < 0.15).length / xs.length;
    assert.ok(below > 0.11 && below < 0.19, `${below} of the draws below 0.15`);
    const mean = xs.reduce((sum, x) => sum + x, 0) / xs.length;
    assert.ok(mean > 0.45 && mean < 0.55, `mean ${mean}`);
    assert.deepEqual(shuffled([3, 1, 2, 5, 4], 's').sort(), [1, 2, 3, 4, 5]);
  });

  const cases: Array<[string | undefined, number | undefined | RegExp]> = [
    [undefined, undefined],
    ['', undefined],
    ['42', 42],
    ['-7', -7],
    ['2147483648', 2147483648],
    ['x', /DROPDEPLOY_TEST_SEED="x" is not valid: expected a whole number/],
    ['1.5', /not valid/],
    ['99999999999', /not valid/],
  ];
  for (const [value, want] of cases) {
    it(`parseSeed(${JSON.stringify(value)})`, () => {
      if (want instanceof RegExp) assert.throws(() => parseSeed(value), want);
      else assert.equal(parseSeed(value), want);
    });
  }
});
