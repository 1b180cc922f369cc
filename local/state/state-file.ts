/**
 * The local stack's saved state files (`.dropdeploy/state/*.json`): written atomically (a
 * temporary file, fsync, rename), so a stack killed mid-write leaves the previous version
 * whole, and read back through a parser that says exactly what is wrong with a damaged file.
 * Bytes fields of the stored messages (an IAM policy's etag) are kept as `{"$bytes": base64}`.
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync} from 'node:fs';

/** A saved state file that cannot be used: what is wrong, and what to do. */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(
      `the saved state ${file} cannot be read: ${reason}. Nothing was changed. Move the file away to look at it, ` +
        'or start with `npm start -- --fresh` to remove all saved state and start empty.',
    );
    this.name = 'StateFileError';
  }
}

/** The format of one kind of state file: its version and how to check what was read. */
export interface StateFormat<T> {
  /** What the file holds, for messages ("the Cloud Build emulator's builds"). */
  what: string;
  version: number;
  /** Checks the parsed body (everything but `version`); returns it typed, or throws a message naming the field. */
  parse(body: Record<string, unknown>): T;
}

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array ? {$bytes: Buffer.from(raw).toString('base64')} : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const bytes = (value as {$bytes?: unknown}).$bytes;
    if (keys.length === 1 && typeof bytes === 'string') return new Uint8Array(Buffer.from(bytes, 'base64'));
  }
  return value;
}

/** The text of a state file: `{"version": N, ...body}`. */
export function encodeState(version: number, body: object): string {
  return JSON.stringify({version, ...body}, replacer, 1) + '\n';
}

/** Parses the text of a state file of `format`; throws {@link StateFileError} for anything it cannot use. */
export function decodeState<T>(file: string, text: string, format: StateFormat<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviver);
  } catch (err) {
    throw new StateFileError(file, `it is not JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new StateFileError(file, 'it is not a JSON object');
  const {version, ...body} = parsed as Record<string, unknown>;
  if (version !== format.version) {
    const newer = typeof version === 'number' && version > format.version;
    throw new StateFileError(
      file,
      `it holds ${format.what} in format version ${JSON.stringify(version)}, and this dropdeploy reads version ${format.version}` +
        (newer ? ' (a newer dropdeploy wrote it)' : ''),
    );
  }
  try {
    return format.parse(body);
  } catch (err) {
    throw new StateFileError(file, `it does not hold ${format.what} as expected: ${(err as Error).message}`);
  }
}

/** Writes `text` to `file` so that a reader (or a crash) sees the old file or the new one, never part of one. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Saves `body` as a state file of version `version`, atomically. */
export function saveState(file: string, version: number, body: object): void {
  writeFileAtomic(file, encodeState(version, body));
}

/** Reads a state file; undefined when there is none (a first start), {@link StateFileError} when it is damaged. */
export function loadState<T>(file: string, format: StateFormat<T>): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(file, (err as Error).message);
  }
  return decodeState(file, text, format);
}

/** Small checks for the parse functions of state formats: each throws a message naming the field. */
export const check = {
  object(value: unknown, field: string): Record<string, unknown> {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${field} is not an object`);
    return value as Record<string, unknown>;
  },
  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) throw new Error(`${field} is not a list`);
    return value;
  },
  string(value: unknown, field: string): string {
    if (typeof value !== 'string' || value === '') throw new Error(`${field} is not a non-empty string`);
    return value;
  },
};
