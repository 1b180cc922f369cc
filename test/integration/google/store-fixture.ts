/**
 * A Firestore release store for one describe block, against the Firestore emulator: under a
 * root of its own (so blocks and runs never see each other's documents), made before the
 * block's tests and closed after them.
 */
import {randomUUID} from 'node:crypto';
import {after, before} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import {FirestoreReleaseStore} from '../../../src/google/firestore-store';
import {requireEmulators} from '../stack';

/** The block's store, its Firestore client and its root (the getters throw before the block's tests start). */
export interface StoreFixture {
  readonly root: string;
  readonly db: Firestore;
  readonly store: FirestoreReleaseStore;
}

/** Registers the block's before/after hooks; call it inside `describe`. */
export function emulatorStore(prefix = 't'): StoreFixture {
  const root = `${prefix}${randomUUID().slice(0, 8)}`;
  let made: {db: Firestore; store: FirestoreReleaseStore} | undefined;
  before(() => {
    requireEmulators();
    const db = new Firestore({projectId: 'dd-store-test'});
    made = {db, store: new FirestoreReleaseStore(db, root)};
  });
  after(async () => {
    await made?.db.terminate();
  });
  const get = () => {
    if (!made) throw new Error('the store fixture is used before its describe block started');
    return made;
  };
  return {
    root,
    get db() {
      return get().db;
    },
    get store() {
      return get().store;
    },
  };
}
