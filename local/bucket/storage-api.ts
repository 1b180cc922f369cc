/**
 * The read side of the Cloud Storage JSON API over the local object store, so the official
 * `@google-cloud/storage` client (apiEndpoint = this server) reads object metadata as it
 * would from Google: `GET /storage/v1/b/{bucket}/o/{object}[?generation=N]`.
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {latestGeneration, readObject} from './object-store';

/** A running JSON API server. */
export interface StorageApi {
  url: string;
  close(): Promise<void>;
}

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json; charset=UTF-8'}).end(JSON.stringify(body));
}

/** Serves objects.get of `bucket` from `storeRoot` on loopback. */
export function startStorageApi(storeRoot: string, bucket: string, port = 0): Promise<StorageApi> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return send(res, 404, {error: {code: 404, message: `No such route: ${req.method} ${url.pathname}`}});
    const [b, object] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    const notFound = () => send(res, 404, {error: {code: 404, message: `No such object: ${b}/${object}`, errors: [{reason: 'notFound', message: `No such object: ${b}/${object}`}]}});
    if (b !== bucket) return send(res, 404, {error: {code: 404, message: 'The specified bucket does not exist.', errors: [{reason: 'notFound'}]}});
    const generation = url.searchParams.get('generation') ?? latestGeneration(storeRoot, object);
    const stored = generation ? readObject(storeRoot, object, generation) : undefined;
    if (!stored) return notFound();
    send(res, 200, {kind: 'storage#object', id: `${b}/${object}/${stored.generation}`, ...stored});
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
