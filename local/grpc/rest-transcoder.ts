/**
 * HTTP/JSON ↔ gRPC transcoding by the `google.api.http` annotations of the protos (the rules of
 * google/api/http.proto): which RPC a REST request is, the request message it carries (path
 * variables, body, query parameters), and the proto3 JSON form of responses and errors. Pure: no
 * I/O; the types come from the protobufjs Root the emulators serve with.
 */
import * as protobuf from 'protobufjs';
import type {JSONObject, JSONValue} from 'proto3-json-serializer';
import {Status} from 'google-gax';
import type {HttpRuleOption} from './emulator-server';
import {RpcError, rpc} from './rpc-error';

/** An HTTP method of a binding. */
export type HttpVerb = 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH';

/** One HTTP binding of a method: a verb, a compiled path template and the body rule. */
export interface HttpBinding {
  verb: HttpVerb;
  /** The template as written, e.g. `/v1/{name=projects/*\/locations/*\/builds/*}:cancel`. */
  template: string;
  /** Matches a raw (still percent-encoded) URL path; group i is variable i. */
  pattern: RegExp;
  /** The request field path of each variable, camelCase segments: `['service', 'name']`. */
  variables: string[][];
  /** `*` (the whole request), a request field (camelCase), or undefined (no body). */
  body?: string;
}

/** A method reachable over REST. */
export interface RestRoute {
  /** Full service name, e.g. `google.devtools.cloudbuild.v1.CloudBuild`. */
  service: string;
  /** RPC short name, e.g. `GetBuild`. */
  method: string;
  requestType: protobuf.Type;
  responseType: protobuf.Type;
  binding: HttpBinding;
}

/** A REST request matched to its RPC. */
export interface RestMatch {
  route: RestRoute;
  /** The decoded path variables, in template order. */
  values: string[];
}

const VERBS: HttpVerb[] = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];

// Standard system parameters (https://cloud.google.com/apis/docs/system-parameters) and the
// `$alt` gax sends; they say how to answer, not what to do, so they never bind to a field.
const SYSTEM_PARAMS = new Set([
  'alt',
  'prettyPrint',
  'fields',
  'key',
  'access_token',
  'quotaUser',
  'callback',
  'uploadType',
  'upload_protocol',
]);
const isSystemParam = (name: string) => name.startsWith('$') || SYSTEM_PARAMS.has(name);

/** snake_case → lowerCamelCase, as protoc derives a field's JSON name. */
export const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// `*` is one segment, `**` any number (at least one); a segment never swallows a trailing `:verb`.
function segmentsPattern(segments: string): string {
  return segments
    .split('/')
    .map((s) => (s === '**' ? '[^:]+' : s === '*' ? '[^/:]+' : escapeRegex(s)))
    .join('/');
}

/** Compiles a path template such as `/v1/{name=projects/*\/builds/*}:cancel` (google/api/http.proto's grammar). */
export function compileTemplate(template: string): {pattern: RegExp; variables: string[][]} {
  let source = '^';
  const variables: string[][] = [];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const literalEnd = open === -1 ? template.length : open;
    source += template
      .slice(i, literalEnd)
      .split(':')
      .map((part) => segmentsPattern(part))
      .join(':');
    if (open === -1) break;
    const close = template.indexOf('}', open);
    if (close === -1) throw new Error(`path template ${template}: unclosed {`);
    const inner = template.slice(open + 1, close);
    const eq = inner.indexOf('=');
    const field = eq === -1 ? inner : inner.slice(0, eq);
    const segments = eq === -1 ? '*' : inner.slice(eq + 1);
    variables.push(field.split('.').map(camel));
    source += `(${segmentsPattern(segments)})`;
    i = close + 1;
  }
  return {pattern: new RegExp(source + '$'), variables};
}

/** The bindings of one HttpRule: its own and its additional_bindings. */
export function httpBindings(rule: HttpRuleOption): HttpBinding[] {
  const out: HttpBinding[] = [];
  for (const verb of VERBS) {
    const template = rule[verb.toLowerCase() as Lowercase<HttpVerb>];
    if (typeof template !== 'string') continue;
    const {pattern, variables} = compileTemplate(template);
    out.push({verb, template, pattern, variables, body: rule.body ? (rule.body === '*' ? '*' : camel(rule.body)) : undefined});
  }
  const more = rule.additional_bindings;
  for (const extra of more === undefined ? [] : Array.isArray(more) ? more : [more]) out.push(...httpBindings(extra));
  return out;
}

/** A method's `google.api.http` option as protobufjs parsed it, if it has one. */
export function httpRuleOf(method: protobuf.Method): HttpRuleOption | undefined {
  for (const option of method.parsedOptions ?? []) {
    const rule = (option as Record<string, unknown>)['(google.api.http)'];
    if (rule) return rule;
  }
  return undefined;
}

/**
 * The REST routes of the served methods of `service`: each method's own annotation, or the
 * rule given in `overrides` (how a service config re-homes mixins such as Operations).
 */
export function routesOf(
  root: protobuf.Root,
  service: string,
  methods: string[],
  overrides: Record<string, HttpRuleOption> = {},
): RestRoute[] {
  const svc = root.lookupService(service);
  const routes: RestRoute[] = [];
  for (const name of methods) {
    const method = svc.methods[name];
    if (!method) throw new Error(`${service} has no method ${name}`);
    method.resolve();
    const rule = overrides[name] ?? httpRuleOf(method);
    if (!rule) continue;
    for (const binding of httpBindings(rule)) {
      routes.push({service, method: name, requestType: method.resolvedRequestType!, responseType: method.resolvedResponseType!, binding});
    }
  }
  return routes;
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw rpc.invalidArgument(`malformed percent-encoding in the URL path: ${raw}`);
  }
}

