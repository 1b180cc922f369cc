/**
 * `npm run bench`: starts the emulators, measures, prints a table and writes
 * bench/results.json. Numbers, never assertions.
 *   BENCH_RUNS (cold starts per variant, default 5), BENCH_EVENTS (default 1000),
 *   BENCH_DEPLOYS (build SUCCESS → deploy rounds, default 200), BENCH_LOCAL_RUNS (fresh local
 *   stacks, default 3); BENCH_ONLY=local runs only the local end to end (npm start's stack),
 *   printed, without results.json.
 */
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {PubSub} from '@google-cloud/pubsub';
import {createDeps} from '../src/composition';
import {parseConfig} from '../src/config';
import {CloudBuildEmulator} from '../local/cloud-build/emulator';
import {CloudRunEmulator} from '../local/cloud-run/emulator';
import {startFirestoreEmulator, startPubSubEmulator} from '../local/gcloud-emulators';
import {coldStart, ROOT, SOURCES, type ColdStart, type Probe} from './cold-start';
import {localEndToEnd} from './local-e2e';
import {perDeploy} from './deploy-overhead';
import {burst, perEvent} from './overhead';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const DEPLOYS = Number(process.env.BENCH_DEPLOYS ?? 200);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function summary(runs: ColdStart[]) {
  return {medianMs: median(runs.map((x) => x.ms)), medianRssMb: median(runs.map((x) => x.rssMb)), runs};
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const row = (cells: Array<string | number>, widths: number[]) =>
  '  ' + cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');

/** The local end-to-end figures, every phase. */
function printLocalEndToEnd({median: e2e, runs}: Awaited<ReturnType<typeof localEndToEnd>>): void {
  console.log(`\nlocal end to end (npm start's stack, examples/hello-app), ms; the median of ${runs.length} runs, each on a fresh stack`);
  console.log(
    `  drop → serving ${e2e.dropToServingMs} = drop → accepted ${e2e.dropToAcceptedMs} (warm ${e2e.warmDropToAcceptedMs}) + accepted → building (claim, CreateBuild) ${e2e.acceptedToBuildingMs} + build ${e2e.buildMs} + deploying → serving ${e2e.deployingToServingMs}; deployed recorded ${e2e.servingToDeployedMs} after`,
  );
  console.log(
    `  by hand (median): ${e2e.byHandTotalMs}; all runs: drop → serving ${runs.map((r) => r.dropToServingMs).join(', ')}; by hand ${runs.map((r) => `${r.byHandInstallMs} + ${r.byHandStartMs}`).join(', ')}`,
  );
  console.log(
    `  build phase (building → deploying): first ${e2e.buildMs}, rebuild with unchanged dependencies ${e2e.rebuildMs} (ratio ${ratio(e2e.rebuildMs, e2e.buildMs)}); the builds' own run: first ${e2e.buildRunMs}, rebuild ${e2e.rebuildRunMs} (ratio ${ratio(e2e.rebuildRunMs, e2e.buildRunMs)})`,
  );
  // Each run's own ratio too: the machine's speed drifts between runs, and a run's drop and its
  // work by hand are measured a second apart.
  const paired = runs.map((r) => r.dropToServingMs / r.byHandTotalMs).sort((a, b) => a - b);
  console.log(
    `  ratios to by hand: first drop → serving ${ratio(e2e.dropToServingMs, e2e.byHandTotalMs)} (medians), ${ratio(paired[Math.floor((paired.length - 1) / 2)], 1)} (median of each run's: ${paired.map((x) => ratio(x, 1)).join(', ')}); rebuild drop → new revision serving ${e2e.rebuildDropToServingMs} (${ratio(e2e.rebuildDropToServingMs, e2e.byHandTotalMs)})`,
  );
}

async function main(): Promise<void> {
  const projectId = 'dd-bench';
  process.env.METADATA_SERVER_DETECTION = 'none';
  if (process.env.BENCH_ONLY === 'local') return printLocalEndToEnd(await localEndToEnd());
  const [pubsubEmu, firestoreEmu] = await Promise.all([startPubSubEmulator(projectId), startFirestoreEmulator()]);
  process.env.PUBSUB_EMULATOR_HOST = pubsubEmu.host;
  process.env.FIRESTORE_EMULATOR_HOST = firestoreEmu.host;
  const build = new CloudBuildEmulator();
  const run = new CloudRunEmulator();
  let stopped: Promise<unknown> | undefined;
  const stopEmulators = () => (stopped ??= Promise.all([build.stop(), run.stop(), pubsubEmu.stop(), firestoreEmu.stop()]));
  try {
    const [buildPort, runPort] = await Promise.all([build.start(), run.start()]);
    const pubsub = new PubSub({projectId});
    await pubsub.createTopic('status');
    await pubsub.close();
    const env = {
      PUBSUB_EMULATOR_HOST: pubsubEmu.host,
      FIRESTORE_EMULATOR_HOST: firestoreEmu.host,
      METADATA_SERVER_DETECTION: 'none',
      DROPDEPLOY_PROJECT: projectId,
      DROPDEPLOY_REGION: 'europe-west1',
      DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'status',
      DROPDEPLOY_BUCKETS: 'dd-sources',
      DROPDEPLOY_LOG_FORMAT: 'json',
      DROPDEPLOY_CLOUD_BUILD_ENDPOINT: `127.0.0.1:${buildPort}`,
      DROPDEPLOY_CLOUD_RUN_ENDPOINT: `127.0.0.1:${runPort}`,
      DROPDEPLOY_API_AUTH: 'none',
      DROPDEPLOY_FIRESTORE_ROOT: 'coldstart',
    };
    // A release for the API's read path to read.
    const deps = createDeps(parseConfig(env));
    await (
      await deps.store()
    ).claimSource(
      'readme',
      {bucket: 'dd-sources', object: 'readme/v1.zip', generation: '1'},
      {trigger: 'upload', actor: 'bench'},
      new Date(),
      {holder: 'bench', leaseMs: 1},
    );
    await deps.close();

    let gen = Date.now() * 1000;
    const upload = (): Probe => ({
      kind: 'event',
      type: 'google.cloud.storage.object.v1.finalized',
      data: {bucket: 'dd-sources', name: `cold/${gen}.zip`, generation: String(gen++), size: '10'},
    });
    const read: Probe = {kind: 'get', path: '/v1/services/readme/releases/1'};
    const variants = {
      bareEvent: {source: SOURCES.bare, target: 'bare', signature: 'cloudevent' as const, probe: upload},
      floorEvent: {source: SOURCES.floorEvents, target: 'floorEvents', signature: 'cloudevent' as const, probe: upload},
      dropdeployEvent: {source: SOURCES.dropdeploy, target: 'dropdeployEvents', signature: 'cloudevent' as const, probe: upload},
      bareHttp: {source: SOURCES.bareHttp, target: 'bareHttp', signature: 'http' as const, probe: () => read},
      floorHttp: {source: SOURCES.floorApi, target: 'floorApi', signature: 'http' as const, probe: () => read},
      dropdeployHttp: {source: SOURCES.dropdeploy, target: 'dropdeployApi', signature: 'http' as const, probe: () => read},
    };
    const cold: Record<string, ColdStart[]> = {};
    for (let i = 0; i < RUNS; i++) {
      for (const [name, v] of Object.entries(variants)) {
        (cold[name] ??= []).push(await coldStart({source: v.source, target: v.target, signature: v.signature, env, probe: v.probe()}));
      }
    }
    const cs = Object.fromEntries(Object.entries(cold).map(([k, v]) => [k, summary(v)]));
    console.log(
      `\ncold start: spawn → first request answered (median of ${RUNS}; event = an upload that makes a release and starts its build)`,
    );
    const w = [52, 8, 8];
    console.log(row(['function', 'ms', 'RSS MB'], w));
    const label: Record<string, string> = {
      bareEvent: '(a) bare Functions Framework, event',
      floorEvent: "(b) floor: FF + the upload path's clients + calls",
      dropdeployEvent: '(c) dropdeploy event function',
      bareHttp: '(a) bare Functions Framework, HTTP',
      floorHttp: '(b) floor: FF + Firestore + one read',
      dropdeployHttp: '(c) dropdeploy API, GET a release',
    };
    for (const [k, v] of Object.entries(cs)) console.log(row([label[k], v.medianMs, v.medianRssMb], w));
    const coldRatios = {
      eventVsBare: ratio(cs.dropdeployEvent.medianMs, cs.bareEvent.medianMs),
      eventVsFloor: ratio(cs.dropdeployEvent.medianMs, cs.floorEvent.medianMs),
      httpVsBare: ratio(cs.dropdeployHttp.medianMs, cs.bareHttp.medianMs),
      httpVsFloor: ratio(cs.dropdeployHttp.medianMs, cs.floorHttp.medianMs),
    };
    console.log(
      `  ratios: event c/a ${coldRatios.eventVsBare}, c/b ${coldRatios.eventVsFloor}; http c/a ${coldRatios.httpVsBare}, c/b ${coldRatios.httpVsFloor}`,
    );

    const {dropdeploy: ours, floor: base} = await perEvent(env, parseConfig(env), build, EVENTS);
    const overheadRatio = ratio(ours.latency.p50, base.latency.p50);
    console.log(`\nper event (${EVENTS} sequential uploads, warm): → CreateBuild received by the emulator, ms`);
    const w2 = [52, 7, 7, 7];
    console.log(row(['', 'p50', 'p95', 'p99'], w2));
    console.log(row(['dropdeploy: event received →', ours.latency.p50, ours.latency.p95, ours.latency.p99], w2));
    console.log(row(['floor: the same API calls made directly', base.latency.p50, base.latency.p95, base.latency.p99], w2));
    console.log(row(['dropdeploy: event sent → (with the HTTP hop)', ours.fromSent.p50, ours.fromSent.p95, ours.fromSent.p99], w2));
    console.log(
      `  ratio p50 ${overheadRatio} (received), ${ratio(ours.fromSent.p50, base.latency.p50)} (sent); controller CPU ${ours.cpuMsPerEvent} ms per event`,
    );

    const deploys = await perDeploy(env, parseConfig(env), {build, run}, DEPLOYS);
    const deployRatio = ratio(deploys.dropdeploy.latency.p50, deploys.floor.latency.p50);
    console.log(`\nper deploy (${DEPLOYS} sequential builds, warm): build SUCCESS received → UpdateService received by the emulator, ms`);
    console.log(row(['', 'p50', 'p95', 'p99'], w2));
    const d = deploys.dropdeploy.latency;
    const f = deploys.floor.latency;
    console.log(row(['dropdeploy: SUCCESS message received →', d.p50, d.p95, d.p99], w2));
    console.log(row(['floor: the same API calls made directly', f.p50, f.p95, f.p99], w2));
    console.log(`  ratio p50 ${deployRatio}`);

    const bursts: Array<Awaited<ReturnType<typeof burst>>> = [];
    const emus = {firestore: firestoreEmu.processGroup, pubsub: pubsubEmu.processGroup};
    // One burst of each first, not reported: the emulators' JIT warms up on the burst's mix of calls.
    for (const variant of ['floor', 'dropdeploy'] as const) await burst(env, build, emus, 1, variant);
    for (const instances of [1, 2]) {
      bursts.push(await burst(env, build, emus, instances, 'floor'));
      bursts.push(await burst(env, build, emus, instances, 'dropdeploy'));
    }
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    const cores = (await import('node:os')).cpus().length;
    console.log(
      `\nburst: 1000 deliveries (700 distinct uploads, 30% duplicates) over 50 services, 50 in flight; CPU as a share of one core (${cores} cores)`,
    );
    for (const b of bursts) {
      const who = b.variant === 'floor' ? 'floor' : 'dropdeploy';
      console.log(
        `  ${who}, ${b.instances} instance${b.instances > 1 ? 's' : ''}: ${b.eventsPerSecond} events/s (${b.seconds} s); releases ${b.releases}, CreateBuild calls ${b.createBuildCalls} (distinct uploads ${b.distinctUploads}); redeliveries ${b.redeliveries}`,
      );
      console.log(
        `    CPU: ${who} ${pct(b.cpuShare.controllers)}, Firestore emulator ${pct(b.cpuShare.firestoreEmulator)}, Pub/Sub emulator ${pct(b.cpuShare.pubsubEmulator)}, load + Cloud Build emulator ${pct(b.cpuShare.benchAndCloudBuildEmulator)}`,
      );
    }
    const burstRatios = [1, 2].map((instances) => {
      const of = (variant: string) => bursts.find((b) => b.variant === variant && b.instances === instances)!.eventsPerSecond;
      return {instances, dropdeployVsFloor: ratio(of('dropdeploy'), of('floor'))};
    });
    console.log(
      `  throughput dropdeploy/floor: ${burstRatios.map((r) => `${r.dropdeployVsFloor} (${r.instances} instance${r.instances > 1 ? 's' : ''})`).join(', ')}`,
    );

    // The bench's own emulators stop first: the local stack starts its own, and the burst's
    // emulators would still be busy (their JIT, their GC) on the cores the local builds use.
    await stopEmulators();
    const e2e = await localEndToEnd();
    printLocalEndToEnd(e2e);

    const results = {
      machine: {node: process.version, cpus: (await import('node:os')).cpus().length, date: new Date().toISOString()},
      coldStart: {...cs, ratios: coldRatios},
      perEvent: {events: EVENTS, dropdeploy: ours, floor: base, p50Ratio: overheadRatio},
      perDeploy: {deploys: DEPLOYS, ...deploys, p50Ratio: deployRatio},
      burst: {runs: bursts, throughputRatios: burstRatios},
      localEndToEnd: e2e,
    };
    const out = join(ROOT, 'bench', 'results.json');
    mkdirSync(join(out, '..'), {recursive: true});
    writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(`\nwritten ${out}`);
  } finally {
    await stopEmulators();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
