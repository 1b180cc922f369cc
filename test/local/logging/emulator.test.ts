import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {buildLogEntries, LoggingEmulator, type LoggedBuild} from '../../../local/logging/emulator';
import {startRestServer, type RestServer} from '../../../local/grpc/rest-server';

const builds: LoggedBuild[] = [
  {id: 'b1', projectId: 'p', startTime: {seconds: '1796295600', nanos: 0}, text: 'one\ntwo\n\nthree\n'},
  {id: 'b2', projectId: 'p', startTime: {seconds: '1796295700', nanos: 5_000_000}, text: 'other'},
  {id: 'b3', projectId: 'q', startTime: {seconds: '1796295800', nanos: 0}, text: 'elsewhere\n'},
];

describe('buildLogEntries', () => {
  it('one entry per line, in order a microsecond apart, in log cloudbuild of resource build', () => {
    const entries = buildLogEntries(builds[0]);
    assert.deepEqual(
      entries.map((e) => [e.textPayload, e.timestamp]),
      [
        ['one', '2026-12-03T11:00:00Z'],
        ['two', '2026-12-03T11:00:00.000001Z'],
        ['', '2026-12-03T11:00:00.000002Z'],
        ['three', '2026-12-03T11:00:00.000003Z'],
      ],
    );
    assert.deepEqual(entries[0].resource, {type: 'build', labels: {build_id: 'b1', project_id: 'p'}});
    assert.equal(entries[0].logName, 'projects/p/logs/cloudbuild');
    assert.equal(new Set(entries.map((e) => e.insertId)).size, 4);
  });
});

describe('LoggingEmulator over REST (entries:list, as gcloud calls it)', () => {
  const asked: Array<string | undefined> = [];
  const emu = new LoggingEmulator({
    builds: (id) => {
      asked.push(id);
      return builds;
    },
  });
  let rest: RestServer;
  before(async () => {
    rest = await startRestServer(emu);
  });
  after(() => rest.close());

  const list = async (body: object) => {
    const res = await fetch(`${rest.url}/v2/entries:list?alt=json`, {method: 'POST', body: JSON.stringify(body)});
    return {
      status: res.status,
      json: (await res.json()) as {entries?: Array<{textPayload: string; timestamp: string}>; nextPageToken?: string},
    };
  };

  it("answers one build's lines for gcloud's filter", async () => {
    const {status, json} = await list({
      resourceNames: ['projects/p'],
      filter:
        'logName="projects/p/logs/cloudbuild" AND resource.type="build" AND timestamp>="2026-12-03T11:00:00Z" AND resource.labels.build_id="b1"',
      orderBy: 'timestamp asc',
      pageSize: 1000,
    });
    assert.equal(status, 200);
    assert.deepEqual(
      json.entries!.map((e) => e.textPayload ?? ''),
      ['one', 'two', '', 'three'],
    );
    assert.equal(json.entries![1].timestamp, '2026-12-03T11:00:00.000001Z');
    assert.equal(json.nextPageToken, undefined);
    assert.equal(asked.at(-1), 'b1', 'only the log of the build the filter names is read');
  });

  it('pages, orders newest first when asked, and keeps to the projects named', async () => {
    const first = await list({resourceNames: ['projects/p'], orderBy: 'timestamp desc', pageSize: 2});
    assert.deepEqual(
      first.json.entries!.map((e) => e.textPayload),
      ['other', 'three'],
    );
    const second = await list({resourceNames: ['projects/p'], orderBy: 'timestamp desc', pageSize: 2, pageToken: first.json.nextPageToken});
    assert.deepEqual(
      second.json.entries!.map((e) => e.textPayload ?? ''),
      ['', 'two'],
    );
    assert.equal((await list({resourceNames: ['projects/q']})).json.entries!.length, 1);
  });

  it('refuses what it cannot answer with INVALID_ARGUMENT', async () => {
    for (const body of [
      {resourceNames: []},
      {resourceNames: ['folders/1']},
      {resourceNames: ['projects/p'], filter: 'a OR b'},
      {resourceNames: ['projects/p'], orderBy: 'severity'},
    ]) {
      const {status, json} = await list(body);
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal((json as unknown as {error: {status: string}}).error.status, 'INVALID_ARGUMENT');
    }
  });
});