/** The route a request is for (first match in order), or undefined. */
export function matchRoute(routes: RestRoute[], verb: string, rawPath: string): RestMatch | undefined {
  for (const route of routes) {
    if (route.binding.verb !== verb) continue;
    const m = route.binding.pattern.exec(rawPath);
    if (m) return {route, values: m.slice(1).map(decodeSegment)};
  }
  return undefined;
}

/** Whether some route has this path under another verb (405 rather than 404). */
export function pathKnown(routes: RestRoute[], rawPath: string): boolean {
  return routes.some((r) => r.binding.pattern.test(rawPath));
}

function setPath(target: JSONObject, path: string[], value: JSONValue, repeated: boolean): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = next && typeof next === 'object' && !Array.isArray(next) ? next : (node[key] = {});
  }
  const last = path[path.length - 1];
  if (repeated) {
    const list = Array.isArray(node[last]) ? node[last] : [];
    node[last] = [...list, value];
  } else {
    node[last] = value;
  }
}

// Well-known message types whose JSON form is a string (or a scalar), so a query parameter can set them.
const SCALAR_MESSAGES = new Set([
  '.google.protobuf.Timestamp',
  '.google.protobuf.Duration',
  '.google.protobuf.FieldMask',
  '.google.protobuf.StringValue',
  '.google.protobuf.BytesValue',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.BoolValue',
]);
const NUMBER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'float', 'double']);

/** The field a dotted query parameter names (`page_size`, `pageSize`, `a.b`), walking message fields. */
function queryField(type: protobuf.Type, name: string): {path: string[]; field: protobuf.Field} {
  const path = name.split('.').map(camel);
  let current: protobuf.Type = type;
  let field: protobuf.Field | undefined;
  for (const [i, key] of path.entries()) {
    field = current.fields[key];
    if (!field) break;
    field.resolve();
    const last = i === path.length - 1;
    if (last) break;
    if (!(field.resolvedType instanceof protobuf.Type) || field.repeated || field.map) {
      field = undefined;
      break;
    }
    current = field.resolvedType;
  }
  if (!field) throw rpc.invalidArgument(`Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter.`);
  return {path, field};
}

function queryValue(name: string, field: protobuf.Field, raw: string): JSONValue {
  const wrapped = field.resolvedType instanceof protobuf.Type ? field.resolvedType.fullName : undefined;
  if (wrapped && !SCALAR_MESSAGES.has(wrapped)) {
    throw rpc.invalidArgument(
      `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' is a message.`,
    );
  }
  const type = wrapped ? wrapped.replace('.google.protobuf.', '').replace('Value', '').toLowerCase() : field.type;
  if (type === 'bool') {
    if (raw !== 'true' && raw !== 'false') throw rpc.invalidArgument(`Invalid value at '${name}' (TYPE_BOOL), "${raw}"`);
    return raw === 'true';
  }
  // An enum by number, as clients asking `enum-encoding=int` send them; a name stays a string.
  if (field.resolvedType instanceof protobuf.Enum) return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (NUMBER_TYPES.has(type)) {
    const n = Number(raw);
    if (raw === '' || Number.isNaN(n)) throw rpc.invalidArgument(`Invalid value at '${name}' (TYPE_${type.toUpperCase()}), "${raw}"`);
    return n;
  }
  return raw;
}

/**
 * The request of a matched route in proto3 JSON: the body (all of it, or one field), then the
 * query parameters (only when the body is not `*`), then the path variables, which win.
 */
export function requestJson(match: RestMatch, query: URLSearchParams, body: JSONValue | undefined): JSONObject {
  const {route, values} = match;
  const b = route.binding;
  let json: JSONObject = {};
  if (b.body === '*') {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw rpc.invalidArgument('Invalid JSON payload received: the body must be a JSON object.');
    }
    json = {...(body ?? {})};
  } else if (b.body && body !== undefined) {
    json[b.body] = body;
  }
  if (b.body !== '*') {
    for (const [name, raw] of query) {
      if (isSystemParam(name)) continue;
      const {path, field} = queryField(route.requestType, name);
      setPath(json, path, queryValue(name, field, raw), field.repeated);
    }
  }
  b.variables.forEach((path, i) => setPath(json, path, values[i], false));
  return json;
}

// https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto: each code's HTTP mapping.
const HTTP_STATUS: Record<number, number> = {
  [Status.OK]: 200,
  [Status.CANCELLED]: 499,
  [Status.UNKNOWN]: 500,
  [Status.INVALID_ARGUMENT]: 400,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.PERMISSION_DENIED]: 403,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.FAILED_PRECONDITION]: 400,
  [Status.ABORTED]: 409,
  [Status.OUT_OF_RANGE]: 400,
  [Status.UNIMPLEMENTED]: 501,
  [Status.INTERNAL]: 500,
  [Status.UNAVAILABLE]: 503,
  [Status.DATA_LOSS]: 500,
  [Status.UNAUTHENTICATED]: 401,
};

/** The HTTP status of a gRPC code, as Google's REST front ends answer. */
export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The REST error body of a failed call: `{"error": {code, message, status, details}}` (google.rpc.Status's JSON form). */
export function errorJson(err: RpcError): {error: {code: number; message: string; status: string; details: JSONValue[]}} {
  return {error: {code: httpStatusOf(err.code), message: err.message, status: Status[err.code] ?? 'UNKNOWN', details: []}};
}
