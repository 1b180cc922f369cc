import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {freshTargets, removeSavedState} from '../../../local/state/fresh';

describe('--fresh', () => {
  it('targets the saved-state folders, never one that holds the bucket folder or lies in it', () => {
    const names = (root: string, bucket: string) => freshTargets(root, bucket).map((t) => t.path.slice(root.length + 1));
    assert.deepEqual(names('/r', '/r/bucket'), ['state', 'store', 'registry', 'logs']);
    assert.deepEqual(names('/r', '/elsewhere/drops'), ['state', 'store', 'registry', 'logs']);
    assert.deepEqual(names('/r', '/r/store/drops'), ['state', 'registry', 'logs'], 'a bucket folder inside store/ keeps store/');
    assert.deepEqual(names('/r', '/r/logs'), ['state', 'store', 'registry'], 'a bucket folder that is logs/ keeps it');
    assert.deepEqual(names('/r/bucket/dd', '/r/bucket'), [], 'a state folder inside the bucket folder is all user files');
  });

  it("removes dropdeploy's folders, says what each held, and keeps the bucket folder's files", () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-fresh-'));
    for (const [dir, file] of [
      ['state/firestore', 'CURRENT'],
      ['store/hello', 'g1'],
      ['registry', 'img.json'],
      ['bucket/hello', 'v1.tar.gz'],
    ]) {
      mkdirSync(join(root, dir), {recursive: true});
      writeFileSync(join(root, dir, file), 'x');
    }
    const lines = removeSavedState(root, join(root, 'bucket'));
    assert.deepEqual(lines.slice(0, 3), [
      `--fresh: removed ${join(root, 'state')} (releases (Firestore), builds and services: 1 file)`,
      `--fresh: removed ${join(root, 'store')} (the stored generations of the bucket objects: 1 file)`,
      `--fresh: removed ${join(root, 'registry')} (the built images: 1 file)`,
    ]);
    assert.match(lines[3], /kept the bucket folder .* \(your files, 1 of them\): its archives are new uploads/);
    assert.ok(existsSync(join(root, 'bucket', 'hello', 'v1.tar.gz')));
    for (const gone of ['state', 'store', 'registry']) assert.equal(existsSync(join(root, gone)), false, gone);
    assert.deepEqual(removeSavedState(root, join(root, 'bucket')).slice(0, 1), [`--fresh: there was no saved state in ${root}`]);
  });
});
