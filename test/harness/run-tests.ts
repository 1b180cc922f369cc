/**
 * `npm test`: starts the official Pub/Sub and Firestore emulators once, runs every compiled
 * test file with node's test runner against them, and stops them. In CI (CI=true) a missing
 * emulator fails the run; on a developer machine it runs the unit tests and says loudly what
 * it could not run.
 */
import {spawn} from 'node:child_process';
import {readFileSync, readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {emulatorPrerequisiteProblem, startFirestoreEmulator, startPubSubEmulator, type RunningEmulator} from '../../local/gcloud-emulators';

const TEST_ROOT = join(__dirname, '..');

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? testFiles(p) : name.endsWith('.test.js') ? [p] : [];
  }).sort();
}

async function main(): Promise<number> {
  const filter = process.argv.slice(2);
  let files = testFiles(TEST_ROOT).filter((f) => !filter.length || filter.some((x) => f.includes(x)));
  const env: NodeJS.ProcessEnv = {...process.env, METADATA_SERVER_DETECTION: 'none'};
  const emulators: RunningEmulator[] = [];
  const problem = emulatorPrerequisiteProblem();
  if (problem) {
    if (process.env.CI === 'true') {
      console.error(`FAIL: the integration tests need the Pub/Sub and Firestore emulators, and ${problem}`);
      return 1;
    }
    // A test file needs the emulators when it reads their hosts or asks for them.
    const integration = files.filter((f) => /requireEmulators|Stack\.start|PUBSUB_EMULATOR_HOST|FIRESTORE_EMULATOR_HOST/.test(readFileSync(f, 'utf8')));
    files = files.filter((f) => !integration.includes(f));
    console.error(`WARNING: ${problem}.\nNOT RUN (${integration.length} integration test files): ${integration.map((f) => relative(TEST_ROOT, f)).join(', ')}`);
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
    process.once(sig, () => { void stopAll().then(() => process.exit(130)); });
  }
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...files], {env, stdio: 'inherit'});
      child.on('exit', (code) => resolve(code ?? 1));
    });
  } finally {
    await stopAll();
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(1);
});
