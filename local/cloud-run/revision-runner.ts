import type {SecretEnv} from './container-command';
import type {CheckedTemplate} from './messages';

/** What a runner is asked to start: one revision of one service. */
export interface RevisionToStart {
  /** Service id, e.g. `hello`. */
  service: string;
  /** Revision id, e.g. `hello-00002-xyz`. */
  name: string;
  /**
   * The runner's name for it, unique in the emulator (stop, retire and wake use it): the id, or in
   * another region than the emulator's home `<id>.<region>`; undefined: the id.
   */
  id?: string;
  /** Full resource names, for runners that serve several projects or regions. */
  serviceName: string;
  revisionName: string;
  /** The first container's image, env (literal values only) and port. */
  image: string;
  env: Record<string, string>;
  /** The first container's env values from Secret Manager (the runner resolves them). */
  secretEnv: SecretEnv[];
  /** The first container's command and args (replacing the image's ENTRYPOINT and CMD); empty when unset. */
  command: string[];
  args: string[];
  port: number;
  template: CheckedTemplate;
}

/** The outcome of starting a revision: ready (optionally with where it listens) or failed with a message. */
export type RevisionReadiness = {ready: true; url?: string} | {ready: false; message: string};

/** Decides whether revisions become ready; a local stack plugs in one that runs real processes. */
export interface RevisionRunner {
  start(revision: RevisionToStart): Promise<RevisionReadiness>;
  /** Called with the revision's runner name ({@link RevisionToStart.id}) when it is deleted, or when the emulator stops. */
  stop?(revisionName: string): Promise<void>;
}

/**
 * The message Cloud Run puts on the Ready condition (and in the failed operation) when the
 * container never listens on its port, as seen in real deploy failures.
 */
export function containerFailedMessage(revision: string, port: number): string {
  return (
    `Revision '${revision}' is not ready and cannot serve traffic. The user-provided container failed to start ` +
    `and listen on the port defined provided by the PORT=${port} environment variable within the allocated ` +
    'timeout. This can happen when the container port is misconfigured or if the timeout is too short. ' +
    'The health check timeout can be extended. Logs for this revision might contain more information.'
  );
}

/** Ready at once, except that an image containing `crash` fails to start (so tests can make a bad revision). */
export const defaultRunner: RevisionRunner = {
  start: (revision) =>
    new Promise((resolve) =>
      resolve(
        revision.image.includes('crash') ? {ready: false, message: containerFailedMessage(revision.name, revision.port)} : {ready: true},
      ),
    ),
};
