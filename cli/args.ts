/**
 * Command-line parsing. Pure: argv in, a typed command or a {@link UsageError} out. Global
 * flags may stand anywhere on the line; a flag that a command does not take is an error, so a
 * typo never silently changes what runs.
 */
import {UsageError} from './errors';

/** Flags every command takes. */
export interface GlobalOptions {
  json: boolean;
  url?: string;
  wait: boolean;
  /** How long redeploy/rollback wait for a terminal state. */
  timeoutSeconds: number;
}

/** An exact archive generation, as `gs://BUCKET/OBJECT#GENERATION` names it. */
export interface SourceRef {
  bucket: string;
  object: string;
  generation: string;
}

/** A parsed command. */
export type Command =
  | {name: 'help'; topic?: CommandName}
  | {name: 'services'}
  | {name: 'releases'; service: string; limit: number}
  | {name: 'status'; service: string}
  | {name: 'redeploy'; service: string; source?: SourceRef}
  | {name: 'rollback'; service: string; release: number}
  | {name: 'logs'; service: string; release?: number};

/** A command name. */
export type CommandName = Exclude<Command['name'], 'help'>;

/** A parsed command line. */
export interface Invocation {
  command: Command;
  options: GlobalOptions;
}

/** The usage line of each command. */
export const USAGE: Record<CommandName, string> = {
  services: 'dropdeploy services',
  releases: 'dropdeploy releases <service> [--limit N]',
  status: 'dropdeploy status <service>',
  redeploy: 'dropdeploy redeploy <service> [--source gs://BUCKET/OBJECT#GENERATION] [--no-wait] [--timeout SECONDS]',
  rollback: 'dropdeploy rollback <service> <release> [--no-wait] [--timeout SECONDS]',
  logs: 'dropdeploy logs <service> [release]',
};

/** The default of --timeout: a build plus a deploy fit well inside it. */
export const DEFAULT_TIMEOUT_SECONDS = 900;
const DEFAULT_LIMIT = 20;

const VALUE_FLAGS = new Set(['--url', '--timeout', '--limit', '--source']);
const BOOL_FLAGS = new Set(['--json', '--no-wait', '--help', '-h']);
/** Flags only some commands take (the rest are global). */
const COMMAND_FLAGS: Record<string, CommandName[]> = {
  '--limit': ['releases'], '--source': ['redeploy'], '--no-wait': ['redeploy', 'rollback'], '--timeout': ['redeploy', 'rollback'],
};
const POSITIONALS: Record<CommandName, {min: number; max: number}> = {
  services: {min: 0, max: 0}, releases: {min: 1, max: 1}, status: {min: 1, max: 1},
  redeploy: {min: 1, max: 1}, rollback: {min: 2, max: 2}, logs: {min: 1, max: 2},
};

function usageError(message: string, cmd?: CommandName): UsageError {
  return new UsageError(message, cmd ? USAGE[cmd] : undefined);
}

function isCommand(s: string | undefined): s is CommandName {
  return s !== undefined && Object.hasOwn(USAGE, s);
}

/** Parses argv (without `node` and the script); throws {@link UsageError}. */
export function parseArgs(argv: readonly string[]): Invocation {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOL_FLAGS.has(name)) {
      if (eq > 0) throw usageError(`${name} takes no value`, commandOf(positional));
      flags.set(name === '-h' ? '--help' : name, '');
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw usageError(`${name} needs a value`, commandOf(positional));
      flags.set(name, value);
    } else {
      throw usageError(`unknown option ${name}`, commandOf(positional));
    }
  }
  const [first, ...rest] = positional;
  if (first === 'help' || (flags.has('--help') && (first === undefined || isCommand(first)))) {
    const topic = first === 'help' ? rest[0] : first;
    return {command: {name: 'help', ...(isCommand(topic) ? {topic} : {})}, options: globals(flags)};
  }
  if (first === undefined) throw usageError('no command given');
  if (!isCommand(first)) throw usageError(`unknown command "${first}"`);
  for (const [flag, commands] of Object.entries(COMMAND_FLAGS)) {
    if (flags.has(flag) && !commands.includes(first)) throw usageError(`${first} takes no ${flag}`, first);
  }
  const {min, max} = POSITIONALS[first];
  if (rest.length < min) throw usageError(`${first}: missing ${first === 'rollback' && rest.length === 1 ? '<release>' : '<service>'}`, first);
  if (rest.length > max) throw usageError(`${first}: unexpected argument "${rest[max]}"`, first);
  return {command: command(first, rest, flags), options: globals(flags)};
}

function commandOf(positional: string[]): CommandName | undefined {
  return isCommand(positional[0]) ? positional[0] : undefined;
}

