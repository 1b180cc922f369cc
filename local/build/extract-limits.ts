/**
 * Limits on what an archive may expand to, checked while it is read so that a bomb stops
 * early instead of filling the disk.
 */

/** Upper bounds for one archive. */
export interface ExtractLimits {
  /** Entries of any kind (a tar's pax and long-name headers count too). */
  maxEntries: number;
  /** Bytes the archive may expand to. */
  maxBytes: number;
  /** Expanded bytes per compressed byte of the whole archive. */
  maxRatio: number;
}

/** The defaults: generous for any real source, far below what a bomb wants. */
export const DEFAULT_LIMITS: ExtractLimits = {maxEntries: 20_000, maxBytes: 512 * 1024 * 1024, maxRatio: 200};

// Below this the ratio is not checked: tar pads even a one-line file to 10 KiB, which gzip
// shrinks to almost nothing, so tiny legitimate archives have huge ratios.
const RATIO_FLOOR = 1024 * 1024;

/** An archive refused, and why; names the entry when one entry is the cause. */
export class ExtractError extends Error {
  constructor(
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'ExtractError';
  }
}

/** Counts entries and expanded bytes against the limits; throws ExtractError once one is passed. */
export class Budget {
  entries = 0;
  bytes = 0;

  constructor(
    private readonly limits: ExtractLimits,
    private readonly compressedSize: number,
  ) {}

  /** One more entry. */
  entry(name: string): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new ExtractError(`the archive has more than ${this.limits.maxEntries} entries (at "${name}")`, name);
    }
  }

  /** Refuses early when an entry says it is bigger than what is left, before any byte is written. */
  declare(size: number, name: string): void {
    if (this.bytes + size > this.limits.maxBytes) this.tooBig(name);
  }

  /** `n` more expanded bytes, while they stream. */
  expanded(n: number, name: string): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) this.tooBig(name);
    if (this.bytes > RATIO_FLOOR && this.bytes > this.limits.maxRatio * this.compressedSize) {
      throw new ExtractError(
        `the archive expands to more than ${this.limits.maxRatio} times its compressed size ` +
          `(${this.compressedSize} bytes), which looks like a decompression bomb (at "${name}")`,
        name,
      );
    }
  }

  private tooBig(name: string): never {
    throw new ExtractError(`the archive expands to more than ${this.limits.maxBytes} bytes (at "${name}")`, name);
  }
}
