import * as path from 'node:path';
import * as fs from 'node:fs';
import * as protobuf from 'protobufjs';
import {isPlain} from './fields';

/** Conversion used for every message the emulators keep: camelCase, enum names, int64 as strings. */
export const PLAIN: protobuf.IConversionOptions = {enums: String, longs: String, defaults: false};

/**
 * A message as the emulators store it: the protobufjs plain-object form under {@link PLAIN}.
 * Read its fields with the narrowing readers in `./fields`.
 */
export type PlainMessage = Record<string, unknown>;

/** A google.protobuf.Any in plain form, as {@link packAny} makes it. */
export type PackedAny = {type_url: string; value: Buffer};

// The same .proto files the official clients ship, so the wire format cannot drift from theirs.
const INCLUDE_DIRS = [
  '@google-cloud/cloudbuild',
  '@google-cloud/run',
  'google-gax',
  '@google-cloud/monitoring',
  '@google-cloud/logging-api',
].map((pkg) => path.join(packageDir(pkg), 'build/protos'));
const ENTRY_FILES = [
  'google/devtools/cloudbuild/v1/cloudbuild.proto',
  'google/cloud/run/v2/service.proto',
  'google/cloud/run/v2/revision.proto',
  'google/longrunning/operations.proto',
  'google/rpc/status.proto',
  'google/monitoring/v3/metric_service.proto',
  'google/logging/v2/logging.proto',
];

let cached: protobuf.Root | undefined;

// `require.resolve('<pkg>/package.json')` is blocked by the packages' `exports`, so walk up instead.
function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== path.basename(pkg)) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${pkg}`);
    dir = parent;
  }
  return dir;
}

/** The protobufjs Root with Cloud Build, Cloud Run v2, Cloud Monitoring v3, Cloud Logging v2 and long-running operations loaded (once). */
export function protoRoot(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target; // protobufjs falls back to its bundled google/protobuf/* definitions
  };
  root.loadSync(ENTRY_FILES, {keepCase: false});
  root.resolveAll();
  cached = root;
  return root;
}

let warmed = false;

/**
 * Generates every message type's codecs now, once per process: protobufjs builds a type's
 * encoder, decoder and converters on its first use (about 55 ms for all of them here; a large
 * message like Build or Service takes a few ms with its nested types), which an emulator's first
 * request would otherwise wait for, on the same cores as the build it starts.
 */
export function warmCodecs(): void {
  if (warmed) return;
  warmed = true;
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) o.setup();
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) walk(o);
    }
  };
  walk(protoRoot());
}

/** Looks up a message type by its full name, e.g. `google.devtools.cloudbuild.v1.Build`. */
export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

function isDefaultScalar(field: protobuf.Field, value: unknown): boolean {
  if (field.partOf || field.repeated || field.map) return false; // oneof members and optionals have presence
  if (field.resolvedType instanceof protobuf.Enum) return typeof value === 'string' && field.resolvedType.values[value] === 0;
  return value === '' || value === false || value === 0 || value === '0' || (value instanceof Uint8Array && !value.length);
}

// Clients put explicit zero values on the wire (protobufjs encodes any field that is set), so a
// Service read and sent back would differ from the stored one without this proto3 normalisation.
function stripDefaults(type: protobuf.Type, value: PlainMessage): PlainMessage {
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (isDefaultScalar(field, v) || (Array.isArray(v) && v.length === 0)) delete value[key];
    else if (field.map && isPlain(v) && Object.keys(v).length === 0) delete value[key];
    else if (sub && field.map && isPlain(v))
      Object.values(v)
        .filter(isPlain)
        .forEach((x) => stripDefaults(sub, x));
    else if (sub && field.repeated && Array.isArray(v)) v.filter(isPlain).forEach((x) => stripDefaults(sub, x));
    else if (sub && sub.fullName !== '.google.protobuf.Any' && isPlain(v)) stripDefaults(sub, v);
  }
  return value;
}

/** Decodes wire bytes into the plain stored form, with proto3 default values left out. */
export function decodePlain(fullName: string, bytes: Uint8Array): PlainMessage {
  const type = messageType(fullName);
  return stripDefaults(type, type.toObject(type.decode(bytes), PLAIN));
}

/** Encodes a plain object (as stored) to wire bytes, failing loudly on a shape the proto rejects. */
export function encodePlain(fullName: string, value: object): Buffer {
  const type = messageType(fullName);
  // Any object type (a typed message of local/cloud-run, or a PlainMessage): fromObject checks its shape.
  return Buffer.from(type.encode(type.fromObject(value as PlainMessage)).finish());
}

/** Packs a plain message into a google.protobuf.Any the way Google APIs do (`type.googleapis.com/...`). */
export function packAny(fullName: string, value: object): PackedAny {
  // protobufjs' bundled Any keeps the snake_case field name even when other names are camelCased.
  return {type_url: `type.googleapis.com/${fullName}`, value: encodePlain(fullName, value)};
}

/** Deep copy of a plain message, so callers never share mutable state with the store. */
export function clonePlain<T>(value: T): T {
  return structuredClone(value);
}