function command(name: CommandName, args: string[], flags: Map<string, string>): Command {
  switch (name) {
    case 'services': return {name};
    case 'releases': return {name, service: serviceArg(args[0], name), limit: flags.has('--limit') ? wholeNumber('--limit', flags.get('--limit')!, name) : DEFAULT_LIMIT};
    case 'status': return {name, service: serviceArg(args[0], name)};
    case 'redeploy': {
      const source = flags.get('--source');
      return {name, service: serviceArg(args[0], name), ...(source !== undefined ? {source: parseSource(source)} : {})};
    }
    case 'rollback': return {name, service: serviceArg(args[0], name), release: parseRelease(args[1], name)};
    case 'logs': return {name, service: serviceArg(args[0], name), ...(args[1] !== undefined ? {release: parseRelease(args[1], name)} : {})};
  }
}

function globals(flags: Map<string, string>): GlobalOptions {
  const url = flags.get('--url');
  return {
    json: flags.has('--json'),
    wait: !flags.has('--no-wait'),
    timeoutSeconds: flags.has('--timeout') ? wholeNumber('--timeout', flags.get('--timeout')!) : DEFAULT_TIMEOUT_SECONDS,
    ...(url !== undefined ? {url} : {}),
  };
}

function wholeNumber(flag: string, raw: string, cmd?: CommandName): number {
  if (!/^[1-9]\d{0,6}$/.test(raw)) throw usageError(`${flag} must be a whole number above 0, not "${raw}"`, cmd);
  return Number(raw);
}

function serviceArg(raw: string, cmd: CommandName): string {
  // The API checks the name in full; this only catches what cannot be a path segment.
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(raw)) throw usageError(`"${raw}" is not a service name (lowercase letters, digits and hyphens, a letter first)`, cmd);
  return raw;
}

/** Parses a release number: `7` or `v7`. */
export function parseRelease(raw: string, cmd?: CommandName): number {
  const m = /^v?([1-9]\d{0,8})$/.exec(raw);
  if (!m) throw usageError(`"${raw}" is not a release number (7 or v7)`, cmd);
  return Number(m[1]);
}

const SOURCE_HINT = 'expected gs://BUCKET/OBJECT#GENERATION, e.g. gs://my-sources/web/v3.zip#1764320400000000';

/** Parses `gs://BUCKET/OBJECT#GENERATION` strictly; throws {@link UsageError} naming the problem. */
export function parseSource(raw: string): SourceRef {
  const fail = (problem: string): never => { throw usageError(`--source "${raw}": ${problem}; ${SOURCE_HINT}`, 'redeploy'); };
  if (!raw.startsWith('gs://')) fail('not a gs:// URL');
  const rest = raw.slice('gs://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) fail('no object name after the bucket');
  // Object names may contain '#'; the generation is what follows the last one.
  const hash = rest.lastIndexOf('#');
  if (hash < slash) fail('no #GENERATION (the exact generation to build is required)');
  const bucket = rest.slice(0, slash);
  const object = rest.slice(slash + 1, hash);
  const generation = rest.slice(hash + 1);
  if (!/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket)) fail(`"${bucket}" is not a bucket name`);
  if (!object) fail('the object name is empty');
  if (object.endsWith('/')) fail(`"${object}" is a folder, not an object`);
  if (/[\r\n]/.test(object) || Buffer.byteLength(object) > 1024) fail('the object name is not valid in Cloud Storage');
  if (!/^\d{1,19}$/.test(generation)) fail(`the generation "${generation}" is not a decimal number`);
  return {bucket, object, generation};
}

/** The help text: every command, or one. */
export function helpText(topic?: CommandName): string {
  if (topic) return `usage: ${USAGE[topic]} [--json] [--url URL]\n`;
  return [
    'dropdeploy: the releases of services deployed by dropdeploy',
    '',
    'usage:',
    ...Object.values(USAGE).map((u) => `  ${u}`),
    '',
    'options:',
    '  --json             print the API\'s JSON',
    '  --url URL          the controller API (else DROPDEPLOY_URL, else .dropdeploy/local.json)',
    '  --no-wait          redeploy/rollback: return once the release is accepted',
    `  --timeout SECONDS  redeploy/rollback: how long to wait (default ${DEFAULT_TIMEOUT_SECONDS})`,
    '  --help             this text',
    '',
    'Auth: DROPDEPLOY_ID_TOKEN, when set, is sent as the bearer token; otherwise a loopback URL',
    '(the local stack) gets none, and any other URL a Google ID token from Application Default Credentials.',
    'Exit codes: 0 done (redeploy/rollback: deployed), 1 failed, 2 usage error.',
    '',
  ].join('\n');
}
