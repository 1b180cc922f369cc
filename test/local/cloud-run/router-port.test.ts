import assert from 'node:assert/strict';
import {createServer, type Server} from 'node:net';
import {after, describe, it} from 'node:test';
import {ServiceRouter} from '../../../local/cloud-run/router';
import {freePort} from '../../../local/ports';

describe('the service router keeps a port across restarts when it can', () => {
  const router = new ServiceRouter({target: () => undefined});
  const blockers: Server[] = [];
  after(async () => {
    await router.close();
    for (const b of blockers) await new Promise((r) => b.close(r));
  });

  it('takes the preferred port when it is free', async () => {
    const port = await freePort();
    assert.equal(await router.urlFor('a', port), `http://127.0.0.1:${port}`);
    assert.equal(await router.urlFor('a'), `http://127.0.0.1:${port}`, 'and keeps it');
  });

  it('takes another port when the preferred one is taken', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as {port: number}).port;
    const url = await router.urlFor('b', taken);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(url, `http://127.0.0.1:${taken}`);
    assert.equal((await fetch(url)).status, 503, 'it serves the service');
  });
});
