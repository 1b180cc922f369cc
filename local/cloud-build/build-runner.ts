import type {StoredBuild} from './messages';

/** What a runner may do to the build it drives. */
export interface BuildControl {
  /** Moves the build on; ignored once the build is terminal (e.g. cancelled meanwhile). */
  setStatus(status: string, opts?: {failureDetail?: string; digest?: string}): void;
}

/**
 * Decides what happens to a newly queued build. Returns an optional cleanup the emulator
 * calls on stop(). The default runner does nothing: tests move builds with `setStatus`.
 */
export type BuildRunner = (build: StoredBuild, control: BuildControl) => void | (() => void);

/** A runner that moves each build QUEUED → WORKING → `status`, `afterMs` apart. */
export function autoCompleteRunner(opts: {status: 'SUCCESS' | 'FAILURE'; afterMs: number}): BuildRunner {
  return (_build, control) => {
    const working = setTimeout(() => control.setStatus('WORKING'), opts.afterMs);
    const done = setTimeout(() => control.setStatus(opts.status), opts.afterMs * 2);
    return () => {
      clearTimeout(working);
      clearTimeout(done);
    };
  };
}
