/**
 * `npm test`: starts the official Pub/Sub and Firestore emulators once, runs every compiled
 * test file with node's test runner against them, and stops them. In CI (CI=true) a missing
 * emulator fails the run; on a developer machine it runs the other tests and says loudly what
 * it could not run. Every run has one seed (printed; DROPDEPLOY_TEST_SEED replays it).
 */
import {spawn} from 'node:child_process';
import {existsSync, readdirSync, statSync} from 'node:fs';
import {join, relative, sep} from 'node:path';
import {emulatorPrerequisiteProblem, startFirestoreEmulator, startPubSubEmulator, type RunningEmulator} from '../../local/gcloud-emulators';
import {SEED, SEED_VARIABLE} from './seed';

/** dist/test, and the repository's test/ it was compiled from. */
const TEST_ROOT = join(__dirname, '..');
const SOURCE_ROOT = join(__dirname, '..', '..', '..', 'test');

/** The tests that need the official emulators are the ones under test/integration/. */
const EMULATOR_TESTS = 'integration';

function needsEmulators(compiled: string): boolean {
  return relative(TEST_ROOT, compiled).split(sep)[0] === EMULATOR_TESTS;
}

/** Compiled test files whose source still exists (a moved or deleted test leaves its old .js in dist/). */
function testFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return testFiles(p);
      return name.endsWith('.test.js') && existsSync(join(SOURCE_ROOT, relative(TEST_ROOT, p)).replace(/\.js$/, '.ts')) ? [p] : [];
    })
    .sort();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  let files = testFiles(TEST_ROOT).filter((f) => !filter.length || filter.some((x) => f.includes(x)));
  const env: NodeJS.ProcessEnv = {...process.env, METADATA_SERVER_DETECTION: 'none', [SEED_VARIABLE]: String(SEED)};
  const replay = `seed ${SEED}: replay this run's random choices with ${SEED_VARIABLE}=${SEED} npm test`;
  console.log(replay);
  const emulators: RunningEmulator[] = [];
  const problem = emulatorPrerequisiteProblem();
  if (problem) {
    if (process.env.CI === 'true') {
      console.error(`FAIL: the integration tests need the Pub/Sub and Firestore emulators, and ${problem}`);
      return 1;
    }
    const integration = files.filter(needsEmulators);
    files = files.filter((f) => !needsEmulators(f));
    console.error(
      `WARNING: ${problem}.\nNOT RUN (${integration.length} integration test files): ${integration.map((f) => relative(TEST_ROOT, f)).join(', ')}`,
    );
  } else {
    const t0 = Date.now();
    const [pubsub, firestore] = await Promise.all([startPubSubEmulator('dropdeploy-test'), startFirestoreEmulator()]);
    emulators.push(pubsub, firestore);
    env.PUBSUB_EMULATOR_HOST = pubsub.host;
    env.FIRESTORE_EMULATOR_HOST = firestore.host;
    console.log(`emulators ready in ${Date.now() - t0} ms: Pub/Sub ${pubsub.host}, Firestore ${firestore.host}`);
  }
  const stopAll = () => Promise.all(emulators.map((e) => e.stop()));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void stopAll().then(() => process.exit(130));
    });
  }
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {env, stdio: 'inherit'});
      child.on('exit', (code) => {
        if (code !== 0) console.log(replay);
        resolve(code ?? 1);
      });
    });
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
