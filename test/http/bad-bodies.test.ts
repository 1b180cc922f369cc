/**
 * Every bad body gets an answer of ours, through the production entry point (dist/src/index.js
 * served by the Functions Framework's own server, one process per target, as on Google Cloud):
 * the API answers 400/413/415 in its Google-shaped JSON, before any large parse; the event
 * function acknowledges (2xx) what can never be handled, with a log line, so Pub/Sub push and
 * Eventarc do not redeliver it for days.
 */
import assert from 'node:assert/strict';
import {request} from 'node:http';
import {after, before, describe, it} from 'node:test';
import {startFunction, type RunningFunction} from '../../local/functions/function-process';

const ENV = {
  DROPDEPLOY_PROJECT: 'bad-bodies',
  DROPDEPLOY_REGION: 'europe-west1',
  DROPDEPLOY_REPOSITORY: 'dropdeploy',
  DROPDEPLOY_STATUS_TOPIC: 'status',
  DROPDEPLOY_BUCKETS: 'dd-sources',
  DROPDEPLOY_LOG_FORMAT: 'json',
  DROPDEPLOY_API_AUTH: 'none',
  METADATA_SERVER_DETECTION: 'none',
};

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** A raw HTTP/1.1 request (fetch cannot send a wrong Content-Length, a bad path or an early-closing body). */
function send(
  url: string,
  opts: {method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer | string; chunks?: Buffer[]},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({host: u.hostname, port: u.port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers}, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(parts).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer to ${opts.method ?? 'POST'} ${opts.path} within 15 s`)));
    if (opts.chunks) for (const c of opts.chunks) req.write(c);
    req.end(opts.body);
  });
}

const json = (body: string | Buffer, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  ...extra,
  'content-length': Buffer.byteLength(body),
});

describe('bad bodies, through the deployed entry point', {timeout: 120_000}, () => {
  let api: RunningFunction;
  let events: RunningFunction;
  const eventLogs: string[] = [];

  before(async () => {
    [api, events] = await Promise.all([
      startFunction({target: 'dropdeployApi', env: ENV}),
      startFunction({target: 'dropdeployEvents', env: ENV, onOutput: (l) => eventLogs.push(l)}),
    ]);
  });
  after(async () => {
    await Promise.all([api?.stop(), events?.stop()]);
  });

  describe('the API: 400, 413 or 415 in its JSON error shape', () => {
    const rollback = '/v1/services/svc:rollback';
    const refused = (a: Answer, status: number, message: RegExp) => {
      assert.equal(a.status, status, a.text.slice(0, 300));
      assert.match(a.type, /^application\/json/);
      const e = JSON.parse(a.text) as {error: {code: number; status: string; message: string}};
      assert.deepEqual(Object.keys(e.error), ['code', 'status', 'message']);
      assert.equal(e.error.code, status);
      assert.match(e.error.message, message);
    };
    const deep = (n: number) => `{"release":${'['.repeat(n)}${']'.repeat(n)}}`;
    const padded = '{"release":1,"pad":"' + 'x'.repeat(70_000) + '"}';
    const cases: Array<{name: string; req: Parameters<typeof send>[1]; want: [number, RegExp]}> = [
      {
        name: 'malformed JSON',
        req: {path: rollback, headers: json('{"release": 1,'), body: '{"release": 1,'},
        want: [400, /^the request body is not valid JSON/],
      },
      {name: 'JSON that breaks off', req: {path: rollback, headers: json('{"release'), body: '{"release'}, want: [400, /not valid JSON/]},
      {
        name: 'a charset other than UTF-8',
        req: {path: rollback, headers: json('{"release":1}', {'content-type': 'application/json; charset=latin1'}), body: '{"release":1}'},
        want: [415, /charset.*utf-8/i],
      },
      {
        name: 'an unknown charset',
        req: {path: rollback, headers: json('{"release":1}', {'content-type': 'application/json; charset=klingon'}), body: '{"release":1}'},
        want: [415, /charset/],
      },
      {
        name: 'invalid UTF-8',
        req: {
          path: rollback,
          headers: json(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])),
          body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
        },
        want: [400, /not valid UTF-8/],
      },
      {
        name: 'a compressed body',
        req: {path: rollback, headers: json('{"release":1}', {'content-encoding': 'compress'}), body: '{"release":1}'},
        want: [415, /Content-Encoding/],
      },
      {
        name: 'another media type',
        req: {path: rollback, headers: {'content-type': 'text/plain', 'content-length': 3}, body: 'abc'},
        want: [415, /Content-Type must be application\/json/],
      },
      {
        name: 'a bad %-encoding in the path',
        req: {path: '/v1/services/%E0%A4%A:rollback', headers: json('{"release":1}'), body: '{"release":1}'},
        want: [400, /path.*percent-encoding/],
      },
      {
        name: 'deep nesting (small enough to pass the size check)',
        req: {path: rollback, headers: json(deep(30_000)), body: deep(30_000)},
        want: [400, /nested deeper than 32/],
      },
      {name: 'oversize, declared', req: {path: rollback, headers: json(padded), body: padded}, want: [413, /at most 65536 bytes/]},
      // Oversize and malformed: refused for its size, so it was never parsed.
      {
        name: 'oversize and malformed, chunked (no Content-Length)',
        req: {
          path: rollback,
          headers: {'content-type': 'application/json'},
          chunks: Array.from({length: 40}, () => Buffer.from('{'.repeat(4096))),
        },
        want: [413, /at most 65536 bytes/],
      },
      // Past 32 MiB (Cloud Run's own limit) a refused body is not even read to its end.
      {
        name: 'a Content-Length far above the limit is refused before the body arrives',
        req: {path: rollback, headers: {'content-type': 'application/json', 'content-length': 64 * 1024 * 1024}, body: '{'},
        want: [413, /67108864 bytes/],
      },
    ];
    for (const c of cases) it(c.name, async () => refused(await send(api.url, c.req), ...c.want));
    it('a non-object still gets the field-naming 400 of validation', async () => {
      refused(await send(api.url, {path: rollback, headers: json('[1]'), body: '[1]'}), 400, /must be a JSON object/);
    });
  });

  describe('the event function: 2xx (acknowledged) with a log line', () => {
    const ce = {
      'ce-specversion': '1.0',
      'ce-id': 'bad-1',
      'ce-source': '//storage.googleapis.com/projects/_/buckets/dd-sources',
      'ce-type': 'google.cloud.storage.object.v1.finalized',
    };
    const legacy = JSON.stringify({
      data: {},
      context: {eventId: '1', eventType: 'providers/cloud.storage/eventTypes/object.change', resource: 'not-a-resource'},
    });
    const big = '{"message":{"data":"' + 'A'.repeat(16 * 1024 * 1024) + '"}}';
    const cases: Array<{name: string; req: Parameters<typeof send>[1]; log: RegExp}> = [
      {name: 'malformed JSON (binary CloudEvent)', req: {path: '/', headers: json('{bad', ce), body: '{bad'}, log: /not valid JSON/},
      {
        name: 'malformed JSON (Pub/Sub push)',
        req: {path: '/projects/p/topics/cloud-builds', headers: json('{"message":'), body: '{"message":'},
        log: /not valid JSON/,
      },
      {name: 'JSON null', req: {path: '/', headers: json('null'), body: 'null'}, log: /not a JSON object/},
      {
        name: 'a text body',
        req: {path: '/', headers: {'content-type': 'text/plain', 'content-length': 5}, body: 'hello'},
        log: /Content-Type/,
      },
      {
        name: 'a charset other than UTF-8',
        req: {path: '/', headers: json('{}', {...ce, 'content-type': 'application/json; charset=latin1'}), body: '{}'},
        log: /charset/,
      },
      {
        name: 'invalid UTF-8',
        req: {
          path: '/',
          headers: json(Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]), ce),
          body: Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]),
        },
        log: /UTF-8/,
      },
      {
        name: 'a bad %-encoding in the path',
        req: {path: '/projects/p/topics/%E0%A4%A', headers: json('{}'), body: '{}'},
        log: /percent-encoding/,
      },
      {
        name: 'a legacy event the framework cannot convert',
        req: {path: '/', headers: json(legacy), body: legacy},
        log: /could not be turned into a CloudEvent/,
      },
      {
        name: 'not a CloudEvent at all',
        req: {path: '/', headers: json('{"hello":"world"}'), body: '{"hello":"world"}'},
        log: /not a CloudEvent/,
      },
      {
        name: 'oversize (over 16 MiB)',
        req: {path: '/projects/p/topics/cloud-builds', headers: json(big), body: big},
        log: /at most 16777216 bytes/,
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const before = eventLogs.length;
        const a = await send(events.url, c.req);
        assert.ok(a.status >= 200 && a.status < 300, `${a.status}: ${a.text.slice(0, 200)}`);
        // Pub/Sub push acknowledges 102, 200, 201, 202 and 204 only.
        assert.ok([200, 201, 202, 204].includes(a.status));
        let line: {severity?: string; message?: string} | undefined;
        for (let i = 0; i < 40 && !line; i++) {
          line = eventLogs
            .slice(before)
            .map((l) => {
              try {
                return JSON.parse(l) as {severity?: string; message?: string};
              } catch {
                return undefined;
              }
            })
            .find((l) => l?.severity === 'ERROR' && c.log.test(l.message ?? ''));
          if (!line) await new Promise((r) => setTimeout(r, 25));
        }
        assert.ok(line, `no ERROR log line matching ${c.log}:\n${eventLogs.slice(before).join('\n').slice(0, 2000)}`);
      });
    }
  });
});
