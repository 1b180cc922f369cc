import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {RequestLog, type RequestRecord} from '../../../local/cloud-run/request-log';

const rec = (at: number): RequestRecord => ({service: 's', revision: 'r', status: 200, latencyMs: 1, at});

describe('RequestLog', () => {
  it('keeps records for the retention, then drops the oldest', () => {
    let now = 10_000;
    const log = new RequestLog({retentionMs: 5_000, now: () => now});
    for (const at of [4_000, 6_000, 9_000, 10_000]) log.add(rec(at));
    assert.deepEqual(
      log.between(0, now).map((r) => r.at),
      [6_000, 9_000, 10_000],
    );
    now = 14_500;
    assert.deepEqual(
      log.between(0, now).map((r) => r.at),
      [10_000],
    );
  });

  it('keeps at most maxRecords, the newest', () => {
    const log = new RequestLog({maxRecords: 3, now: () => 100});
    for (let at = 1; at <= 10; at++) log.add(rec(at));
    assert.deepEqual(
      log.between(0, 100).map((r) => r.at),
      [8, 9, 10],
    );
  });

  it('selects the records that ended in (from, to]', () => {
    const log = new RequestLog({now: () => 100});
    for (const at of [10, 20, 30]) log.add(rec(at));
    assert.deepEqual(
      log.between(10, 30).map((r) => r.at),
      [20, 30],
    );
    assert.deepEqual(log.between(30, 30), [], 'an empty interval: nothing');
  });
});
