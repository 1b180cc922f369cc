import * as protobuf from 'protobufjs';
import {isPlain} from './fields';
import {messageType, type PlainMessage} from './protos';
import {durationJson, timestampJson} from './time';

function isDefault(value: unknown): boolean {
  if (value === '' || value === false || value === 0 || value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

function convert(field: protobuf.Field, value: unknown): unknown {
  const type = field.resolvedType;
  if (type instanceof protobuf.Type && isPlain(value)) {
    if (type.fullName === '.google.protobuf.Timestamp') return timestampJson(value);
    if (type.fullName === '.google.protobuf.Duration') return durationJson(value);
    return toJsonOf(type, value);
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

function toJsonOf(type: protobuf.Type, value: PlainMessage): PlainMessage {
  const out: PlainMessage = {};
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field || isDefault(v)) continue;
    if (field.map && isPlain(v)) {
      if (Object.keys(v).length === 0) continue;
      out[key] = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convert(field, x)]));
    } else if (field.repeated && Array.isArray(v)) {
      out[key] = v.map((x) => convert(field, x));
    } else {
      out[key] = convert(field, v);
    }
  }
  return out;
}

/**
 * The proto3 JSON mapping of a stored message: camelCase names, enum names, int64 as strings,
 * Timestamps as RFC 3339, Durations as `"600s"`, default values left out.
 */
export function toProto3Json(fullName: string, value: PlainMessage): PlainMessage {
  return toJsonOf(messageType(fullName), value);
}
