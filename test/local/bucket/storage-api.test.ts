/**
 * The local Cloud Storage JSON API over a real bucket folder and object store: uploads by each
 * protocol become one new generation each, delivered once and copied into the folder; reads,
 * lists and downloads (with Range and x-goog-hash); the errors in Google's shape.
 */
import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readFileSync, readdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {request} from 'node:http';
import {after, before, describe, it} from 'node:test';
import {objectChecksums} from '../../../local/bucket/checksums';
import type {StoredObject} from '../../../local/bucket/object-store';
import {startStorageApi, type StorageApi} from '../../../local/bucket/storage-api';
import {BucketWatcher} from '../../../local/bucket/watcher';

const BUCKET = 'local-sources';

describe('the local Cloud Storage JSON API', () => {
  const root = mkdtempSync(join(tmpdir(), 'dd-storage-api-'));
  const dir = join(root, 'bucket');
  const delivered: StoredObject[] = [];
  let api: StorageApi;
  let watcher: BucketWatcher;
  const url = (p: string) => `${api.url}${p}`;
  const json = async (res: Response) => (await res.json()) as Record<string, unknown> & {error?: {code: number; message: string}};
  const waitDeliveries = async (n: number) => {
    const end = Date.now() + 10_000;
    while (delivered.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(delivered.length, n, `deliveries: ${delivered.map((o) => o.name).join(', ')}`);
  };

  before(async () => {
    api = await startStorageApi(join(root, 'store'), BUCKET, {maxObjectBytes: 1024 * 1024});
    watcher = new BucketWatcher({
      bucket: BUCKET,
      dir,
      storeRoot: join(root, 'store'),
      deliver: (o) => {
        delivered.push(o);
        return Promise.resolve();
      },
      settleMs: 0,
      rescanMs: 50,
    });
    await watcher.start();
  });
  after(async () => {
    await watcher.stop();
    await api.close();
  });

  it('before the bucket is watched, an upload is refused with 503 and nothing is stored', async () => {
    const res = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=early.tgz`), {method: 'POST', body: 'x'});
    assert.equal(res.status, 503);
    assert.match((await json(res)).error!.message, /not watched yet/);
    api.acceptUploads((object, file, info) => watcher.upload(object, file, info));
    assert.equal(existsSync(join(dir, 'early.tgz')), false);
  });

  it('a media upload: a new generation with its checksums, one delivery, a copy in the folder', async () => {
    const data = Buffer.from('media bytes');
    const res = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=svc%2Fa.tgz`), {
      method: 'POST',
      headers: {'content-type': 'application/gzip'},
      body: data,
    });
    const o = await json(res);
    assert.equal(res.status, 200, JSON.stringify(o));
    assert.equal(o.name, 'svc/a.tgz');
    assert.equal(o.size, String(data.length));
    assert.equal(o.md5Hash, objectChecksums(data).md5Hash);
    assert.equal(o.crc32c, objectChecksums(data).crc32c);
    assert.equal(o.contentType, 'application/gzip');
    await waitDeliveries(1);
    assert.equal(delivered[0].generation, o.generation);
    assert.deepEqual(readFileSync(join(dir, 'svc', 'a.tgz')), data);
    // The watch and two rescans see the copy: it is not delivered again.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(delivered.length, 1);
  });

  it('the same bytes again: a new generation all the same, as in Cloud Storage', async () => {
    const res = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=svc%2Fa.tgz`), {
      method: 'POST',
      body: 'media bytes',
    });
    const o = await json(res);
    await waitDeliveries(2);
    assert.ok(BigInt(o.generation as string) > BigInt(delivered[0].generation));
  });

  it('a multipart upload carries the custom metadata, written beside the folder copy', async () => {
    const boundary = 'xyz';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-type: application/json\r\n\r\n`),
      Buffer.from(JSON.stringify({name: 'fn/v1.zip', metadata: {'function-target': 'helloHttp'}})),
      Buffer.from(`\r\n--${boundary}\r\ncontent-type: application/zip\r\n\r\nZIPDATA\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=multipart`), {
      method: 'POST',
      headers: {'content-type': `multipart/related; boundary=${boundary}`},
      body,
    });
    const o = await json(res);
    assert.equal(res.status, 200, JSON.stringify(o));
    assert.deepEqual(o.metadata, {'function-target': 'helloHttp'});
    assert.equal(o.contentType, 'application/zip');
    await waitDeliveries(3);
    assert.deepEqual(delivered[2].metadata, {'function-target': 'helloHttp'});
    assert.equal(readFileSync(join(dir, 'fn', 'v1.zip'), 'utf8'), 'ZIPDATA');
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'fn', '.v1.zip.metadata.json'), 'utf8')), {'function-target': 'helloHttp'});
  });

  it('a resumable upload in chunks: 308 with the range held, a status query, the last chunk finishes it', async () => {
    const data = Buffer.from(Array.from({length: 3000}, (_, i) => i % 256));
    const start = await fetch(url(`/resumable/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable`), {
      method: 'POST',
      headers: {'content-type': 'application/json', 'x-upload-content-length': '3000'},
      body: JSON.stringify({name: 'big/app.tgz', crc32c: objectChecksums(data).crc32c}),
    });
    assert.equal(start.status, 200);
    const session = start.headers.get('location')!;
    assert.match(session, /uploadType=resumable&upload_id=\w+/);
    const put = (range: string, body?: Buffer) => fetch(session, {method: 'PUT', headers: {'content-range': range}, body});
    const first = await put('bytes 0-999/3000', data.subarray(0, 1000));
    assert.equal(first.status, 308);
    assert.equal(first.headers.get('range'), 'bytes=0-999');
    const wrong = await put('bytes 2000-2999/3000', data.subarray(2000));
    assert.equal(wrong.status, 400);
    assert.match((await json(wrong)).error!.message, /starts at byte 2000, but 1000 bytes were received: resend from byte 1000/);
    const status = await put('bytes */3000');
    assert.equal(status.status, 308);
    assert.equal(status.headers.get('range'), 'bytes=0-999');
    const last = await put('bytes 1000-2999/3000', data.subarray(1000));
    const o = await json(last);
    assert.equal(last.status, 200, JSON.stringify(o));
    assert.equal(o.size, '3000');
    await waitDeliveries(4);
    assert.deepEqual(readFileSync(join(dir, 'big', 'app.tgz')), data);
    // Asking again after the end: the finished object.
    const again = await put('bytes */3000');
    assert.equal(again.status, 200);
    assert.equal((await json(again)).generation, o.generation);
    assert.deepEqual(readdirSync(join(root, 'store', 'uploads')), [], 'no temp files left');
  });

  it('a resumable chunk cut off mid-body ends the session: nothing stored, the next PUT is told to start again', async () => {
    const start = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=cut%2Fx.tgz`), {method: 'POST'});
    const session = new URL(start.headers.get('location')!);
    await new Promise<void>((resolve) => {
      const req = request({
        host: session.hostname,
        port: session.port,
        method: 'PUT',
        path: `${session.pathname}${session.search}`,
        headers: {'content-range': 'bytes 0-999/1000', 'content-length': '1000'},
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(300));
      setTimeout(() => req.destroy(), 100);
    });
    let status = 0;
    for (let i = 0; i < 50 && status !== 404; i++) {
      const res = await fetch(session, {method: 'PUT', headers: {'content-range': 'bytes */1000'}});
      status = res.status;
      if (status === 404) assert.match(((await res.json()) as {error: {message: string}}).error.message, /start the upload again/);
      else await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(status, 404);
    assert.deepEqual(readdirSync(join(root, 'store', 'uploads')), [], 'no temp files left');
    assert.equal(existsSync(join(dir, 'cut', 'x.tgz')), false);
  });

  it('refusals: a wrong checksum, a failed ifGenerationMatch, too large, another bucket — nothing stored or delivered', async () => {
    const before = delivered.length;
    const badHash = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=svc%2Fbad.tgz`), {
      method: 'POST',
      headers: {'x-goog-hash': 'md5=AAAAAAAAAAAAAAAAAAAAAA=='},
      body: 'x',
    });
    assert.equal(badHash.status, 400);
    assert.match((await json(badHash)).error!.message, /Provided MD5 hash .* doesn't match/);
    const precondition = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=svc%2Fa.tgz&ifGenerationMatch=0`), {
      method: 'POST',
      body: 'x',
    });
    assert.equal(precondition.status, 412);
    const tooLarge = await fetch(url(`/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=svc%2Fhuge.tgz`), {
      method: 'POST',
      body: Buffer.alloc(1024 * 1024 + 1),
    });
    assert.equal(tooLarge.status, 413);
    for (const path of [
      '/storage/v1/b/other',
      '/storage/v1/b/other/o',
      '/storage/v1/b/other/o/x',
      '/upload/storage/v1/b/other/o?uploadType=media&name=x',
    ]) {
      const res = await fetch(url(path), {
        method: path.startsWith('/upload') ? 'POST' : 'GET',
        body: path.startsWith('/upload') ? 'x' : undefined,
      });
      const body = await json(res);
      assert.equal(res.status, 404, path);
      assert.deepEqual(Object.keys(body.error!).sort(), ['code', 'errors', 'message']);
      assert.match(
        body.error!.message,
        /The specified bucket does not exist\. \(The local stack has only the bucket 'local-sources', not 'other'\.\)/,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(delivered.length, before);
    assert.equal(existsSync(join(dir, 'svc', 'bad.tgz')), false);
    assert.equal(existsSync(join(dir, 'svc', 'huge.tgz')), false);
    assert.deepEqual(readdirSync(join(root, 'store', 'uploads')), [], 'no temp files left');
  });

  it('reads: buckets.get, a list with folders as prefixes, metadata, and downloads with Range and x-goog-hash', async () => {
    const bucket = await json(await fetch(url(`/storage/v1/b/${BUCKET}`)));
    assert.equal(bucket.name, BUCKET);
    const list = await json(await fetch(url(`/storage/v1/b/${BUCKET}/o?delimiter=%2F&includeFoldersAsPrefixes=True&maxResults=1000`)));
    assert.deepEqual(list.prefixes, ['big/', 'fn/', 'svc/']);
    assert.deepEqual(list.items, []);
    const inFolder = await json(await fetch(url(`/storage/v1/b/${BUCKET}/o?prefix=svc%2F&delimiter=%2F`)));
    assert.deepEqual(
      (inFolder.items as Array<{name: string}>).map((i) => i.name),
      ['svc/a.tgz'],
    );
    const meta = await json(await fetch(url(`/storage/v1/b/${BUCKET}/o/big%2Fapp.tgz`)));
    const whole = await fetch(url(`/storage/v1/b/${BUCKET}/o/big%2Fapp.tgz?alt=media`));
    const bytes = Buffer.from(await whole.arrayBuffer());
    assert.equal(whole.status, 200);
    assert.equal(bytes.length, 3000);
    assert.equal(whole.headers.get('x-goog-hash'), `crc32c=${meta.crc32c as string},md5=${meta.md5Hash as string}`);
    assert.equal(whole.headers.get('x-goog-generation'), meta.generation);
    const part = await fetch(url(`/download/storage/v1/b/${BUCKET}/o/big%2Fapp.tgz?generation=${meta.generation as string}&alt=media`), {
      headers: {range: 'bytes=1000-1009'},
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 1000-1009/3000');
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(1000, 1010));
    const beyond = await fetch(url(`/storage/v1/b/${BUCKET}/o/big%2Fapp.tgz?alt=media`), {headers: {range: 'bytes=3000-'}});
    assert.equal(beyond.status, 416);
    await beyond.arrayBuffer();
    const missing = await fetch(url(`/storage/v1/b/${BUCKET}/o/nope?alt=media`));
    assert.equal(missing.status, 404);
    assert.match((await json(missing)).error!.message, /No such object: local-sources\/nope/);
  });
});
