import {createReadStream} from 'node:fs';
import type {Transform} from 'node:stream';

/**
 * Feeds a file (or a byte range of it) through an optional decompressor to `consume`, and
 * tears both streams down however `consume` ends. Used instead of stream.pipeline, whose
 * rejection can be its own AbortError rather than the error `consume` threw.
 */
export async function consumeFile(
  path: string,
  range: {start: number; end: number} | undefined,
  transform: Transform | undefined,
  consume: (chunks: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const raw = createReadStream(path, range);
  const out = transform ? raw.pipe(transform) : raw;
  if (transform) raw.on('error', (err) => transform.destroy(err));
  try {
    await consume(out);
  } finally {
    raw.destroy();
    out.destroy();
  }
}
