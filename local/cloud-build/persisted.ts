/**
 * The Cloud Build emulator's builds as the local stack saves them between runs
 * (`.dropdeploy/state/cloud-build.json`), and what becomes of a build that was still running
 * when the stack stopped. Pure.
 */
import {isTerminalBuildStatus} from '../../src/releases/build-statuses';
import {check, type StateFormat} from '../state/state-file';
import type {Timestamp} from '../grpc/time';
import type {StoredBuild} from './messages';

/** What the state file holds. */
export interface SavedBuilds {
  builds: StoredBuild[];
}

/** Why a build that was queued or working when the stack stopped ended: no builder runs it any more. */
export const INTERRUPTED_DETAIL =
  'the local stack stopped during the build, so it never finished; drop the source again, or redeploy the service, to build it again';

/** The state file format of the Cloud Build emulator. */
export const BUILDS_FORMAT: StateFormat<SavedBuilds> = {
  what: "the Cloud Build emulator's builds",
  version: 1,
  parse(body) {
    const builds = check.array(body.builds, 'builds').map((raw, i) => {
      const b = check.object(raw, `builds[${i}]`);
      for (const field of ['id', 'name', 'projectId', 'status', 'logUrl']) check.string(b[field], `builds[${i}].${field}`);
      check.object(b.createTime, `builds[${i}].createTime`);
      return b as StoredBuild;
    });
    const ids = new Set<string>();
    for (const b of builds) {
      if (ids.has(b.id)) throw new Error(`build ${b.id} is listed twice`);
      ids.add(b.id);
    }
    return {builds};
  },
};

/**
 * A saved build as it is brought back: a terminal one unchanged; one still queued or working
 * ends INTERNAL_ERROR with {@link INTERRUPTED_DETAIL} at `now` (Cloud Build would have finished
 * it, but the local builder that ran it is gone with its work folder).
 */
export function restoredBuild(build: StoredBuild, now: Timestamp): {build: StoredBuild; interrupted: boolean} {
  if (isTerminalBuildStatus(build.status)) return {build, interrupted: false};
  return {build: {...build, status: 'INTERNAL_ERROR', statusDetail: INTERRUPTED_DETAIL, finishTime: now}, interrupted: true};
}
