/**
 * Build logs of the local builder, by build id: what a person opens at the build's logUrl, as
 * Cloud Build's log viewer would show it. Kept in memory, and when given a folder also written
 * to `<dir>/<build id>.log`, so the logs of earlier runs of the stack still open after a restart.
 */
import {appendFileSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';

// Cloud Build's ids (and the emulator's) are UUIDs; nothing else names a file here.
const BUILD_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Logs of every build, by build id. */
export class BuildLogs {
  private readonly logs = new Map<string, string[]>();

  /** `dir`: where each build's log is also written (and read from after a restart); none keeps them in memory only. */
  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, {recursive: true});
  }

  /** Appends text (one or more lines, or a chunk of a child's output) to a build's log. */
  append(buildId: string, text: string): void {
    const chunks = this.logs.get(buildId) ?? [];
    chunks.push(text);
    this.logs.set(buildId, chunks);
    const file = this.fileOf(buildId);
    if (file) appendFileSync(file, text);
  }

  /** Appends one line, adding the newline. */
  line(buildId: string, line: string): void {
    this.append(buildId, line.endsWith('\n') ? line : `${line}\n`);
  }

  /** The whole log of a build, or undefined when there is no such build. */
  get(buildId: string): string | undefined {
    const chunks = this.logs.get(buildId);
    if (chunks) return chunks.join('');
    const file = this.fileOf(buildId);
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  }

  private fileOf(buildId: string): string | undefined {
    return this.dir && BUILD_ID.test(buildId) ? join(this.dir, `${buildId}.log`) : undefined;
  }
}
