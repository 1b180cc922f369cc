/**
 * A Dockerfile source end to end through `npm start`'s own code (LocalStack): drop the Cloud
 * Run sample shape (test/fixtures/apps/docker-single), get a deployed release whose service
 * URL answers from the image its Dockerfile made, with the build log showing each step.
 */
import assert from 'node:assert/strict';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {announcedState} from './local-stack-clients';
import {requireEmulators} from './stack';
import {parseJson} from '../json';

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; buildLogUrl?: string; error?: {message: string}};
}

describe('a Dockerfile source through the local stack (npm start)', {timeout: 180_000}, () => {
  let stack: LocalStack;
  const seen: Seen[] = [];
  const logs: string[] = [];

  const waitState = async (service: string, release: number, states: string[], ms = 120_000): Promise<Seen> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = seen.find((e) => e.data.service === service && e.data.release === release && states.includes(e.state));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${states.join('/')} for ${service} v${release}\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root: mkdtempSync(join(tmpdir(), 'dd-local-docker-')),
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('drop docker-single → deployed → its URL answers from the Dockerfile-built image', async () => {
    drop(stack.info.bucketDir, {path: join(REPO_ROOT, 'test', 'fixtures', 'apps', 'docker-single'), service: 'docker-single'});
    const ev = await waitState('docker-single', 1, ['deployed', 'build_failed', 'deploy_failed']);
    assert.equal(ev.state, 'deployed', JSON.stringify(ev.data));
    const body = (await (await fetch(ev.data.url!)).text()).trim();
    assert.equal(body, 'Hello from a Dockerfile (cwd /usr/src/app; excluded files present: none)');
    const log = await (await fetch(ev.data.buildLogUrl!)).text();
    assert.match(log, /^Step 4\/7 : RUN npm install --omit=dev$/m);
  });
});
