import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import type {BuildLogs} from './build-log';

/** A running log server: `url` is what the Cloud Build emulator takes as `logBaseUrl`. */
export interface LogServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /builds/<id>` as text/plain on loopback, so a build's logUrl opens in a browser
 * or with curl; anything else is 404.
 */
export function startLogServer(logs: BuildLogs, port = 0): Promise<LogServer> {
  const server = createServer((req, res) => {
    const id = /^\/builds\/([^/?#]+)(?:[?#].*)?$/.exec(req.url ?? '')?.[1];
    const text = id && (req.method === 'GET' || req.method === 'HEAD') ? logs.get(safeDecode(id)) : undefined;
    if (text === undefined) {
      return void res.writeHead(404, {'content-type': 'text/plain; charset=utf-8'}).end('no such build\n');
    }
    res.writeHead(200, {'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store'});
    res.end(req.method === 'HEAD' ? undefined : text);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const {port: bound} = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${bound}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

// A malformed escape is just an unknown build, not a crash of the server.
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
