/** A build that failed because of its source: a one-line reason and the failing step's last output lines. */
export class BuildFailure extends Error {
  constructor(
    readonly reason: string,
    readonly tail: string[] = [],
  ) {
    super(reason);
    this.name = 'BuildFailure';
  }

  /** The failureDetail Cloud Build shows: the reason, then the output that explains it. */
  detail(): string {
    return this.tail.length ? `${this.reason}\n${this.tail.join('\n')}` : this.reason;
  }
}
