/**
 * The controller process is killed (SIGKILL) while it is deploying, and started again on the
 * same address: the redelivered events — uploads retried like Eventarc, build statuses by the
 * Pub/Sub push subscription — finish every release. Nothing is lost, nothing is done twice.
 */
import assert from 'node:assert/strict';
import {spawn, type ChildProcess} from 'node:child_process';
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import {PubSub} from '@google-cloud/pubsub';
import {autoCompleteRunner, CloudBuildEmulator, publishToCloudBuildsTopic} from '../../local/cloud-build/emulator';
import {CloudRunEmulator} from '../../local/cloud-run/emulator';
import {freePort} from '../../local/ports';
import {REPO_ROOT} from '../../local/repo-root';
import {createDeps} from '../../src/composition';
import {parseConfig} from '../../src/config';
import type {Deps} from '../../src/controller/deps';
import {TERMINAL, type Release} from '../../src/releases/release';
import {requireEmulators} from './stack';

const SERVICES = ['alpha', 'beta', 'gamma'];
const PER_SERVICE = 4;

describe('controller killed mid-deploy and restarted', {timeout: 180_000}, () => {
  const projectId = `dd-${randomUUID().slice(0, 8)}`;
  let pubsub: PubSub;
  let build: CloudBuildEmulator;
  let run: CloudRunEmulator;
  let deps: Deps;
  let controller: ChildProcess | undefined;
  let env: Record<string, string>;
  let port: number;
  let output = '';

  const startController = () => {
    controller = spawn(
      process.execPath,
      [join(REPO_ROOT, 'dist', 'local', 'functions', 'host.js'), '--target=dropdeployEvents', `--port=${port}`],
      {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']},
    );
    controller.stdout!.on('data', (b: Buffer) => {
      output += b.toString();
    });
    controller.stderr!.on('data', (b: Buffer) => {
      output += b.toString();
    });
  };

  /** Posts the upload until it is acknowledged, through connection failures and 500s. */
  const deliver = async (object: string, generation: string) => {
    for (let attempt = 0; attempt < 600; attempt++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          body: JSON.stringify({bucket: 'dd-sources', name: object, generation, size: '10'}),
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': `${object}#${generation}`,
            'ce-source': '//storage.googleapis.com/projects/_/buckets/dd-sources',
            'ce-type': 'google.cloud.storage.object.v1.finalized',
          },
        });
        await res.arrayBuffer();
        if (res.status === 204) return;
      } catch {
        // the controller is down: redeliver later
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${object} never acknowledged`);
  };

  before(async () => {
    requireEmulators();
    pubsub = new PubSub({projectId});
    const [statusTopic] = await pubsub.createTopic('dropdeploy-status');
    const [buildsTopic] = await pubsub.createTopic('cloud-builds');
    void statusTopic;
    build = new CloudBuildEmulator({
      onStatus: publishToCloudBuildsTopic(buildsTopic),
      runner: autoCompleteRunner({status: 'SUCCESS', afterMs: 30}),
    });
    run = new CloudRunEmulator();
    // Every deploy takes a while, so the kill lands in the middle of one.
    run.injectFault({method: 'CreateService', delayMs: 1500, times: 1e9});
    run.injectFault({method: 'UpdateService', delayMs: 1500, times: 1e9});
    const [buildPort, runPort] = await Promise.all([build.start(), run.start()]);
    port = await freePort();
    env = {
      DROPDEPLOY_PROJECT: projectId,
      DROPDEPLOY_REGION: 'europe-west1',
      DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'dropdeploy-status',
      DROPDEPLOY_BUCKETS: 'dd-sources',
      DROPDEPLOY_CLOUD_BUILD_ENDPOINT: `127.0.0.1:${buildPort}`,
      DROPDEPLOY_CLOUD_RUN_ENDPOINT: `127.0.0.1:${runPort}`,
      // A dead handler's lease must run out quickly here (the shortest allowed, above the
      // function timeout); production keeps 540 s and the 900 s default.
      DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '9',
      DROPDEPLOY_LEASE_SECONDS: '10',
      DROPDEPLOY_WAIT_SECONDS: '8',
      DROPDEPLOY_LOG_FORMAT: 'json',
      // The controller process listens on loopback; its API is not served here.
      DROPDEPLOY_API_AUTH: 'none',
    };
    deps = createDeps(parseConfig(env));
    await buildsTopic.createSubscription('controller', {
      pushConfig: {pushEndpoint: `http://127.0.0.1:${port}/projects/${projectId}/topics/cloud-builds`},
      ackDeadlineSeconds: 60,
    });
    startController();
  });

  after(async () => {
    controller?.kill('SIGKILL');
    await deps?.close();
    await Promise.all([build?.stop(), run?.stop()]);
    await pubsub?.close();
  });

  it('every upload ends terminal with one release and one build; the newest runs', async () => {
    const uploads = SERVICES.flatMap((s) =>
      Array.from({length: PER_SERVICE}, (_, i) => ({service: s, object: `${s}/v${i + 1}.zip`, generation: String(500 + i)})),
    );
    const delivering = Promise.all(uploads.map((u) => deliver(u.object, u.generation)));
    // Kill as soon as a deploy is under way, then come back on the same address.
    const deadline = Date.now() + 60_000;
    while (!run.calls.some((c) => c.method === 'CreateService' || c.method === 'UpdateService')) {
      assert.ok(Date.now() < deadline, `no deploy started:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    controller!.kill('SIGKILL');
    await new Promise((r) => controller!.once('exit', r));
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    startController();
    await delivering;

    const store = await deps.store();
    const releasesOf = async (service: string) => (await store.listReleases(service, 100)).releases;
    const waitUntil = Date.now() + 120_000;
    for (;;) {
      const all = (await Promise.all(SERVICES.map(releasesOf))).flat();
      if (all.length === uploads.length && all.every((r) => TERMINAL.has(r.state))) break;
      assert.ok(
        Date.now() < waitUntil,
        `not finished: ${JSON.stringify(all.map((r) => [r.service, r.release, r.state]))}\n${output.slice(-3000)}`,
      );
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      run.calls.some((c) => c.at > killedAt),
      'the restarted controller finished deploys',
    );
    for (const service of SERVICES) {
      const rs: Release[] = await releasesOf(service);
      assert.equal(rs.length, PER_SERVICE, `${service}: one release per upload`);
      assert.deepEqual(rs.map((r) => r.source!.generation).sort(), ['500', '501', '502', '503']);
      for (const r of rs)
        assert.ok(r.state === 'deployed' || r.state === 'superseded', `${service} v${r.release}: ${r.state} ${r.error?.message ?? ''}`);
      const newest = rs.filter((r) => r.state === 'deployed').sort((a, b) => b.release - a.release)[0];
      assert.ok(newest, `${service} has a deployed release`);
      assert.equal(
        (run.getService(service) as {template: {containers: Array<{image: string}>}}).template.containers[0].image,
        newest.image,
      );
    }
    assert.equal(build.builds().length, uploads.length, 'one build per upload, also across the crash');
  });
});
