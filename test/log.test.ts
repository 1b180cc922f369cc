/**
 * src/log.ts writes what Google's own @google-cloud/pino-logging-gcp-config writes (the two are
 * run side by side here), plus NOTICE, labels and trace; and it stays cheap to load.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {createGcpLoggingPinoConfig} from '@google-cloud/pino-logging-gcp-config';
import {pino} from 'pino';
import {gcpTimestamp, LABELS_KEY, Logger, prettyPrinter, TRACE_KEY} from '../src/log';

type Entry = Record<string, unknown> & {severity: string; message: string; timestamp: {seconds: number; nanos: number}};

function ours(): {log: Logger; entries: Entry[]} {
  const entries: Entry[] = [];
  return {log: new Logger({format: 'json', write: (l) => entries.push(JSON.parse(l) as Entry)}), entries};
}

function google(): {log: pino.Logger; entries: Entry[]} {
  const entries: Entry[] = [];
  const config = createGcpLoggingPinoConfig(
    {serviceContext: {service: 'dropdeploy'}, traceGoogleCloudProjectId: '', inihibitDiagnosticMessage: true},
    {level: 'debug'},
  );
  return {log: pino(config, {write: (l: string) => entries.push(JSON.parse(l) as Entry)}), entries};
}

/** The entry's keys and each value's JSON type, which is what Cloud Logging's agent parses. */
function shape(e: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e)) out[k] = v !== null && typeof v === 'object' ? `{${Object.keys(v).sort().join(',')}}` : typeof v;
  return out;
}

describe('src/log.ts', () => {
  const levels = [
    ['debug', 'DEBUG'],
    ['info', 'INFO'],
    ['warn', 'WARNING'],
    ['error', 'ERROR'],
  ] as const;
  for (const [level, severity] of levels) {
    it(`${level}: the same entry as Google's pino config (severity ${severity})`, () => {
      const a = ours();
      const b = google();
      a.log[level]('hello', {release: 3});
      b.log[level]({release: 3}, 'hello');
      const [mine, theirs] = [a.entries[0], b.entries[0]];
      assert.equal(mine.severity, severity);
      assert.equal(mine.severity, theirs.severity);
      assert.equal(mine.message, theirs.message);
      assert.equal(mine.release, 3);
      // Not written by dropdeploy: pino's pid and hostname (Cloud Run's resource labels name the
      // instance) and serviceContext (nothing here reports to Error Reporting).
      const {serviceContext: _s, pid: _p, hostname: _h, ...rest} = theirs;
      assert.deepEqual(shape(mine), shape(rest));
      assert.ok(Math.abs(mine.timestamp.seconds - theirs.timestamp.seconds) <= 1);
    });
  }

  it('notice is NOTICE, a level Google has and pino has not', () => {
    const a = ours();
    a.log.notice('deployed');
    assert.equal(a.entries[0].severity, 'NOTICE');
  });

  it('labels go to logging.googleapis.com/labels as strings, trace to its own key; later labels win', () => {
    const a = ours();
    const trace = 'projects/p/traces/0af7651916cd43dd8448eb211c80319c';
    const log = a.log.with({service: 'hello', release: 2, skipped: undefined}).withTrace(trace).with({release: 3});
    log.info('x');
    a.log.info('root');
    assert.deepEqual(a.entries[0][LABELS_KEY], {service: 'hello', release: '3'});
    assert.equal(a.entries[0][TRACE_KEY], trace);
    assert.equal(a.entries[1][LABELS_KEY], undefined);
    assert.equal(a.entries[1][TRACE_KEY], undefined);
  });

  it('insertIds grow with every entry, so one millisecond keeps its order', () => {
    const a = ours();
    for (let i = 0; i < 50; i++) a.log.with({i}).info(`entry ${i}`);
    const ids = a.entries.map((e) => e['logging.googleapis.com/insertId'] as string);
    assert.equal(new Set(ids).size, 50);
    assert.deepEqual([...ids].sort(), ids);
  });

  it('timestamps as seconds and nanos', () => {
    assert.equal(gcpTimestamp(1_700_000_000_123), ',"timestamp":{"seconds":1700000000,"nanos":123000000}');
    assert.equal(gcpTimestamp(1_700_000_000_000), ',"timestamp":{"seconds":1700000000,"nanos":0}');
  });

  it('the pretty printer renders severity, message and labels on one line', () => {
    const a = ours();
    a.log.with({service: 'hello'}).notice('deployed v2', {revision: 'hello-00002'});
    const line = prettyPrinter()(JSON.stringify(a.entries[0]));
    assert.match(line, /NOTICE.*deployed v2/);
    assert.match(line, /hello-00002/);
    assert.match(line, /service.*hello/);
    assert.doesNotMatch(line, /\n/);
  });

  it('a pretty sink writes readable lines, not JSON', () => {
    const lines: string[] = [];
    new Logger({format: 'pretty', write: (l) => lines.push(l)}).warn('slow build');
    assert.match(lines[0], /WARN.*slow build/);
    assert.doesNotMatch(lines[0], /^\{/);
  });
});
