/**
 * What a release records of an environment change: every name, and the values of the names
 * that do not look secret. Secret values are never stored, published or logged; a deploy that
 * needs them gets them from the request that made the change. Pure.
 */
import type {EnvChange} from './env';

/** An environment change as a release records it. */
export interface EnvChangeRecord {
  /** The names set, in request order; `value` only when neither name nor value looks secret. */
  set: Array<{name: string; value?: string; redacted?: true}>;
  unset: string[];
}

/**
 * Name parts that mark a value as secret. Deliberately broad (KEY also matches MONKEY): a
 * value left out that was harmless costs little, one stored that was a credential cannot be
 * taken back.
 */
const SECRET_NAME =
  /SECRET|TOKEN|PASS(WORD|WD|PHRASE)?|PWD|KEY|CREDENTIAL|PRIVATE|AUTH|CERT|SIGNATURE|SALT|COOKIE|SESSION|DSN|CONN(ECTION)?_?STR|WEBHOOK|(^|_)(SK|PAT)(_|$)/i;
/** A URL with a password in it (`postgres://user:pw@host`), whatever the name. */
const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;
/** A URL carrying a credential in its query (`?password=…`, `&sig=…`, `?token=…`). */
const CREDENTIAL_QUERY = /[?&](password|passwd|pass|pwd|secret|token|key|sig|signature|auth|access_token|api_key)=[^&#\s]/i;
/**
 * Values in the shapes of well-known credentials, whatever the name: Stripe, OpenAI and GitHub
 * keys, Slack tokens and webhooks, AWS access key ids, Google API keys, PEM private keys.
 */
const CREDENTIAL_VALUE =
  /^(sk|rk)_(live|test)_|^sk-[\w-]{16,}|^(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|^github_pat_|^xox[abposr]-|hooks\.slack\.com\/services\/|^AKIA[0-9A-Z]{16}$|^AIza[\w-]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Whether the value of `name` (being `value`) is kept out of the release history. */
export function looksSecret(name: string, value?: string): boolean {
  if (SECRET_NAME.test(name)) return true;
  return value !== undefined && (CREDENTIAL_URL.test(value) || CREDENTIAL_QUERY.test(value) || CREDENTIAL_VALUE.test(value.trim()));
}

/**
 * The record of `change`: secret-looking values left out, and the values of the names in
 * `wereSecret` (Secret Manager references the change replaces by plain values: they were secrets).
 */
export function envChangeRecord(change: EnvChange, wereSecret: readonly string[] = []): EnvChangeRecord {
  const secret = new Set(wereSecret);
  return {
    set: Object.entries(change.set).map(([name, value]) =>
      secret.has(name) || looksSecret(name, value) ? {name, redacted: true} : {name, value},
    ),
    unset: [...change.unset],
  };
}

/** What resolving a recorded change against the values at hand comes to. */
export type ResolvedChange = {ok: true; change: EnvChange} | {ok: false; missing: string[]};

/**
 * The change to apply from its record and the values the request carried. A redacted value
 * that is not at hand (a deploy resumed by another delivery, not by the request) can only be
 * left as it is when the live service already runs this very change (`applied`); otherwise
 * the names are `missing` and the change cannot be made.
 */
export function resolveEnvChange(record: EnvChangeRecord, values: Record<string, string>, applied: boolean): ResolvedChange {
  const set = Object.create(null) as Record<string, string>;
  const missing: string[] = [];
  for (const e of record.set) {
    if (e.value !== undefined) set[e.name] = e.value;
    else if (Object.hasOwn(values, e.name)) set[e.name] = values[e.name];
    else if (!applied) missing.push(e.name);
  }
  return missing.length ? {ok: false, missing} : {ok: true, change: {set, unset: [...record.unset]}};
}

/** A short account of a change for logs and history: `set A, B; unset C` (names only). */
export function describeEnvChange(record: EnvChangeRecord): string {
  const parts: string[] = [];
  if (record.set.length) parts.push(`set ${record.set.map((e) => e.name).join(', ')}`);
  if (record.unset.length) parts.push(`unset ${record.unset.join(', ')}`);
  return parts.join('; ') || 'no change';
}
