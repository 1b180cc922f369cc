/**
 * Reliability under faults: 200 uploads over 20 services while Cloud Build and Cloud Run
 * answer UNAVAILABLE on 20% of all calls. Uploads are redelivered the way Eventarc does
 * (until the function answers 2xx); build statuses come through a real Pub/Sub push
 * subscription, which redelivers by itself. Every upload must end terminal, with exactly one
 * release and one build, and no older release deployed over a newer one.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {grpc} from 'google-gax';
import type {BuildRunner} from '../../local/cloud-build/emulator';
import {TERMINAL, type Release} from '../../src/releases/release';
import {Stack} from './stack';

const SERVICES = 20;
const UPLOADS = 200;
const IN_FLIGHT = 20;

/** Builds finish by themselves after a few ms; one in ten fails. */
const runner: BuildRunner = (build, control) => {
  const t1 = setTimeout(() => control.setStatus('WORKING'), 5 + Math.random() * 20);
  const fail = String((build as {substitutions?: {_DD_RELEASE?: string}}).substitutions?._DD_RELEASE ?? '').endsWith('7');
  const t2 = setTimeout(() => control.setStatus(fail ? 'FAILURE' : 'SUCCESS', fail ? {failureDetail: 'step exited 1'} : {}), 30 + Math.random() * 120);
  return () => { clearTimeout(t1); clearTimeout(t2); };
};

async function allReleases(stack: Stack, service: string): Promise<Release[]> {
  const store = await stack.deps.store();
  const out: Release[] = [];
  let below: number | undefined;
  for (;;) {
    const page = await store.listReleases(service, 100, below);
    out.push(...page.releases);
    if (page.next === undefined) return out;
    below = page.next;
  }
}

describe('faults: 20% UNAVAILABLE on every Cloud Build and Cloud Run call', {timeout: 300_000}, () => {
  let stack: Stack;
  const uploads: Array<{service: string; object: string; generation: string}> = [];
  let deliveries = 0;

  before(async () => {
    stack = await Stack.start({buildRunner: runner, env: {DROPDEPLOY_WAIT_SECONDS: '10'}});
    stack.build.injectFault({code: grpc.status.UNAVAILABLE, probability: 0.2, times: 1e9});
    stack.run.injectFault({code: grpc.status.UNAVAILABLE, probability: 0.2, times: 1e9});
    for (let i = 0; i < UPLOADS; i++) {
      const service = `svc-${i % SERVICES}`;
      uploads.push({service, object: `${service}/u${i}.zip`, generation: String(1_000_000 + i)});
    }
    // Shuffled, IN_FLIGHT at a time, each redelivered until acknowledged, like Eventarc.
    const queue = [...uploads].sort(() => Math.random() - 0.5);
    await Promise.all(Array.from({length: IN_FLIGHT}, async () => {
      for (let u = queue.pop(); u; u = queue.pop()) {
        for (let attempt = 0; ; attempt++) {
          deliveries++;
          if (await stack.upload(u.object, u.generation) === 204) break;
          assert.ok(attempt < 50, `upload ${u.object} never acknowledged`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }));
    await stack.waitFor('every release terminal', async () => {
      for (let s = 0; s < SERVICES; s++) {
        const rs = await allReleases(stack, `svc-${s}`);
        if (rs.length < UPLOADS / SERVICES || rs.some((r) => !TERMINAL.has(r.state))) return false;
      }
      return true;
    }, 240_000);
  });
  after(async () => { await stack?.stop(); });

  it('faults were really injected and the work was redelivered', () => {
    const calls = [...stack.build.calls, ...stack.run.calls];
    const faulted = calls.filter((c) => c.faulted === grpc.status.UNAVAILABLE).length;
    assert.ok(faulted > calls.length * 0.1, `${faulted} of ${calls.length} calls faulted`);
    assert.ok(deliveries > UPLOADS, `some uploads needed redelivery (${deliveries} deliveries for ${UPLOADS} uploads)`);
    assert.ok(stack.logs.some((l) => l.includes('will be redelivered')), 'handlers failed and asked for redelivery');
  });

  it('exactly one release per upload, each ending terminal with a reason when it failed', async () => {
    for (let s = 0; s < SERVICES; s++) {
      const service = `svc-${s}`;
      const rs = await allReleases(stack, service);
      const mine = uploads.filter((u) => u.service === service);
      assert.equal(rs.length, mine.length, `${service}: one release per upload`);
      assert.deepEqual(rs.map((r) => r.source!.generation).sort(), mine.map((u) => u.generation).sort());
      for (const r of rs) {
        assert.ok(TERMINAL.has(r.state), `${service} v${r.release} is ${r.state}`);
        if (r.state === 'build_failed' || r.state === 'deploy_failed') assert.ok(r.error?.message, `${service} v${r.release} failed without a reason`);
        assert.notEqual(r.state, 'deploy_failed', `${service} v${r.release}: a transient fault must not fail a deploy: ${r.error?.message}`);
      }
    }
  });

  it('exactly one build per upload', () => {
    assert.equal(stack.build.builds().length, UPLOADS);
  });

  it('no older release was deployed over a newer one; each service runs its newest deployed release', async () => {
    for (let s = 0; s < SERVICES; s++) {
      const service = `svc-${s}`;
      const deployed = stack.events.filter((e) => e.subject.startsWith(`services/${service}/`) && e.data.state === 'deployed').map((e) => e.data.release!);
      const order = [...new Set(deployed)];
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${service} deployed in order ${order.join(', ')}`);
      const rs = await allReleases(stack, service);
      const newest = rs.filter((r) => r.state === 'deployed').sort((a, b) => b.release - a.release)[0];
      const svc = stack.run.getService(service) as {template: {containers: Array<{image: string}>}} | undefined;
      if (newest) assert.equal(svc?.template.containers[0].image, newest.image, `${service} runs v${newest.release}`);
      for (const r of rs.filter((x) => x.state === 'superseded')) assert.ok(r.supersededBy! > r.release);
    }
  });
});
