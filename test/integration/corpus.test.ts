/**
 * The corpus: real-world app shapes (Dockerfile apps, pnpm and yarn, TypeScript with
 * gcp-build, a function without package.json, …), each under test/fixtures/apps/<name>/ with a
 * `corpus.json` saying how to probe it. All are dropped into one local stack (npm start's own
 * code) as they would be by a user, and each must reach `deployed` and answer its probes at its
 * service URL.
 */
import assert from 'node:assert/strict';
import {cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import WebSocket from 'ws';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {parseJson} from '../json';
import {announcedState} from './local-stack-clients';
import {requireEmulators} from './stack';

/** How one corpus app is dropped and probed. */
interface CorpusEntry {
  /** What real-world shape this app stands for. */
  what: string;
  /** Upload metadata naming a function target, as `npm run drop -- --function` sets it. */
  function?: {target: string; signatureType?: string};
  /** HTTP requests to its service URL and what each must answer. */
  probes: Probe[];
  /** A WebSocket opened on the service URL: one message sent, the first answer must contain `contains`. */
  websocket?: {path: string; send: string; contains: string};
  /** Then the service's environment changed through the API (as `dropdeploy env <service> set` does), and probed again. */
  env?: {set: Record<string, string>; probes: Probe[]};
}

interface Probe {
  path: string;
  status?: number;
  contains: string;
}

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; buildId?: string; error?: {message: string}};
}

const APPS = join(REPO_ROOT, 'test', 'fixtures', 'apps');
const corpus = readdirSync(APPS)
  .filter((name) => existsSync(join(APPS, name, 'corpus.json')))
  .sort()
  .map((name) => ({name, entry: parseJson<CorpusEntry>(readFileSync(join(APPS, name, 'corpus.json'), 'utf8'))}));

describe('the corpus of real-world app shapes, through the local stack', {timeout: 900_000}, () => {
  let stack: LocalStack;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-corpus-'));
  const finished = new Map<string, Promise<Seen>>();

  const settled = async (service: string): Promise<Seen> => {
    for (;;) {
      const hit = seen.find(
        (e) => e.data.service === service && ['deployed', 'build_failed', 'deploy_failed', 'rejected'].includes(e.state),
      );
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 30_000,
      reconcileSeconds: 0,
      onLog: (l) => logs.push(l),
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
    // All dropped at once, as a team's CI jobs would: the builds run side by side.
    for (const {name, entry} of corpus) {
      // A copy without the probe file, so the archive holds only the app.
      const dir = mkdtempSync(join(tmpdir(), `dd-corpus-${name}-`));
      cpSync(join(APPS, name), dir, {recursive: true});
      rmSync(join(dir, 'corpus.json'));
      drop(stack.info.bucketDir, {
        path: dir,
        service: name,
        functionTarget: entry.function?.target,
        signatureType: entry.function?.signatureType,
      });
      finished.set(name, settled(name));
    }
  });
  after(async () => {
    await stack?.stop();
    rmSync(root, {recursive: true, force: true});
  });

  it('has apps to run', () => assert.ok(corpus.length > 0, `no corpus.json under ${APPS}`));

  for (const {name, entry} of corpus) {
    it(`${name}: ${entry.what}`, async () => {
      const end = await finished.get(name)!;
      const buildLog = async () => {
        const build = end.data.buildId ? await fetch(`${stack.info.buildLogsUrl}/builds/${end.data.buildId}`).then((r) => r.text()) : '';
        return `${end.data.error?.message ?? ''}\nbuild log:\n${build.slice(-3000)}\nstack:\n${logs.slice(-20).join('\n')}`;
      };
      assert.equal(end.state, 'deployed', `${name} ended ${end.state}: ${await buildLog()}`);
      const url = end.data.url!;
      await probeAll(name, url, entry.probes);
      if (entry.websocket) {
        const answer = await websocketAnswer(url.replace(/^http/, 'ws') + entry.websocket.path, entry.websocket.send);
        assert.ok(answer.includes(entry.websocket.contains), `${name}: the WebSocket answered ${JSON.stringify(answer)}`);
      }
      if (entry.env) {
        const res = await fetch(`${stack.info.apiUrl}/v1/services/${name}/env`, {
          method: 'PATCH',
          headers: {'content-type': 'application/json'},
          body: JSON.stringify({set: entry.env.set}),
        });
        const release = parseJson<{release: number}>(await res.text());
        assert.equal(res.status, 202, `${name}: PATCH env answered ${res.status}: ${JSON.stringify(release)}`);
        for (;;) {
          const hit = seen.find((e) => e.data.service === name && e.data.release === release.release && /deployed|failed/.test(e.state));
          if (hit) {
            assert.equal(hit.state, 'deployed', `${name}: the env change ended ${hit.state}: ${hit.data.error?.message ?? ''}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        await probeAll(name, url, entry.env.probes);
      }
    });
  }
});

async function probeAll(name: string, url: string, probes: Probe[]): Promise<void> {
  for (const probe of probes) {
    const res = await fetch(url + probe.path);
    const body = await res.text();
    assert.equal(res.status, probe.status ?? 200, `${name} ${probe.path} answered ${res.status}: ${body.slice(0, 500)}`);
    assert.ok(
      body.includes(probe.contains),
      `${name} ${probe.path} answered ${JSON.stringify(body.slice(0, 500))}, not "${probe.contains}"`,
    );
  }
}

/** Opens a WebSocket, sends one message, resolves with the first message back. */
function websocketAnswer(url: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => ws.send(message));
    ws.on('message', (data: Buffer) => {
      resolve(data.toString());
      ws.close();
    });
    ws.on('error', reject);
  });
}
