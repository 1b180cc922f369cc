import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {
  acquireStackLock,
  lockVerdict,
  parseLock,
  processStartTime,
  StackLockedError,
  type LockRecord,
  type ProcessProbe,
} from '../../../local/state/lock';

const record: LockRecord = {pid: 4242, startTime: '1000', startedAt: '2026-01-01T00:00:00.000Z', token: 't'};

describe('the stack lock', () => {
  const verdicts: Array<{name: string; record: LockRecord | undefined; probe: ProcessProbe | undefined; held: boolean; reason?: RegExp}> = [
    {name: 'its process runs, same start time', record, probe: {alive: true, startTime: '1000'}, held: true},
    {name: 'its process runs, start time unknown here', record, probe: {alive: true, startTime: null}, held: true},
    {name: 'no start time recorded (not Linux)', record: {...record, startTime: null}, probe: {alive: true, startTime: '5'}, held: true},
    {name: 'its process is gone', record, probe: {alive: false}, held: false, reason: /pid 4242\) is no longer running/},
    {
      name: 'its pid is another process now',
      record,
      probe: {alive: true, startTime: '2000'},
      held: false,
      reason: /pid 4242 is now another process/,
    },
    {name: 'the lock file is unreadable', record: undefined, probe: undefined, held: false, reason: /unreadable/},
  ];
  for (const v of verdicts) {
    it(`verdict: ${v.name} → ${v.held ? 'held' : 'taken over'}`, () => {
      const got = lockVerdict(v.record, v.probe);
      assert.equal(got.held, v.held);
      if (!got.held) assert.match(got.reason, v.reason!);
    });
  }

  it('parses only lock records', () => {
    assert.deepEqual(parseLock(JSON.stringify(record)), record);
    for (const bad of [
      '',
      '{',
      '{"pid": "1", "token": "t", "startedAt": "x"}',
      '{"pid": 0, "token": "t", "startedAt": "x"}',
      '{"pid": 5}',
    ]) {
      assert.equal(parseLock(bad), undefined, bad);
    }
  });

  it('reads the start time of a running process, and none of a gone one', () => {
    const mine = processStartTime(process.pid);
    if (existsSync('/proc/self/stat')) assert.match(mine ?? '', /^\d+$/);
    assert.equal(processStartTime(2 ** 22 + 17), null);
  });

  it('a second lock in the folder is refused with the pid of the first; released, it can be taken again', () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-lock-'));
    const first = acquireStackLock(root);
    assert.equal(first.tookOver, undefined);
    assert.throws(
      () => acquireStackLock(root),
      (err: unknown) => err instanceof StackLockedError && err.message.includes(`pid ${process.pid}`) && err.message.includes(root),
    );
    first.release();
    assert.equal(existsSync(join(root, 'lock')), false);
    acquireStackLock(root).release();
  });

  it('a lock of a dead process is taken over, saying why; the old holder releasing it later leaves the new lock alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-lock-'));
    const deadPid = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout);
    writeFileSync(join(root, 'lock'), JSON.stringify({...record, pid: deadPid}));
    const lock = acquireStackLock(root);
    assert.match(lock.tookOver ?? '', new RegExp(`pid ${deadPid}\\) is no longer running`));
    assert.equal(parseLock(readFileSync(join(root, 'lock'), 'utf8'))?.token, lock.record.token);
    lock.release();

    const a = acquireStackLock(root);
    writeFileSync(join(root, 'lock'), JSON.stringify({...a.record, token: 'someone else'}));
    a.release();
    assert.ok(existsSync(join(root, 'lock')), 'a lock that is no longer ours is not removed');
  });

  it('an unreadable lock file is taken over', () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-lock-'));
    writeFileSync(join(root, 'lock'), 'garbage');
    const lock = acquireStackLock(root);
    assert.match(lock.tookOver ?? '', /unreadable/);
    lock.release();
  });
});
