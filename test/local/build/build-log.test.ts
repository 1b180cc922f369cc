import assert from 'node:assert/strict';
import {existsSync, mkdtempSync, readdirSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {BuildLogs} from '../../../local/build/build-log';

const ID = '8575f328-4fc1-4c19-9de7-1be9e8f33afa';

describe('BuildLogs', () => {
  it('in memory only without a folder', () => {
    const logs = new BuildLogs();
    logs.line(ID, 'Fetching source');
    logs.append(ID, 'chunk');
    assert.equal(logs.get(ID), 'Fetching source\nchunk');
    assert.equal(new BuildLogs().get(ID), undefined);
  });

  it('with a folder, a later instance (a restarted stack) reads the logs of earlier builds', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dd-build-logs-')), 'builds');
    const logs = new BuildLogs(dir);
    logs.line(ID, 'Fetching source');
    logs.line(ID, 'DONE: pushed x');
    assert.equal(new BuildLogs(dir).get(ID), 'Fetching source\nDONE: pushed x\n');
    assert.equal(new BuildLogs(dir).get('00000000-0000-0000-0000-000000000000'), undefined);
  });

  it('an id that is not a build id never names a file, in or outside the folder', () => {
    const parent = mkdtempSync(join(tmpdir(), 'dd-build-logs-'));
    const dir = join(parent, 'builds');
    const logs = new BuildLogs(dir);
    for (const id of ['../escape', '..', 'a/b', '']) {
      logs.line(id, 'kept in memory');
      assert.equal(logs.get(id), 'kept in memory\n');
      assert.equal(new BuildLogs(dir).get(id), undefined, id);
    }
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(existsSync(join(parent, 'escape.log')), false);
  });
});
