/**
 * The Firestore emulator's data saved by export and loaded back by a new emulator: what the
 * local stack does across restarts. An export cut short (a stack killed during it) never
 * replaces the last whole one.
 */
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import {startFirestoreEmulator, type RunningEmulator} from '../../../local/gcloud-emulators';
import {FirestoreSnapshots} from '../../../local/state/firestore-snapshots';
import {StateFileError} from '../../../local/state/state-file';
import {requireEmulators} from '../stack';

const db = (host: string, projectId: string) => {
  const f = new Firestore({projectId, ssl: false, host, customHeaders: {Authorization: 'Bearer owner'}});
  return f;
};

describe('Firestore snapshots', {timeout: 120_000}, () => {
  const started: Array<RunningEmulator | Firestore> = [];
  after(async () => {
    for (const s of started.reverse()) await (s instanceof Firestore ? s.terminate() : s.stop());
  });

  it('saves on change only, and a new emulator starts with the saved data', async () => {
    requireEmulators();
    const host = process.env.FIRESTORE_EMULATOR_HOST!;
    const projectId = `snap-${randomUUID().slice(0, 8)}`;
    const dir = join(mkdtempSync(join(tmpdir(), 'dd-snap-')), 'firestore');
    const snapshots = new FirestoreSnapshots(dir);
    assert.equal(snapshots.importPath(), undefined, 'nothing saved yet');
    snapshots.start({host, projectId, intervalMs: 3_600_000});
    const one = db(host, projectId);
    started.push(one);
    await one.doc('svc_services/hello/releases/0000000001').set({release: 1, state: 'deployed'});
    assert.equal(await snapshots.save(), 'saved');
    assert.equal(await snapshots.save(), 'unchanged');
    await one.doc('svc_services/hello/releases/0000000002').set({release: 2, state: 'building'});
    assert.equal(await snapshots.save(), 'saved');
    await snapshots.stop();
    const current = readFileSync(join(dir, 'CURRENT'), 'utf8').trim();
    assert.deepEqual(readdirSync(dir).sort(), ['CURRENT', current], 'only the current export is kept');

    // A stack killed while exporting leaves a folder that CURRENT does not name.
    mkdirSync(join(dir, 's-1-99', 'all_namespaces'), {recursive: true});
    const importData = new FirestoreSnapshots(dir).importPath()!;
    assert.equal(importData, join(dir, current, `${current}.overall_export_metadata`));
    assert.deepEqual(readdirSync(dir).sort(), ['CURRENT', current], 'the partial export is removed');

    const again = await startFirestoreEmulator({importData});
    started.push(again);
    const two = db(again.host, projectId);
    started.push(two);
    const docs = await two.collection('svc_services/hello/releases').get();
    assert.deepEqual(
      docs.docs.map((d) => d.data()),
      [
        {release: 1, state: 'deployed'},
        {release: 2, state: 'building'},
      ],
    );
  });

  it('CURRENT naming an export that is gone is a damaged state, not a first start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-snap-'));
    writeFileSync(join(dir, 'CURRENT'), 's-123-1\n');
    assert.throws(
      () => new FirestoreSnapshots(dir).importPath(),
      (err: unknown) => err instanceof StateFileError && /s-123-1/.test(err.message),
    );
  });
});
