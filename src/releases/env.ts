/**
 * A service's environment variables: which names Cloud Run takes, how a change (set some names,
 * remove others) is merged into a container's env list, and how the API shows that list. Pure.
 * Entries whose value comes from Secret Manager (`valueSource`) are shown as references, never
 * resolved, and a change leaves them as they are unless it names them.
 */

/** A Cloud Run v2 `EnvVar` as read from and written to a container (proto3 JSON). */
export interface RunEnvVar {
  name?: string;
  value?: string;
  valueSource?: {secretKeyRef?: {secret?: string; version?: string}} | null;
  [field: string]: unknown;
}

/** A change to a service's environment: names to set, with their values, and names to remove. */
export interface EnvChange {
  set: Record<string, string>;
  unset: string[];
}

/** An environment variable as the API lists it: a value, or a Secret Manager reference. */
export type EnvEntry = {name: string; value: string} | {name: string; valueSource: {secretKeyRef: {secret: string; version?: string}}};

/**
 * Names the container runtime contract reserves (Cloud Run sets them itself and refuses them
 * in a template), and the two Cloud Run sets for functions, which dropdeploy derives from the
 * upload's metadata: setting them by hand would change which function runs.
 */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([
  'PORT',
  'K_SERVICE',
  'K_REVISION',
  'K_CONFIGURATION',
  'FUNCTION_TARGET',
  'FUNCTION_SIGNATURE_TYPE',
]);
/** Cloud Run's limits: a name at most 32,768 characters, a value at most 32,768 bytes, 1,000 variables per container. */
export const ENV_LIMITS = {nameChars: 32_768, valueBytes: 32_768, perContainer: 1000};

// Kubernetes' IsEnvVarName, which Knative (and so Cloud Run's API) applies to container env.
const NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Why Cloud Run would refuse `name` as an environment variable name, or undefined. */
export function envNameProblem(name: string): string | undefined {
  if (name === '') return 'an environment variable name cannot be empty';
  if (name.includes('=')) return `"${shorten(name)}" contains "=", which cannot be part of a name`;
  if (name.length > ENV_LIMITS.nameChars) return `the name is ${name.length} characters long (at most ${ENV_LIMITS.nameChars})`;
  if (!NAME.test(name))
    return `"${shorten(name)}" is not a valid name: letters, digits, "_", "-" and ".", not starting with a digit (e.g. GREETING, API_URL)`;
  if (RESERVED_ENV_NAMES.has(name)) return `${name} is reserved: Cloud Run sets it for every revision`;
  if (name.toUpperCase().startsWith('X_GOOGLE_')) return `"${shorten(name)}": names starting with X_GOOGLE_ are reserved by Google`;
  return undefined;
}

/** Why Cloud Run would refuse `value` as an environment variable value, or undefined. */
export function envValueProblem(value: string): string | undefined {
  if (value.includes('\0')) return 'the value contains a NUL character, which no environment variable can hold';
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > ENV_LIMITS.valueBytes ? `the value is ${bytes} bytes (at most ${ENV_LIMITS.valueBytes})` : undefined;
}

/** `s`, cut to 60 characters for a message or a field path. */
export function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Whether an env entry takes its value from Secret Manager. */
export function isSecretReference(e: RunEnvVar): boolean {
  return !!e.valueSource && typeof e.valueSource === 'object' && !!e.valueSource.secretKeyRef;
}

/**
 * `env` with `change` applied: a set name replaces its entry where it stands (a secret
 * reference too, which then becomes a plain value), a new name is appended, an unset name is
 * removed (absent: nothing to do). Every other entry, secret references included, stays as it
 * was read, field for field.
 */
export function mergeEnv(env: readonly RunEnvVar[] | undefined, change: EnvChange): RunEnvVar[] {
  const unset = new Set(change.unset);
  const pending = new Map(Object.entries(change.set));
  const out: RunEnvVar[] = [];
  for (const e of env ?? []) {
    const name = e.name ?? '';
    if (unset.has(name)) continue;
    if (pending.has(name)) {
      // Written afresh: `value` and `valueSource` are one oneof, so a replaced reference must not keep its source.
      out.push({name, value: pending.get(name)!});
      pending.delete(name);
    } else {
      out.push(structuredClone(e));
    }
  }
  for (const [name, value] of pending) out.push({name, value});
  return out;
}

/** The names in `change.set` that are Secret Manager references in `env` now (they become plain values). */
export function replacedSecrets(env: readonly RunEnvVar[] | undefined, change: Pick<EnvChange, 'set'>): string[] {
  return (env ?? []).filter((e) => isSecretReference(e) && e.name !== undefined && Object.hasOwn(change.set, e.name)).map((e) => e.name!);
}

/** The entries of a container's env as the API lists them, in the container's order. */
export function envView(env: readonly RunEnvVar[] | undefined): EnvEntry[] {
  return (env ?? []).map((e): EnvEntry => {
    const name = e.name ?? '';
    if (!isSecretReference(e)) return {name, value: e.value ?? ''};
    const ref = e.valueSource!.secretKeyRef!;
    return {name, valueSource: {secretKeyRef: {secret: ref.secret ?? '', ...(ref.version ? {version: ref.version} : {})}}};
  });
}
