/**
 * Local end to end: drop the example app into a running local stack → its URL answers, split
 * by the release's own state times into phases that add up to it (drop → accepted: the bucket
 * watcher and the event; accepted → building: the claim and CreateBuild; build = building →
 * deploying; start = deploying → deployed; deployed → answering: the status event's way to
 * here and the first answer); beside it, the same install and start done by hand. Drop →
 * accepted is taken twice: for the first drop (the event function's first request; the stack
 * preloads its clients and warms its emulators up at start) and for a second drop into the
 * warm stack (the bucket watcher and one event). The
 * build is taken twice too: the first, and a rebuild of the same source (dependencies unchanged,
 * so the dependency cache serves them).
 */
import {spawn, spawnSync} from 'node:child_process';
import {cpSync, mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import type {Message} from '@google-cloud/pubsub';
import {clientOptions} from '../local/grpc/client-options';
import {drop} from '../local/drop';
import {freePort} from '../local/ports';
import {LocalStack} from '../local/stack';
import {ROOT} from './cold-start';

const now = () => performance.timeOrigin + performance.now();

async function untilAnswers(url: string): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Drop → serving through the local stack, and the same work by hand. */
export async function localEndToEnd(): Promise<Record<string, number>> {
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
  try {
    const t0 = now();
    drop(stack.info.bucketDir, {path: join(ROOT, 'examples', 'hello-app'), service: 'hello'});
    while (!events.some((e) => e.state === 'deployed' || e.state.endsWith('failed'))) await new Promise((r) => setTimeout(r, 5));
    const deployed = events.find((e) => e.state === 'deployed');
    if (!deployed) throw new Error(`the example did not deploy: ${JSON.stringify(events)}`);
    await untilAnswers(deployed.url!);
    const t1 = now();
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
    const first = await (await fetch(deployed.url!)).text();
    const r0 = now();
    drop(stack.info.bucketDir, {path: join(ROOT, 'examples', 'hello-app'), service: 'hello'}, new Date(Date.now() + 1000));
    const settled = (e: {service: string; release: number; state: string}) =>
      e.service === 'hello' && e.release === 2 && (e.state === 'deployed' || e.state.endsWith('failed'));
    for (;;) {
      const answer = await fetch(deployed.url!).then(
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
    drop(stack.info.bucketDir, {path: join(ROOT, 'examples', 'hello-app'), service: 'hello-warm'});
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
      startMs: at('deployed') - at('deploying'),
      deployedToAnsweringMs: Math.round(t1 - at('deployed')),
      byHandInstallMs: Math.round(h1 - h0),
      byHandStartMs: Math.round(h2 - h1),
      byHandTotalMs: Math.round(h2 - h0),
    };
  } finally {
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
