/**
 * The Cloud Storage JSON API over the local bucket, enough for the official
 * `@google-cloud/storage` client and `gcloud storage ls / cp`:
 * - `GET /storage/v1/b/{bucket}` (buckets.get);
 * - `GET /storage/v1/b/{bucket}/o?prefix=&delimiter=&maxResults=&pageToken=` (objects.list, the
 *   live generation of each);
 * - `GET /storage/v1/b/{bucket}/o/{object}[?generation=N][&alt=media]` (objects.get, metadata or
 *   the bytes, with `Range` and `x-goog-hash`);
 * - `POST /upload/storage/v1/b/{bucket}/o?uploadType=media|multipart|resumable` and the
 *   resumable session's `PUT`s (objects.insert).
 * An upload is streamed to a file in the store while it is hashed, then handed to the bucket
 * (`acceptUploads`): a new generation, delivered as a dropped file is. Other buckets get
 * Google's 404. Request parameters it does not know (`fields`, `projection`, …) are ignored:
 * the whole resource is answered.
 */
import {randomUUID} from 'node:crypto';
import {createReadStream, createWriteStream, mkdirSync, rmSync, statSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';
import {join} from 'node:path';
import {ObjectHasher} from './checksums';
import {listingPage} from './object-listing';
import {generationPath, listObjectNames, liveGeneration, readObject, type StoredObject} from './object-store';
import {
  byteRange,
  checksumMismatch,
  googleError,
  noSuchBucket,
  objectNameOf,
  parseContentRange,
  parseInsertMetadata,
  receivedRange,
  splitMultipart,
  type GoogleError,
  type InsertMetadata,
} from './upload-protocol';
import type {UploadInfo} from './watcher';

/** Stores an upload's bytes (in `file`) as a new generation of `object` and delivers it; resolves with the resource. */
export type UploadSink = (object: string, file: string, info: UploadInfo) => Promise<StoredObject>;

/** A running JSON API server. */
export interface StorageApi {
  url: string;
  /** From now on uploads go to `sink` (until then they are refused with 503: the bucket is not watched yet). */
  acceptUploads(sink: UploadSink): void;
  close(): Promise<void>;
}

/** Options of {@link startStorageApi}. */
export interface StorageApiOptions {
  port?: number;
  /**
   * The largest object accepted, in bytes. Default 2 GiB: the bucket folder reads a file whole
   * (Node's readFileSync stops at 2 GiB), and an upload's copy lands in that folder too.
   */
  maxObjectBytes?: number;
}

/** A multipart upload is buffered whole (gcloud sends those only under its resumable threshold, 8 MiB by default). */
const MAX_MULTIPART_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_OBJECT = 2 * 1024 * 1024 * 1024;
/** Resumable sessions not finished within a week are forgotten, as Google's expire. */
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

class ApiError extends Error {
  constructor(readonly answer: GoogleError) {
    super(answer.body.error.message);
  }
}
const fail = (status: number, reason: string, message: string) => new ApiError(googleError(status, reason, message));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, {'content-type': 'application/json; charset=UTF-8', ...headers}).end(JSON.stringify(body));
}

/** A resumable upload in progress: its bytes so far in `file`. */
interface Session {
  object: string;
  meta: InsertMetadata;
  ifGenerationMatch: string | null;
  file: string;
  hasher: ObjectHasher;
  received: number;
  /** Whether a chunk is being written (chunks of one session come one at a time). */
  busy: boolean;
  done?: StoredObject;
  started: number;
}

