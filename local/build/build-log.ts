/**
 * Build logs of the local builder, kept in memory by build id: what a person opens at the
 * build's logUrl, as Cloud Build's log viewer would show it.
 */

/** Logs of every build, by build id. */
export class BuildLogs {
  private readonly logs = new Map<string, string[]>();

  /** Appends text (one or more lines, or a chunk of a child's output) to a build's log. */
  append(buildId: string, text: string): void {
    const chunks = this.logs.get(buildId) ?? [];
    chunks.push(text);
    this.logs.set(buildId, chunks);
  }

  /** Appends one line, adding the newline. */
  line(buildId: string, line: string): void {
    this.append(buildId, line.endsWith('\n') ? line : `${line}\n`);
  }

  /** The whole log of a build, or undefined when there is no such build. */
  get(buildId: string): string | undefined {
    const chunks = this.logs.get(buildId);
    return chunks && chunks.join('');
  }
}
