/**
 * The proto3 JSON mapping at the REST edge of the emulators, as Google's front ends apply it:
 * requests are checked (unknown names and enum values are INVALID_ARGUMENT, not silently
 * dropped) and turned into the stored plain form; responses are written with camelCase names,
 * int64 as strings, enum names, `@type` on Any, and default values left out. The conversion
 * itself is proto3-json-serializer's, the library google-gax's REST mode uses. Pure.
 */
import * as protobuf from 'protobufjs';
import {fromProto3JSON, toProto3JSON, type JSONObject, type JSONValue} from 'proto3-json-serializer';
import {decodePlain, encodePlain, type PlainMessage} from './protos';
import {rpc} from './rpc-error';
import {camel} from './rest-transcoder';

const isObject = (v: JSONValue | undefined): v is JSONObject => typeof v === 'object' && v !== null && !Array.isArray(v);

// Well-known types with a JSON form of their own: the serializer checks those.
const SPECIAL = new Set(
  [
    'Timestamp',
    'Duration',
    'FieldMask',
    'Struct',
    'Value',
    'ListValue',
    'Empty',
    'StringValue',
    'BytesValue',
    'Int64Value',
    'UInt64Value',
    'Int32Value',
    'UInt32Value',
    'DoubleValue',
    'FloatValue',
    'BoolValue',
  ].map((t) => `.google.protobuf.${t}`),
);

/** The message type an Any's `@type` names, or undefined when the Root does not have it. */
function packedType(root: protobuf.Root, typeUrl: unknown): protobuf.Type | undefined {
  if (typeof typeUrl !== 'string') return undefined;
  const found = root.lookup(typeUrl.replace(/^.*\//, ''));
  return found instanceof protobuf.Type ? found : undefined;
}

function checkEnum(type: protobuf.Enum, value: JSONValue, at: string): void {
  // protobufjs' `values` inherits the numbers from `valuesById`: only its own keys are names.
  const ok = typeof value === 'string' ? Object.hasOwn(type.values, value) : typeof value === 'number' && Number.isInteger(value);
  if (!ok) throw rpc.invalidArgument(`Invalid value at '${at}' (type.googleapis.com/${type.fullName.slice(1)}), ${JSON.stringify(value)}`);
}

function checkValue(field: protobuf.Field, value: JSONValue, at: string): JSONValue {
  field.resolve();
  const type = field.resolvedType;
  if (value === null) return value;
  if (type instanceof protobuf.Enum) checkEnum(type, value, at);
  if (type instanceof protobuf.Type) return checkMessage(type, value, at);
  return value;
}

/** The request JSON with snake_case names made camelCase, after checking every name and enum value. */
function checkMessage(type: protobuf.Type, json: JSONValue, at: string): JSONValue {
  if (SPECIAL.has(type.fullName)) return json;
  if (!isObject(json)) throw rpc.invalidArgument(`Invalid value at '${at || type.name}': expected an object for ${type.fullName.slice(1)}`);
  if (type.fullName === '.google.protobuf.Any') {
    const inner = packedType(type.root, json['@type']);
    if (!inner) throw rpc.invalidArgument(`Invalid value at '${at}': unknown @type ${JSON.stringify(json['@type'])}`);
    const {'@type': typeUrl, ...rest} = json;
    return {'@type': typeUrl, ...(checkMessage(inner, rest, at) as JSONObject)};
  }
  const out: JSONObject = {};
  for (const [key, value] of Object.entries(json)) {
    const name = camel(key);
    const field = type.fields[name];
    const where = at ? `${at}.${name}` : name;
    if (!field) {
      throw rpc.invalidArgument(`Invalid JSON payload received. Unknown name "${key}"${at ? ` at '${at}'` : ''}: Cannot find field.`);
    }
    if (field.map && isObject(value)) {
      out[name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, checkValue(field, v, `${where}[${k}]`)]));
    } else if (field.repeated && Array.isArray(value)) {
      out[name] = value.map((v, i) => checkValue(field, v, `${where}[${i}]`));
    } else {
      out[name] = checkValue(field, value, where);
    }
  }
  return out;
}

/** A proto3 JSON request as the stored plain form, exactly as the same request over gRPC decodes. */
export function requestFromJson(type: protobuf.Type, json: JSONObject): PlainMessage {
  const checked = checkMessage(type, json, '');
  let message: protobuf.Message | null;
  try {
    message = fromProto3JSON(type, checked);
  } catch (err) {
    throw rpc.invalidArgument(`Invalid JSON payload received. ${(err as Error).message}`);
  }
  if (!message) throw rpc.invalidArgument('Invalid JSON payload received.');
  return decodePlain(type.fullName.slice(1), type.encode(message).finish());
}

// A scalar at its proto3 default, which JSON leaves out unless the field has presence.
function isDefaultScalar(field: protobuf.Field, value: JSONValue): boolean {
  if (field.partOf || field.repeated || field.map || field.resolvedType instanceof protobuf.Type) return false;
  if (field.resolvedType instanceof protobuf.Enum)
    return (
      value ===
      Object.keys(field.resolvedType.values).find((k) => field.resolvedType instanceof protobuf.Enum && field.resolvedType.values[k] === 0)
    );
  return value === false || value === 0 || value === '' || value === '0';
}

// protobufjs gives decoded messages their maps as {} and keeps explicit zero values, which the
// serializer prints; proto3 JSON leaves both out. Timestamps lose a `.000` fraction, as Google prints them.
function tidy(type: protobuf.Type, json: JSONValue): JSONValue {
  if (type.fullName === '.google.protobuf.Timestamp' && typeof json === 'string') return json.replace(/\.0+Z$/, 'Z');
  if (!isObject(json) || SPECIAL.has(type.fullName)) return json;
  if (type.fullName === '.google.protobuf.Any') {
    const inner = packedType(type.root, json['@type']);
    return inner ? tidy(inner, json) : json;
  }
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key];
    if (!field) continue;
    field.resolve();
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if ((field.map && isObject(value) && Object.keys(value).length === 0) || isDefaultScalar(field, value)) delete json[key];
    else if (!sub) continue;
    else if (field.map && isObject(value)) for (const k of Object.keys(value)) value[k] = tidy(sub, value[k]);
    else if (Array.isArray(value)) json[key] = value.map((v) => tidy(sub, v));
    else json[key] = tidy(sub, value);
  }
  return json;
}

/** A plain response in the proto3 JSON mapping (camelCase, int64 as strings, enum names, `@type` on Any). */
export function responseJson(type: protobuf.Type, plain: object): JSONValue {
  const bytes = encodePlain(type.fullName.slice(1), plain);
  return tidy(type, toProto3JSON(type.decode(bytes)));
}
