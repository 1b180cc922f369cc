import assert from 'node:assert/strict';
import {createServer as createHttpServer} from 'node:http';
import {createServer, type AddressInfo, type Server} from 'node:net';
import {describe, it} from 'node:test';
import {answersHttp, freePort, waitPortFree} from '../../local/ports';

function listen<S extends Server>(server: S, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('local ports', () => {
  it('freePort gives a port one can listen on', async () => {
    const port = await freePort();
    const server = createServer();
    assert.equal(await listen(server, port), port);
    server.close();
  });

  it('answersHttp: any HTTP status counts; a closed port or a server that never answers does not', async (t) => {
    const http = createHttpServer((_req, res) => res.writeHead(500).end());
    const silent = createServer(() => undefined);
    t.after(() => {
      http.close();
      silent.close();
    });
    assert.equal(await answersHttp(await listen(http), 1000), true);
    assert.equal(await answersHttp(await freePort(), 1000), false);
    assert.equal(await answersHttp(await listen(silent), 100), false);
  });

  it('waitPortFree returns once the listener lets go of the port', async () => {
    const server = createServer();
    const port = await listen(server);
    let freed = false;
    const waiting = waitPortFree(port, 10_000).then(() => {
      freed = true;
    });
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(freed, false, 'returned while the port was still taken');
    server.close();
    await waiting;
    assert.equal(freed, true);
  });
});
