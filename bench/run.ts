/**
 * `npm run bench`: starts the emulators, measures, prints a table and writes
 * bench/results.json. Numbers, never assertions.
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {CloudBuildEmulator} from '../local/cloud-build/emulator';
import {CloudRunEmulator} from '../local/cloud-run/emulator';
import {startFirestoreEmulator, startPubSubEmulator} from '../local/gcloud-emulators';
import {BARE_SOURCE, coldStart, DROPDEPLOY_SOURCE, type ColdStart} from './cold-start';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const projectId = 'dd-bench';
  process.env.METADATA_SERVER_DETECTION = 'none';
  const [pubsubEmu, firestoreEmu] = await Promise.all([startPubSubEmulator(projectId), startFirestoreEmulator()]);
  const build = new CloudBuildEmulator();
  const run = new CloudRunEmulator();
  try {
    const [buildPort, runPort] = await Promise.all([build.start(), run.start()]);
    process.env.PUBSUB_EMULATOR_HOST = pubsubEmu.host;
    const pubsub = new PubSub({projectId});
    await pubsub.createTopic('status');
    await pubsub.close();
    const env = {
      PUBSUB_EMULATOR_HOST: pubsubEmu.host, FIRESTORE_EMULATOR_HOST: firestoreEmu.host, METADATA_SERVER_DETECTION: 'none',
      DROPDEPLOY_PROJECT: projectId, DROPDEPLOY_REGION: 'europe-west1', DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'status', DROPDEPLOY_BUCKETS: 'dd-sources', DROPDEPLOY_LOG_FORMAT: 'json',
      DROPDEPLOY_CLOUD_BUILD_ENDPOINT: `127.0.0.1:${buildPort}`, DROPDEPLOY_CLOUD_RUN_ENDPOINT: `127.0.0.1:${runPort}`,
    };
    let gen = Date.now() * 1000;
    const upload = () => ({type: 'google.cloud.storage.object.v1.finalized', data: {bucket: 'dd-sources', name: `bench/${gen}.zip`, generation: String(gen++), size: '10'}});
    const bare: ColdStart[] = [];
    const dd: ColdStart[] = [];
    for (let i = 0; i < RUNS; i++) {
      bare.push(await coldStart({source: BARE_SOURCE, target: 'bare', env, event: upload()}));
      dd.push(await coldStart({source: DROPDEPLOY_SOURCE, target: 'dropdeployEvents', env, event: upload()}));
    }
    const results = {
      machine: {node: process.version, runs: RUNS},
      coldStart: {
        bareFunction: {medianMs: median(bare.map((x) => x.ms)), medianRssMb: median(bare.map((x) => x.rssMb)), runs: bare},
        dropdeployEvents: {medianMs: median(dd.map((x) => x.ms)), medianRssMb: median(dd.map((x) => x.rssMb)), runs: dd},
      },
    };
    const ratio = results.coldStart.dropdeployEvents.medianMs / results.coldStart.bareFunction.medianMs;
    console.log('\ncold start: spawn → first upload event answered (median of %d)', RUNS);
    console.log('  %s  %s  %s', 'function'.padEnd(36), 'ms'.padStart(7), 'RSS MB'.padStart(7));
    console.log('  %s  %s  %s', 'bare Functions Framework'.padEnd(36), String(results.coldStart.bareFunction.medianMs).padStart(7), String(results.coldStart.bareFunction.medianRssMb).padStart(7));
    console.log('  %s  %s  %s', 'dropdeploy event fn (release+build)'.padEnd(36), String(results.coldStart.dropdeployEvents.medianMs).padStart(7), String(results.coldStart.dropdeployEvents.medianRssMb).padStart(7));
    console.log('  ratio dropdeploy / bare: %s', ratio.toFixed(2));
    const out = join(__dirname, '..', '..', 'bench', 'results.json');
    mkdirSync(join(out, '..'), {recursive: true});
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(`\nwritten ${out}`);
  } finally {
    await Promise.all([build.stop(), run.stop(), pubsubEmu.stop(), firestoreEmu.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
