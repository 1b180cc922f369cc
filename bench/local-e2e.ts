/**
 * Local end to end: upload the example app to a running local stack, as `npm run drop` does →
 * its service URL answers, split by the release's own state times into phases that add up to
 * it (drop → accepted: the upload and the event; accepted → building: the claim and
 * CreateBuild; build = building → deploying; deploying → serving: the deploy and the
 * revision's start until the URL answers); beside it, the same install and start done by
 * hand. The `deployed` event comes after (the outcome's write and its publish): how long after
 * is printed, not part of the sum. Drop → accepted is taken twice: for the first drop (the
 * event function's first request; the stack preloads its clients and warms its emulators up at
 * start) and for a second drop into the warm stack. The build is taken twice too: the first,
 * and a rebuild of the same source (dependencies unchanged, so the dependency cache serves
 * them). Each run has a fresh stack; the run with the median drop → serving is reported.
 */
import {spawn, spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {v2} from '@google-cloud/run';
import type {Message} from '@google-cloud/pubsub';
import {clientOptions} from '../local/grpc/client-options';
import {upload} from '../local/drop';
import {freePort} from '../local/ports';
import {LocalStack} from '../local/stack';
import {ROOT} from './cold-start';

const {ServicesClient} = v2;

const now = () => performance.timeOrigin + performance.now();

async function untilAnswers(url: string, everyMs = 5): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One run's figures, ms. */
export type LocalRun = Record<string, number>;

/**
 * Drop → serving through `runs` fresh local stacks (BENCH_LOCAL_RUNS, default 3), each beside the
 * same work by hand; the run with the median drop → serving is the one whose phases are printed.
 */
export async function localEndToEnd(runs = Number(process.env.BENCH_LOCAL_RUNS ?? 3)): Promise<{median: LocalRun; runs: LocalRun[]}> {
  const all: LocalRun[] = [];
  for (let i = 0; i < runs; i++) all.push(await oneRun());
  const byServing = [...all].sort((a, b) => a.dropToServingMs - b.dropToServingMs);
  const mid = <T>(xs: T[]) => xs[Math.floor((xs.length - 1) / 2)];
  const median = {...mid(byServing)};
  // By hand runs beside each stack, as noisy as it: its own median.
  median.byHandTotalMs = mid(all.map((r) => r.byHandTotalMs).sort((a, b) => a - b));
  return {median, runs: all};
}

/**
 * Resolves with `service`'s URL once it answers 2xx. From `ready()` on (the release's
 * `deploying` event: Cloud Run is being called) the local Cloud Run is asked for the URL, then
 * the URL is tried, every 2 ms: looking sooner would only take CPU from the build. `run` is
 * made and used once before the drop: the local Cloud Run runs in this process, and a client's
 * first call (its protos, its stub) would hold up the deploy it is waiting for.
 */
async function untilServing(run: InstanceType<typeof ServicesClient>, name: string, ready: () => boolean): Promise<string> {
  while (!ready()) await new Promise((r) => setTimeout(r, 2));
  let uri = '';
  while (!uri) {
    uri = await run.getService({name}).then(
      ([s]) => s.uri ?? '',
      () => '',
    );
    if (!uri) await new Promise((r) => setTimeout(r, 2));
  }
  await untilAnswers(uri, 2);
  return uri;
}

async function oneRun(): Promise<LocalRun> {
  const events: Array<{service: string; release: number; state: string; time: number; url?: string; buildId?: string}> = [];
  const stack = await LocalStack.start({
    root: mkdtempSync(join(tmpdir(), 'dd-bench-local-')),
    onStatus: (m: Message) => {
      const d = JSON.parse(m.data.toString()) as {
        service: string;
        release: number;
        state: string;
        stateTime: string;
        url?: string;
        buildId?: string;
      };
      events.push({service: d.service, release: d.release, state: d.state, time: Date.parse(d.stateTime), url: d.url, buildId: d.buildId});
    },
  });
  const target = {storageEndpoint: stack.info.storageEndpoint, bucket: stack.info.bucket};
  const run = new ServicesClient(clientOptions(Number(stack.info.cloudRunEndpoint.split(':')[1])));
  const serviceName = (id: string) => `projects/${stack.info.projectId}/locations/${stack.info.region}/services/${id}`;
  await run.getService({name: serviceName('not-yet')}).catch(() => undefined);
  const source = {path: join(ROOT, 'examples', 'hello-app'), service: 'hello'};
  try {
    // As `npm run drop` does: the upload through the stack's Cloud Storage API; serving is the
    // service URL answering, whenever the `deployed` event (recorded after) arrives.
    const t0 = now();
    await upload(target, source);
    const url = await untilServing(run, serviceName('hello'), () =>
      events.some((e) => e.service === 'hello' && e.state !== 'accepted' && e.state !== 'building'),
    );
    const t1 = now();
    while (!events.some((e) => e.state === 'deployed' || e.state.endsWith('failed'))) await new Promise((r) => setTimeout(r, 5));
    if (!events.some((e) => e.state === 'deployed')) throw new Error(`the example did not deploy: ${JSON.stringify(events)}`);
    const at = (s: string, service = 'hello', release = 1) =>
      events.find((e) => e.service === service && e.release === release && e.state === s)!.time;

    // By hand: copy, npm install (as the builder does), node server.js until it answers.
    const dir = mkdtempSync(join(tmpdir(), 'dd-bench-hand-'));
    const h0 = now();
    cpSync(join(ROOT, 'examples', 'hello-app'), dir, {recursive: true});
    spawnSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund'], {cwd: dir});
    const h1 = now();
    const port = await freePort();
    const child = spawn(process.execPath, ['server.js'], {cwd: dir, env: {...process.env, PORT: String(port)}, stdio: 'ignore'});
    await untilAnswers(`http://127.0.0.1:${port}/`);
    const h2 = now();
    child.kill('SIGKILL');

    // The same source again: a rebuild with unchanged dependencies, which the dependency cache
    // serves; timed until the service URL answers from the new revision (its answer names it).
    const first = await (await fetch(url)).text();
    const r0 = now();
    await upload(target, source, new Date(Date.now() + 1000));
    const settled = (e: {service: string; release: number; state: string}) =>
      e.service === 'hello' && e.release === 2 && (e.state === 'deployed' || e.state.endsWith('failed'));
    for (;;) {
      const answer = await fetch(url).then(
        (res) => res.text(),
        () => first,
      );
      if (answer !== first) break;
      if (events.some((e) => settled(e) && e.state !== 'deployed'))
        throw new Error(`the rebuild did not deploy: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
    const r1 = now();
    while (!events.some(settled)) await new Promise((r) => setTimeout(r, 5));

    // A second drop into the warm stack, as another service (it need not finish building).
    const w0 = now();
    await upload(target, {...source, service: 'hello-warm'});
    while (!events.some((e) => e.service === 'hello-warm' && e.state === 'accepted')) await new Promise((r) => setTimeout(r, 2));
    // The builds' own run times (Cloud Build's startTime → finishTime), without the hops around them.
    const ran = await buildRunMs(
      stack,
      [1, 2].map((release) => events.find((e) => e.release === release && e.buildId)!.buildId!),
    );
    return {
      dropToServingMs: Math.round(t1 - t0),
      buildRunMs: ran[0],
      rebuildRunMs: ran[1],
      dropToAcceptedMs: Math.round(at('accepted') - t0),
      acceptedToBuildingMs: at('building') - at('accepted'),
      warmDropToAcceptedMs: Math.round(at('accepted', 'hello-warm') - w0),
      buildMs: at('deploying') - at('building'),
      rebuildMs: at('deploying', 'hello', 2) - at('building', 'hello', 2),
      rebuildDropToServingMs: Math.round(r1 - r0),
      deployingToServingMs: Math.round(t1 - at('deploying')),
      servingToDeployedMs: Math.round(at('deployed') - t1),
      byHandInstallMs: Math.round(h1 - h0),
      byHandStartMs: Math.round(h2 - h1),
      byHandTotalMs: Math.round(h2 - h0),
    };
  } finally {
    await run.close();
    await stack.stop();
  }
}

/** startTime → finishTime of each build, in ms, as the local Cloud Build records them. */
async function buildRunMs(stack: LocalStack, ids: string[]): Promise<number[]> {
  const cb = new CloudBuildClient(clientOptions(Number(stack.info.cloudBuildEndpoint.split(':')[1])));
  const ms = (t: {seconds?: unknown; nanos?: unknown} | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Number(t?.nanos ?? 0) / 1e6;
  try {
    return await Promise.all(
      ids.map(async (id) => {
        const [b] = await cb.getBuild({projectId: stack.info.projectId, id});
        return Math.round(ms(b.finishTime) - ms(b.startTime));
      }),
    );
  } finally {
    await cb.close();
  }
}
