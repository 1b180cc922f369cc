/**
 * SDK results come back as protobufjs messages (enums as numbers, int64 as Long) or as
 * plain objects, depending on the call path. Adapters turn both into proto3 JSON shapes.
 */

/** A deep copy in JSON form: enum names, int64 as strings, no prototypes. */
export function toPlain<T = Record<string, unknown>>(value: unknown): T {
  return JSON.parse(
    JSON.stringify(value ?? {}, (_k, v: unknown) => {
      // Long (int64) instances have no toJSON of their own.
      if (
        v &&
        typeof v === 'object' &&
        'low' in v &&
        'high' in v &&
        'unsigned' in v &&
        typeof (v as {toString?: unknown}).toString === 'function'
      ) {
        return (v as {toString(): string}).toString();
      }
      return v;
    }),
  ) as T;
}

/** The name of an enum value that may arrive as a name or a number. */
export function enumName(value: unknown, names: Record<number, string>): string | undefined {
  if (typeof value === 'number') return names[value];
  return typeof value === 'string' ? value : undefined;
}
