/**
 * The environment a release deployed, as its record keeps it: every name, the values that do
 * not look secret, secret-looking values as `redacted`, Secret Manager references as
 * references. A rollback restores a release's environment from this record, taking the
 * redacted values from the revision that ran it (Cloud Run keeps a revision's template). Pure.
 */
import {isSecretReference, type RunEnvVar} from './env';
import {looksSecret} from './env-record';

/** One variable of a recorded environment. */
export type RecordedEnvVar =
  | {name: string; value: string}
  | {name: string; redacted: true}
  | {name: string; valueSource: {secretKeyRef: {secret: string; version?: string}}};

/**
 * `env` as a release records it. A plain value is redacted when it looks secret, or when its
 * name is in `redact`: a name that was a secret (a Secret Manager reference replaced by a
 * value, or redacted in the record this environment came from) stays one.
 */
export function recordEnv(env: readonly RunEnvVar[] | undefined, redact: ReadonlySet<string> = new Set()): RecordedEnvVar[] {
  return (env ?? []).map((e): RecordedEnvVar => {
    const name = e.name ?? '';
    if (isSecretReference(e)) {
      const ref = e.valueSource!.secretKeyRef!;
      return {name, valueSource: {secretKeyRef: {secret: ref.secret ?? '', ...(ref.version ? {version: ref.version} : {})}}};
    }
    const value = e.value ?? '';
    return redact.has(name) || looksSecret(name, value) ? {name, redacted: true} : {name, value};
  });
}

/** The names a recorded environment redacts. */
export function redactedNames(recorded: readonly RecordedEnvVar[] | undefined): Set<string> {
  return new Set((recorded ?? []).filter((e) => 'redacted' in e).map((e) => e.name));
}

/** What restoring a recorded environment comes to: the env to deploy, or the names whose values are not at hand. */
export type RestoredEnv = {ok: true; env: RunEnvVar[]} | {ok: false; missing: string[]};

/**
 * The container env that `recorded` describes. Values and references come from the record; a
 * redacted value from `revisionEnv`, the env of the revision that ran the release (undefined
 * when that revision is gone), and only if that revision has it as a plain value.
 */
export function restoreEnv(recorded: readonly RecordedEnvVar[], revisionEnv: readonly RunEnvVar[] | undefined): RestoredEnv {
  const env: RunEnvVar[] = [];
  const missing: string[] = [];
  for (const e of recorded) {
    if ('value' in e) env.push({name: e.name, value: e.value});
    else if ('valueSource' in e) env.push({name: e.name, valueSource: structuredClone(e.valueSource)});
    else {
      const there = revisionEnv?.find((r) => r.name === e.name && !isSecretReference(r) && typeof r.value === 'string');
      if (there) env.push({name: e.name, value: there.value});
      else missing.push(e.name);
    }
  }
  return missing.length ? {ok: false, missing} : {ok: true, env};
}

/** Whether `recorded` has a redacted value, so restoring it needs the revision that ran it. */
export function needsRevision(recorded: readonly RecordedEnvVar[] | undefined): boolean {
  return (recorded ?? []).some((e) => 'redacted' in e);
}

/** The status fields of a read Cloud Run v2 service that tell a failed latest revision. */
export interface RevisionStatus {
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
  terminalCondition?: {state?: unknown};
}

/**
 * The revision whose env a deploy should start from instead of the service template's: the one
 * that serves (`latestReadyRevision`, its short name) when the latest created revision failed.
 * A failed revision's template stays on the service (a config release whose revision never
 * started), and a deploy that copied it would carry the change that broke it; the env of what
 * serves is the one known to work. Undefined when the template is what serves, or is still
 * rolling out (an operator's change under way is theirs to finish).
 */
export function servingRevisionOverFailed(status: RevisionStatus): string | undefined {
  const {latestCreatedRevision: created, latestReadyRevision: ready} = status;
  if (!created || !ready || created === ready) return undefined;
  const state = status.terminalCondition?.state;
  if (state !== 'CONDITION_FAILED' && state !== 3) return undefined;
  return ready.split('/').pop();
}
