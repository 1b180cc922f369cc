/**
 * The read side of the Cloud Storage JSON API over the local object store, so the official
 * `@google-cloud/storage` client (apiEndpoint = this server) reads object metadata as it
 * would from Google: `GET /storage/v1/b/{bucket}/o/{object}[?generation=N]`, and lists them
 * (`GET /storage/v1/b/{bucket}/o?prefix=&maxResults=&pageToken=`, the live generation of each).
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {listObjectNames, liveGeneration, readObject, type StoredObject} from './object-store';

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
    const list = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(url.pathname);
    if (req.method === 'GET' && list) {
      if (decodeURIComponent(list[1]) !== bucket)
        return send(res, 404, {error: {code: 404, message: 'The specified bucket does not exist.', errors: [{reason: 'notFound'}]}});
      return send(res, 200, listPage(storeRoot, bucket, url.searchParams));
    }
    const m = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return send(res, 404, {error: {code: 404, message: `No such route: ${req.method} ${url.pathname}`}});
    const [b, object] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    const notFound = () =>
      send(res, 404, {
        error: {
          code: 404,
          message: `No such object: ${b}/${object}`,
          errors: [{reason: 'notFound', message: `No such object: ${b}/${object}`}],
        },
      });
    if (b !== bucket)
      return send(res, 404, {error: {code: 404, message: 'The specified bucket does not exist.', errors: [{reason: 'notFound'}]}});
    const generation = url.searchParams.get('generation') ?? liveGeneration(storeRoot, object);
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

/** One page of objects.list: names after the page token, at most maxResults (1000 by default, as Google's). */
function listPage(
  storeRoot: string,
  bucket: string,
  q: URLSearchParams,
): {kind: string; items: Array<StoredObject & {kind: string; id: string}>; nextPageToken?: string} {
  const max = Math.min(1000, Math.max(1, Number(q.get('maxResults') ?? 1000) || 1000));
  const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8') : undefined;
  const names = listObjectNames(storeRoot, q.get('prefix') ?? '').filter((n) => after === undefined || n > after);
  const items: Array<StoredObject & {kind: string; id: string}> = [];
  for (const name of names.slice(0, max)) {
    const generation = liveGeneration(storeRoot, name);
    const stored = generation ? readObject(storeRoot, name, generation) : undefined;
    if (stored) items.push({kind: 'storage#object', id: `${bucket}/${name}/${stored.generation}`, ...stored});
  }
  const page: {kind: string; items: typeof items; nextPageToken?: string} = {kind: 'storage#objects', items};
  if (names.length > max) page.nextPageToken = Buffer.from(names[max - 1]).toString('base64url');
  return page;
}
