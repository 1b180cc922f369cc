/**
 * The harness knows the emulator tests by where they live (test/integration/); this holds
 * every test that uses the emulators there, so none is run without them by mistake.
 */
import assert from 'node:assert/strict';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {describe, it} from 'node:test';

const TEST_SOURCES = join(__dirname, '..', '..', '..', 'test');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : name.endsWith('.test.ts') ? [p] : [];
  });
}

/** What a test that talks to the official emulators has in its source. */
const USES_EMULATORS = /\brequireEmulators\(|\bStack\.start\(|process\.env\.(PUBSUB|FIRESTORE)_EMULATOR_HOST(?!\s*\?\?=)/;

describe('test layout', () => {
  it('every test that uses the Pub/Sub or Firestore emulator lives under test/integration/', () => {
    const outside = sources(TEST_SOURCES)
      .map((f) => relative(TEST_SOURCES, f))
      .filter((f) => !f.startsWith('integration/') && USES_EMULATORS.test(readFileSync(join(TEST_SOURCES, f), 'utf8')));
    assert.deepEqual(
      outside,
      [],
      `move these under test/integration/ (the harness runs only those with the emulators): ${outside.join(', ')}`,
    );
  });
});
