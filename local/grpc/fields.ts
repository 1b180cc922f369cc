import type {PlainMessage} from './protos';

// Readers for the fields of decoded messages. The wire format guarantees their shapes, so a
// field of another type (never seen in practice) reads as unset rather than failing.

/** Whether `value` is a message (or map) in plain form: an object, not an array or bytes. */
export function isPlain(value: unknown): value is PlainMessage {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** A string field; `''` (proto3's default) when unset. */
export function stringField(message: PlainMessage, key: string): string {
  const value = message[key];
  return typeof value === 'string' ? value : '';
}

/** A numeric field, int64 ones included (stored as strings); 0 when unset. */
export function numberField(message: PlainMessage, key: string): number {
  const value = message[key];
  return typeof value === 'number' || typeof value === 'string' ? Number(value) : 0;
}

/** A message field, or undefined when unset. */
export function messageField(message: PlainMessage, key: string): PlainMessage | undefined {
  const value = message[key];
  return isPlain(value) ? value : undefined;
}

/** A repeated field; `[]` when unset. */
export function listField(message: PlainMessage, key: string): unknown[] {
  const value = message[key];
  return Array.isArray(value) ? value : [];
}

/** A repeated string field; `[]` when unset. */
export function stringList(message: PlainMessage, key: string): string[] {
  return listField(message, key).filter((x): x is string => typeof x === 'string');
}