/** Serves the JSON API of `bucket` from the object store at `storeRoot`, on loopback. */
export function startStorageApi(storeRoot: string, bucket: string, opts: StorageApiOptions = {}): Promise<StorageApi> {
  const maxObject = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT;
  const uploadsDir = join(storeRoot, 'uploads');
  mkdirSync(uploadsDir, {recursive: true});
  const sessions = new Map<string, Session>();
  let sink: UploadSink | undefined;
  let baseUrl = '';

  const resource = (o: StoredObject) => {
    const path = `b/${encodeURIComponent(o.bucket)}/o/${encodeURIComponent(o.name)}`;
    return {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${baseUrl}/storage/v1/${path}`,
      mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
      storageClass: 'STANDARD',
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
      ...o,
    };
  };

  const checkBucket = (b: string) => {
    if (b !== bucket) throw new ApiError(noSuchBucket(b, bucket));
  };

  /** Hands a finished upload to the bucket, after its checks; the temp file is gone either way. */
  const finish = async (
    object: string,
    file: string,
    hasher: ObjectHasher,
    meta: InsertMetadata,
    ifMatch: string | null,
    hashHeader?: string,
  ) => {
    try {
      const sums = hasher.digest();
      const mismatch = checksumMismatch({md5Hash: meta.md5Hash, crc32c: meta.crc32c, xGoogHash: hashHeader}, sums);
      if (mismatch) throw fail(400, 'invalid', mismatch);
      if (ifMatch !== null && (liveGeneration(storeRoot, object) ?? '0') !== ifMatch)
        throw fail(412, 'conditionNotMet', `At least one of the pre-conditions you specified did not hold (ifGenerationMatch=${ifMatch}).`);
      if (!sink) throw fail(503, 'backendError', 'The local bucket is not watched yet (the stack is starting): retry in a moment.');
      return await sink(object, file, {size: hasher.size, ...sums, contentType: meta.contentType, metadata: meta.metadata});
    } finally {
      rmSync(file, {force: true});
    }
  };

  /** Streams the request body to `file` (appending), hashing it; refuses bodies past the size limit. */
  const receive = (req: IncomingMessage, file: string, hasher: ObjectHasher, append: boolean) =>
    new Promise<number>((resolve, reject) => {
      const out = createWriteStream(file, {flags: append ? 'a' : 'w'});
      let n = 0;
      let failed = false;
      const stop = (err: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe(out);
        out.destroy();
        req.resume();
        reject(err);
      };
      req.on('data', (chunk: Buffer) => {
        if (failed) return;
        if (hasher.size + chunk.length > maxObject)
          return stop(fail(413, 'uploadTooLarge', `The object is larger than the local bucket takes (${maxObject} bytes).`));
        hasher.update(chunk);
        n += chunk.length;
      });
      req.on('error', stop);
      // A client that goes away mid-body: the chunk is not received (a resumable upload can resend it).
      req.on('close', () => !req.complete && stop(fail(400, 'invalid', 'The upload was cut off before its end.')));
      out.on('error', stop);
      out.on('finish', () => !failed && resolve(n));
      req.pipe(out);
    });

  const readAll = (req: IncomingMessage, limit: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n <= limit) chunks.push(c);
      });
      req.on('end', () =>
        n > limit
          ? reject(
              fail(
                413,
                'uploadTooLarge',
                `A multipart upload is at most ${limit} bytes here: use a resumable upload (uploadType=resumable).`,
              ),
            )
          : resolve(Buffer.concat(chunks)),
      );
      req.on('error', reject);
    });

  const tempFile = () => join(uploadsDir, `${randomUUID()}.part`);

  async function insert(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const type = url.searchParams.get('uploadType') ?? 'media';
    const ifMatch = url.searchParams.get('ifGenerationMatch');
    const hashHeader = req.headers['x-goog-hash'] as string | undefined;
    if (type === 'media') {
      const name = objectNameOf(url.searchParams.get('name'), {});
      if (typeof name !== 'string') throw fail(400, 'required', name.problem);
      const file = tempFile();
      const hasher = new ObjectHasher();
      await receive(req, file, hasher, false).catch((err: unknown) => {
        rmSync(file, {force: true});
        throw err;
      });
      const meta = {contentType: req.headers['content-type']};
      return send(res, 200, resource(await finish(name, file, hasher, meta, ifMatch, hashHeader)));
    }
    if (type === 'multipart') {
      const parts = splitMultipart(await readAll(req, Math.min(MAX_MULTIPART_BYTES, maxObject + 64 * 1024)), req.headers['content-type']);
      if (typeof parts === 'string') throw fail(400, 'invalid', parts);
      const meta = parseInsertMetadata(parts.metadata);
      if (typeof meta === 'string') throw fail(400, 'invalid', meta);
      const name = objectNameOf(url.searchParams.get('name'), meta);
      if (typeof name !== 'string') throw fail(400, 'required', name.problem);
      const file = tempFile();
      const hasher = new ObjectHasher();
      hasher.update(parts.media);
      await new Promise<void>((resolve, reject) => createWriteStream(file).on('error', reject).end(parts.media, resolve));
      const stored = await finish(name, file, hasher, {...meta, contentType: meta.contentType ?? parts.mediaType}, ifMatch, hashHeader);
      return send(res, 200, resource(stored));
    }
    if (type === 'resumable') {
      const meta = parseInsertMetadata((await readAll(req, 1024 * 1024)).toString('utf8'));
      if (typeof meta === 'string') throw fail(400, 'invalid', meta);
      const name = objectNameOf(url.searchParams.get('name'), meta);
      if (typeof name !== 'string') throw fail(400, 'required', name.problem);
      const declared = Number(req.headers['x-upload-content-length'] ?? 0);
      if (declared > maxObject) throw fail(413, 'uploadTooLarge', `The object is larger than the local bucket takes (${maxObject} bytes).`);
      const contentType = meta.contentType ?? (req.headers['x-upload-content-type'] as string | undefined);
      const id = randomUUID().replace(/-/g, '');
      const file = tempFile();
      sessions.set(id, {
        object: name,
        meta: {...meta, contentType},
        ifGenerationMatch: ifMatch,
        file,
        hasher: new ObjectHasher(),
        received: 0,
        busy: false,
        started: Date.now(),
      });
      const location = `${baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`;
      res.writeHead(200, {location, 'x-guploader-uploadid': id, 'content-length': '0'}).end();
      return;
    }
    throw fail(400, 'invalid', `uploadType '${type}' is not one of media, multipart, resumable`);
  }

  async function resume(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = url.searchParams.get('upload_id') ?? '';
    const session = sessions.get(id);
    if (!session)
      throw fail(404, 'notFound', `No such upload session '${id}' (it finished, failed, or the stack restarted): start the upload again.`);
    if (session.done) {
      req.resume();
      return send(res, 200, resource(session.done));
    }
    if (session.busy) throw fail(409, 'conflict', 'Another chunk of this upload is being written: send chunks one at a time.');
    const header = req.headers['content-range'];
    // No Content-Range: the whole object in one request.
    const range = header === undefined ? ({first: session.received, last: -1, total: undefined} as const) : parseContentRange(header);
    if (!range)
      throw fail(400, 'invalid', `Content-Range '${header}' is not bytes A-B/T, bytes A-B/*, or a status query with * as the range`);
    session.busy = true;
    let receiving = false;
    try {
      if ('query' in range) req.resume();
      else {
        if (range.first !== session.received)
          throw fail(
            400,
            'invalid',
            `This chunk starts at byte ${range.first}, but ${session.received} bytes were received: resend from byte ${session.received}.`,
          );
        receiving = true;
        session.received += await receive(req, session.file, session.hasher, session.received > 0);
      }
    } catch (err) {
      // Bytes of a failed chunk may be half in the file and already hashed: the session cannot
      // go on from a known offset, so it ends (a later PUT is told to start again). A chunk
      // refused for its offset never touched the file.
      if (receiving) end(id);
      throw err;
    } finally {
      session.busy = false;
    }
    const total = header === undefined ? session.received : range.total;
    if (total === undefined || session.received < total) {
      const r = receivedRange(session.received);
      res.writeHead(308, {...(r ? {range: r} : {}), 'content-length': '0'}).end();
      return;
    }
    try {
      if (session.received > total)
        throw fail(400, 'invalid', `Received ${session.received} bytes, more than the total ${total}: start the upload again.`);
      const hash = req.headers['x-goog-hash'] as string | undefined;
      session.done = await finish(session.object, session.file, session.hasher, session.meta, session.ifGenerationMatch, hash);
    } catch (err) {
      // A failed check (checksum, precondition) ends the session, as Google's does.
      end(id);
      throw err;
    }
    send(res, 200, resource(session.done));
  }

  const end = (id: string) => {
    const s = sessions.get(id);
    if (s) rmSync(s.file, {force: true});
    sessions.delete(id);
  };

  function download(req: IncomingMessage, res: ServerResponse, o: StoredObject): void {
    const path = generationPath(storeRoot, o.name, o.generation);
    const size = statSync(path).size;
    const range = byteRange(req.headers.range, size);
    const headers: Record<string, string> = {
      'content-type': o.contentType || 'application/octet-stream',
      'x-goog-generation': o.generation,
      'x-goog-metageneration': o.metageneration,
      'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
      'x-goog-stored-content-length': String(size),
      'accept-ranges': 'bytes',
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
    };
    if (range === 'unsatisfiable') {
      res.writeHead(416, {'content-range': `bytes */${size}`, 'content-type': 'application/json; charset=UTF-8'});
      res.end(JSON.stringify(googleError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.').body));
      return;
    }
    const {start, end} = range ?? {start: 0, end: size - 1};
    if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    headers['content-length'] = String(Math.max(0, end - start + 1));
    res.writeHead(range ? 206 : 200, headers);
    if (size === 0 || req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(path, {start, end})
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    const method = req.method ?? 'GET';
    const upload = /^(?:\/resumable)?\/upload\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(p);
    if (upload) {
      checkBucket(decodeURIComponent(upload[1]));
      if (method === 'POST') return insert(req, res, url);
      if (method === 'PUT' && url.searchParams.get('upload_id')) return resume(req, res, url);
      if (method === 'DELETE' && url.searchParams.get('upload_id')) {
        // Cancelling a resumable upload: Google answers 499.
        end(url.searchParams.get('upload_id')!);
        res.writeHead(499, {'content-length': '0'}).end();
        return;
      }
    }
    req.resume();
    const bucketGet = /^\/storage\/v1\/b\/([^/]+)\/?$/.exec(p);
    if (method === 'GET' && bucketGet) {
      checkBucket(decodeURIComponent(bucketGet[1]));
      return send(res, 200, {
        kind: 'storage#bucket',
        id: bucket,
        name: bucket,
        selfLink: `${baseUrl}/storage/v1/b/${bucket}`,
        location: 'US-CENTRAL1',
        locationType: 'region',
        storageClass: 'STANDARD',
        metageneration: '1',
        projectNumber: '0',
      });
    }
    const list = /^\/storage\/v1\/b\/([^/]+)\/o\/?$/.exec(p);
    if (method === 'GET' && list) {
      checkBucket(decodeURIComponent(list[1]));
      const q = url.searchParams;
      const page = listingPage(listObjectNames(storeRoot, q.get('prefix') ?? ''), {
        prefix: q.get('prefix') ?? '',
        delimiter: q.get('delimiter') || undefined,
        maxResults: Number(q.get('maxResults') ?? 1000),
        pageToken: q.get('pageToken') ?? undefined,
      });
      const items = page.names.flatMap((name) => {
        const generation = liveGeneration(storeRoot, name);
        const stored = generation ? readObject(storeRoot, name, generation) : undefined;
        return stored ? [resource(stored)] : [];
      });
      return send(res, 200, {
        kind: 'storage#objects',
        items,
        ...(page.prefixes.length ? {prefixes: page.prefixes} : {}),
        ...(page.nextPageToken ? {nextPageToken: page.nextPageToken} : {}),
      });
    }
    const get = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(p);
    if ((method === 'GET' || method === 'HEAD') && get) {
      const [b, object] = [decodeURIComponent(get[1]), decodeURIComponent(get[2])];
      checkBucket(b);
      const generation = url.searchParams.get('generation') ?? liveGeneration(storeRoot, object);
      const stored = generation ? readObject(storeRoot, object, generation) : undefined;
      if (!stored)
        throw fail(404, 'notFound', `No such object: ${b}/${object}${url.searchParams.get('generation') ? `#${generation}` : ''}`);
      if (url.searchParams.get('alt') === 'media' || p.startsWith('/download/')) return download(req, res, stored);
      return send(res, 200, resource(stored));
    }
    throw fail(404, 'notFound', `No such route: ${method} ${p} (the local Cloud Storage JSON API)`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const answer =
        err instanceof ApiError ? err.answer : googleError(500, 'backendError', `The local Cloud Storage API failed: ${String(err)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Unread body bytes must not be taken for the next request on this connection.
      if (!req.readableEnded) res.setHeader('connection', 'close');
      send(res, answer.status, answer.body);
    });
  });
  const sweep = setInterval(() => {
    for (const [id, s] of sessions) {
      if (Date.now() - s.started < SESSION_TTL_MS) continue;
      rmSync(s.file, {force: true});
      sessions.delete(id);
    }
  }, 3600_000);
  sweep.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({
        url: baseUrl,
        acceptUploads: (s) => {
          sink = s;
        },
        close: () =>
          new Promise((r) => {
            clearInterval(sweep);
            for (const s of sessions.values()) rmSync(s.file, {force: true});
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
