/**
 * Real-world source shapes dropped through `npm start`'s own code (LocalStack), each built as
 * Google's buildpacks build it and probed at its URL: a pnpm app, a function without
 * package.json (target from project.toml), and a TypeScript app whose gcp-build runs its own tsc.
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
  data: {service?: string; release?: number; url?: string; error?: {message: string}};
}

const fixture = (name: string) => join(REPO_ROOT, 'test', 'fixtures', 'apps', name);

describe('buildpacks fixture apps through the local stack', {timeout: 300_000}, () => {
  let stack: LocalStack;
  const seen: Seen[] = [];
  const logs: string[] = [];

  const deployed = async (service: string, release = 1): Promise<string> => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const hit = seen.find((e) => e.data.service === service && e.data.release === release && /deployed|failed/.test(e.state));
      if (hit) {
        assert.equal(hit.state, 'deployed', `${service} v${release}: ${JSON.stringify(hit.data)}`);
        return hit.data.url!;
      }
      if (Date.now() > deadline) throw new Error(`${service} v${release} did not finish:\n${logs.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const get = async (url: string) => (await (await fetch(url)).text()).trim();

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root: mkdtempSync(join(tmpdir(), 'dd-bp-stack-')),
      startupTimeoutMs: 15_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 0,
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
  });
  after(async () => {
    await stack?.stop();
  });

  it('pnpm-app and function-no-package, dropped together, each answer at their URL', async () => {
    drop(stack.info.bucketDir, {path: fixture('pnpm-app'), service: 'pnpm-app'});
    drop(stack.info.bucketDir, {path: fixture('function-no-package'), service: 'no-package-fn'});
    assert.equal(await get(await deployed('pnpm-app')), 'pnpm-app: one minute is 1m');
    assert.equal(await get(`${await deployed('no-package-fn')}/?name=stack`), 'Hello, stack! (a function without package.json)');
  });

  it('ts-gcp-build answers with what its own tsc compiled; dropped again, it deploys from the cached install', async () => {
    drop(stack.info.bucketDir, {path: fixture('ts-gcp-build'), service: 'ts-app'});
    const url = await deployed('ts-app');
    assert.equal(await get(url), 'ts-gcp-build: compiled by its own tsc');
    drop(stack.info.bucketDir, {path: fixture('ts-gcp-build'), service: 'ts-app'}, new Date(Date.now() + 1000));
    assert.equal(await deployed('ts-app', 2), url);
    assert.equal(await get(url), 'ts-gcp-build: compiled by its own tsc');
    const release = (await (await fetch(`${stack.info.apiUrl}/v1/services/ts-app/releases/2`)).json()) as {buildLogUrl?: string};
    const log = await get(release.buildLogUrl!);
    assert.match(log, /^Reusing cached dependencies \(key [0-9a-f]{16}\)$/m);
    assert.match(log, /^Version 5\.4\.5$/m);
  });
});
