/**
 * One seed for everything random in a test run, so a failure replays: the harness draws it (or
 * takes DROPDEPLOY_TEST_SEED), prints it, and passes it to every test file. fast-check's
 * property tests use it, and `random(stream)` gives seeded draws for the fault tests.
 */
import fc from 'fast-check';

export const SEED_VARIABLE = 'DROPDEPLOY_TEST_SEED';

/** The seed from `value` (DROPDEPLOY_TEST_SEED), or a clear error. */
export function parseSeed(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Math.abs(Number(value)) > 2 ** 31) {
    throw new Error(`${SEED_VARIABLE}="${value}" is not valid: expected a whole number from -2^31 to 2^31, as printed by an earlier run`);
  }
  return Number(value);
}

export function newSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

export const SEED = parseSeed(process.env[SEED_VARIABLE]) ?? newSeed();
fc.configureGlobal({seed: SEED});

/** FNV-1a: a stream name as a number, so each stream has draws of its own. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Seeded draws in [0, 1) for `stream`, from fast-check's own generator: the same seed, the same draws. */
export function random(stream: string): () => number {
  // Uniform integers (noBias: fast-check otherwise favours edge values, which suits properties,
  // not draws; its doubles are uniform over their bit patterns, not over [0, 1)).
  const unit = fc.noBias(fc.integer({min: 0, max: 2 ** 32 - 1})).map((n) => n / 2 ** 32);
  let block = 0;
  let draws: number[] = [];
  return () => {
    if (!draws.length) draws = fc.sample(unit, {seed: (SEED ^ hash(`${stream}#${block++}`)) | 0, numRuns: 1000}).reverse();
    return draws.pop()!;
  };
}

/** `items` in a seeded order for `stream`. */
export function shuffled<T>(items: readonly T[], stream: string): T[] {
  const all = fc.shuffledSubarray([...items], {minLength: items.length, maxLength: items.length});
  return fc.sample(all, {seed: (SEED ^ hash(stream)) | 0, numRuns: 1})[0];
}
