/**
 * Everything a local stack saves between runs, in `<root>/state/`: the Firestore emulator's
 * exports (releases), the Cloud Build emulator's builds and the Cloud Run emulator's services.
 * All of it is read and checked before anything starts, so a damaged file stops the start
 * with a message naming it instead of a stack that silently forgot something.
 */
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {BUILDS_FORMAT} from '../cloud-build/persisted';
import type {StoredBuild} from '../cloud-build/messages';
import {SERVICES_FORMAT, type SavedService} from '../cloud-run/persisted';
import {FirestoreSnapshots} from './firestore-snapshots';
import {loadState, saveState, type StateFormat} from './state-file';

/** Saves a state file some time after a change, many changes at once; {@link close} writes what is left and stops. */
export interface Saver {
  /** Something changed: save soon. */
  changed(): void;
  /** Saves now if anything changed, and ignores later changes (those of a stack that is stopping). */
  close(): void;
}

// Coalesced so a burst of changes (a build's QUEUED, WORKING, SUCCESS) costs one write, outside the RPC that made it.
const SAVE_DELAY_MS = 50;

function saver<T>(file: string, format: StateFormat<T>, body: () => object, onError: (err: Error) => void): Saver {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const write = () => {
    timer = undefined;
    try {
      saveState(file, format.version, body());
    } catch (err) {
      onError(new Error(`could not save ${format.what} to ${file}: ${(err as Error).message}`));
    }
  };
  return {
    changed() {
      if (!closed) timer ??= setTimeout(write, SAVE_DELAY_MS);
    },
    close() {
      closed = true;
      if (timer) {
        clearTimeout(timer);
        write();
      }
    },
  };
}

/** The saved state of one state folder, as read at start. */
export class SavedState {
  /** The Firestore export to import, if one was saved. */
  readonly firestoreImport: string | undefined;
  readonly firestore: FirestoreSnapshots;
  readonly builds: StoredBuild[];
  readonly services: SavedService[];

  /** Reads and checks every saved file of `dir` (created if missing); throws StateFileError for a damaged one. */
  constructor(readonly dir: string) {
    mkdirSync(dir, {recursive: true});
    this.firestore = new FirestoreSnapshots(join(dir, 'firestore'));
    this.firestoreImport = this.firestore.importPath();
    this.builds = loadState(this.buildsFile, BUILDS_FORMAT)?.builds ?? [];
    this.services = loadState(this.servicesFile, SERVICES_FORMAT)?.services ?? [];
  }

  /** Whether anything was saved before (the stack is a restart, not a first start). */
  get isRestart(): boolean {
    return this.firestoreImport !== undefined || this.builds.length > 0 || this.services.length > 0;
  }

  private get buildsFile(): string {
    return join(this.dir, 'cloud-build.json');
  }

  private get servicesFile(): string {
    return join(this.dir, 'cloud-run.json');
  }

  /** Saves the Cloud Build emulator's builds on change. */
  buildsSaver(snapshot: () => StoredBuild[], onError: (err: Error) => void): Saver {
    return saver(this.buildsFile, BUILDS_FORMAT, () => ({builds: snapshot()}), onError);
  }

  /** Saves the Cloud Run emulator's services on change. */
  servicesSaver(snapshot: () => SavedService[], onError: (err: Error) => void): Saver {
    return saver(this.servicesFile, SERVICES_FORMAT, () => ({services: snapshot()}), onError);
  }
}
