/**
 * Request body validation: unknown fields and wrong types are refused, naming the field.
 */
import {asInt64String} from '../events/json';
import {ENV_LIMITS, envNameProblem, envValueProblem, shorten, type EnvChange} from '../releases/env';
import {parseUpdateMask, type PolicyField} from '../releases/policy-patch';
import {ApiError} from './errors';

/** The body of `:redeploy`. */
export interface RedeployBody {
  source?: {bucket: string; object: string; generation: string};
}

/** The body of `:rollback`. */
export interface RollbackBody {
  release: number;
}

function object(v: unknown, field: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw ApiError.invalid(field, 'must be a JSON object');
  return v as Record<string, unknown>;
}

function onlyFields(o: Record<string, unknown>, allowed: string[], prefix: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k))
      throw ApiError.invalid(prefix + k, `unknown field; allowed: ${allowed.map((a) => prefix + a).join(', ') || '(none)'}`);
  }
}

function text(o: Record<string, unknown>, field: string, prefix: string): string {
  const v = o[field];
  if (typeof v !== 'string' || !v) throw ApiError.invalid(prefix + field, 'is required and must be a non-empty string');
  return v;
}

/** Validates a `:redeploy` body: `{}` or `{"source": {"bucket", "object", "generation"}}`. */
export function redeployBody(body: unknown): RedeployBody {
  const o = object(body, 'body');
  onlyFields(o, ['source'], '');
  if (o.source === undefined) return {};
  const s = object(o.source, 'source');
  onlyFields(s, ['bucket', 'object', 'generation'], 'source.');
  const generation = asInt64String(s.generation);
  if (generation === undefined)
    throw ApiError.invalid('source.generation', 'is required: the object generation as a decimal string, e.g. "1764320400000000"');
  return {source: {bucket: text(s, 'bucket', 'source.'), object: text(s, 'object', 'source.'), generation}};
}

/** Validates a `:rollback` body: `{"release": N}`. */
export function rollbackBody(body: unknown): RollbackBody {
  const o = object(body, 'body');
  onlyFields(o, ['release'], '');
  const n = typeof o.release === 'string' && /^\d+$/.test(o.release) ? Number(o.release) : o.release;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw ApiError.invalid('release', 'is required: the release number to roll back to, e.g. {"release": 4}');
  return {release: n};
}

/**
 * Validates a `PATCH …/env` body: `{"set": {"NAME": "value", …}, "unset": ["NAME", …]}`, at
 * least one name in all, each a name Cloud Run takes, none both set and unset.
 */
export function envBody(body: unknown): EnvChange {
  const o = object(body, 'body');
  onlyFields(o, ['set', 'unset'], '');
  // No prototype: `__proto__` is a name like any other here.
  const set = Object.create(null) as Record<string, string>;
  if (o.set !== undefined) {
    const entries = Object.entries(object(o.set, 'set'));
    if (entries.length > ENV_LIMITS.perContainer)
      throw ApiError.invalid('set', `names ${entries.length} variables; a Cloud Run container holds at most ${ENV_LIMITS.perContainer}`);
    for (const [name, value] of entries) {
      const problem = envNameProblem(name) ?? (typeof value === 'string' ? envValueProblem(value) : 'the value must be a string');
      if (problem) throw ApiError.invalid(`set.${shorten(name)}`, problem);
      set[name] = value as string;
    }
  }
  if (o.unset !== undefined && !Array.isArray(o.unset)) throw ApiError.invalid('unset', 'must be a list of names');
  const unset = (o.unset ?? []) as unknown[];
  unset.forEach((name, i) => {
    const problem = typeof name === 'string' ? envNameProblem(name) : 'must be a name (a string)';
    if (problem) throw ApiError.invalid(`unset[${i}]`, problem);
    if (Object.hasOwn(set, name as string)) throw ApiError.invalid(`unset[${i}]`, `${name as string} is also in set; name it once`);
  });
  if (!Object.keys(set).length && !unset.length)
    throw ApiError.invalid('body', 'names nothing to change: give {"set": {"NAME": "value"}} and/or {"unset": ["NAME"]}');
  return {set, unset: [...new Set(unset as string[])]};
}

/**
 * The `updateMask` query parameter of a PATCH (or `update_mask`; repeated, or comma-separated),
 * or undefined without one: then the body's fields are the mask.
 */
export function updateMaskOf(query: Record<string, unknown>): PolicyField[] | undefined {
  if (query.updateMask !== undefined && query.update_mask !== undefined)
    throw ApiError.invalid('updateMask', 'is given twice (updateMask and update_mask); give one');
  const raw = query.updateMask ?? query.update_mask;
  if (raw === undefined) return undefined;
  const parts = Array.isArray(raw) ? raw : [raw];
  if (!parts.every((p) => typeof p === 'string'))
    throw ApiError.invalid('updateMask', 'must be comma-separated field paths, e.g. steps,check.path');
  const mask = parseUpdateMask(parts.join(','));
  if (!mask.ok) throw ApiError.invalid(mask.problem.field, mask.problem.problem);
  return mask.paths;
}
