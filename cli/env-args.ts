/**
 * The words after `dropdeploy env <service>`: none (list), `set NAME=VALUE …`, or `unset NAME …`.
 * Pure. Only the shape is checked here; which names Cloud Run takes the API says (400 naming
 * the name), so the rule lives in one place.
 */
import {UsageError} from './errors';
import {usageOf} from './syntax';

/** A change to a service's environment, as `PATCH …/env` takes it. */
export interface EnvChangeArgs {
  set: Record<string, string>;
  unset: string[];
}

const ACTIONS = ['set', 'unset'] as const;

function refuse(message: string): UsageError {
  return new UsageError(`env: ${message}`, usageOf('env'));
}

/** The change `action words…` ask for, or undefined to list; throws {@link UsageError}. */
export function parseEnvArgs(service: string, action: string | undefined, words: readonly string[]): EnvChangeArgs | undefined {
  if (action === undefined) return undefined;
  if (action === 'set') return {set: parseAssignments(service, words), unset: []};
  if (action === 'unset') return {set: {}, unset: parseNames(service, words)};
  if (action.includes('='))
    throw refuse(`"${action}" comes before set or unset; did you mean \`dropdeploy env ${service} set ${action}\`?`);
  const near = [...ACTIONS].sort((a, b) => editDistance(a, action) - editDistance(b, action)).find((a) => editDistance(a, action) <= 2);
  throw refuse(`unknown action "${action}"${near ? `; did you mean ${near}?` : '; use set or unset (or nothing, to list)'}`);
}

/** `NAME=VALUE …` → a map; the value is everything after the first `=` (it may be empty, or hold more `=`). */
export function parseAssignments(service: string, words: readonly string[]): Record<string, string> {
  if (!words.length) throw refuse(`set needs at least one NAME=VALUE, e.g. \`dropdeploy env ${service} set GREETING=hello\``);
  const set = new Map<string, string>();
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq < 0) throw refuse(`"${word}" is not NAME=VALUE (to remove a variable: \`dropdeploy env ${service} unset ${word}\`)`);
    if (eq === 0) throw refuse(`"${word}" has no name before "="`);
    const name = word.slice(0, eq);
    if (set.has(name)) throw refuse(`${name} is given twice; give each name once`);
    set.set(name, word.slice(eq + 1));
  }
  // fromEntries defines own properties: `__proto__=x` names a variable like any other.
  return Object.fromEntries(set);
}

function parseNames(service: string, words: readonly string[]): string[] {
  if (!words.length) throw refuse(`unset needs at least one NAME, e.g. \`dropdeploy env ${service} unset GREETING\``);
  for (const word of words) if (word.includes('=')) throw refuse(`unset takes names, not NAME=VALUE ("${word}")`);
  return [...new Set(words)];
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let row = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
