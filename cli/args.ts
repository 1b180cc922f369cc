/**
 * Command-line parsing with commander, from the table in syntax.ts. Pure: argv in, a typed
 * command or a {@link UsageError} out; commander never writes or exits here. Global flags may
 * stand anywhere on the line; a flag that a command does not take is an error, so a typo never
 * silently changes what runs, and a near miss is answered with "did you mean".
 */
import {Command as Commander, CommanderError} from 'commander';
import {parseEnvArgs, type EnvChangeArgs} from './env-args';
import {parsePolicyFlags, type PolicyChangeArgs} from './policy-args';
import {UsageError} from './errors';
import {
  COMMANDS,
  COMMAND_NAMES,
  DEFAULT_LIMIT,
  DEFAULT_TIMEOUT_SECONDS,
  GLOBAL_OPTIONS,
  flagOf,
  isCommand,
  usageOf,
  type CommandName,
  type RolloutControlName,
} from './syntax';

export {DEFAULT_TIMEOUT_SECONDS, type CommandName};

/** Flags every command takes. */
export interface GlobalOptions {
  json: boolean;
  url?: string;
  wait: boolean;
  /** How long redeploy/rollback/env set|unset wait for a terminal state. */
  timeoutSeconds: number;
}

/** An exact archive generation, as `gs://BUCKET/OBJECT#GENERATION` names it. */
export interface SourceRef {
  bucket: string;
  object: string;
  generation: string;
}

/** A command that calls the API. */
export type ApiCommand =
  | {name: 'services'}
  | {name: 'releases'; service: string; limit: number}
  | {name: 'status'; service: string}
  | {name: 'redeploy'; service: string; source?: SourceRef}
  | {name: 'rollback'; service: string; release: number}
  | {name: 'logs'; service: string; release?: number}
  /** Without `change`: list the service's environment. */
  | {name: 'env'; service: string; change?: EnvChangeArgs}
  /** Without `change`: show the service's rollout policy. */
  | {name: 'policy'; service: string; change?: PolicyChangeArgs}
  | {name: 'previews'; service: string; remove?: string}
  /** Without `release`: the newest release that is verifying or rolling out. */
  | {name: RolloutControlName; service: string; release?: number};

/** A parsed command. */
export type Command = ApiCommand | {name: 'help'; topic?: CommandName} | {name: 'completion'; shell: 'bash'};

/** A parsed command line. */
export interface Invocation {
  command: Command;
  options: GlobalOptions;
}

const ZSH_BASHCOMPINIT = 'autoload -U +X bashcompinit && bashcompinit';
const DEFAULTS: GlobalOptions = {json: false, wait: true, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS};

const AFTER_HELP = [
  '',
  'Auth: DROPDEPLOY_ID_TOKEN, when set, is sent as the bearer token; otherwise a loopback URL',
  '(the local stack) gets none, and any other URL a Google ID token from Application Default Credentials.',
  'Exit codes: 0 done (redeploy/rollback/env set|unset: deployed), 1 failed, 2 usage error.',
].join('\n');

function usageError(message: string, cmd?: CommandName): UsageError {
  return new UsageError(message, cmd ? usageOf(cmd) : undefined);
}

/** Commander asked for help to be shown (it shows none itself here). */
class HelpRequested extends Error {
  constructor(readonly topic?: CommandName) {
    super('help');
  }
}

/**
 * The program, built afresh for each parse (commander keeps parsed values on it). `write` gets
 * the help commander prints; `ran` is told which command the line names once it is well formed.
 */
function program(write: (text: string) => void, ran: (name: CommandName, cmd: Commander) => void, argv: readonly string[] = []): Commander {
  const root = new Commander('dropdeploy')
    .description("The releases of services deployed by dropdeploy, through the controller's HTTP API.")
    .usage('<command> [options]')
    .helpOption('-h, --help', 'show help')
    .configureOutput({
      writeOut: write,
      writeErr: () => undefined,
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .configureHelp({
      showGlobalOptions: true,
      commandUsage: (c) => {
        const n = c.name();
        return isCommand(n) ? usageOf(n) : `dropdeploy ${c.usage()}`;
      },
    })
    .exitOverride((e) => {
      throw refusal(e, root, undefined, argv);
    })
    .addHelpText('after', AFTER_HELP);
  for (const o of GLOBAL_OPTIONS) root.option(o.flags, o.description);
  for (const name of COMMAND_NAMES) {
    const spec = COMMANDS[name];
    const cmd = root.command(name).description(spec.summary);
    for (const a of spec.args) cmd.argument(a.name, a.description);
    for (const o of spec.options) cmd.option(o.flags, o.description);
    cmd
      .exitOverride((e) => {
        throw refusal(e, cmd, name, argv);
      })
      .action(() => ran(name, cmd));
  }
  return root;
}

/** Parses argv (without `node` and the script); throws {@link UsageError}. */
export function parseArgs(argv: readonly string[]): Invocation {
  let parsed: Invocation | undefined;
  const root = program(
    () => undefined,
    (name, cmd) => {
      parsed = invocation(name, cmd, root);
    },
    argv,
  );
  try {
    root.parse(argv, {from: 'user'});
  } catch (e) {
    // Help needs no other flag to be right: they are not checked.
    if (e instanceof HelpRequested) return {command: {name: 'help', ...(e.topic ? {topic: e.topic} : {})}, options: DEFAULTS};
    throw e;
  }
  if (!parsed) throw new Error(`no command ran for ${JSON.stringify(argv)}`);
  return parsed;
}

/** The help text: of every command, or of one. */
export function helpText(topic?: CommandName): string {
  let text = '';
  const root = program(
    (t) => {
      text += t;
    },
    () => undefined,
  );
  (topic ? (root.commands.find((c) => c.name() === topic) ?? root) : root).outputHelp();
  return text;
}

/** What commander refused, said as the CLI says it: what is wrong, the usage line, a near miss. */
function refusal(e: CommanderError, cmd: Commander, name: CommandName | undefined, argv: readonly string[]): Error {
  const said = e.message.replace(/^error: /, '');
  const near = /\(Did you mean (.+)\?\)/.exec(said)?.[1];
  const didYouMean = near ? `; did you mean ${near}?` : '';
  // Refused before a command was chosen: the usage line of the one named, if any.
  const at = name ?? argv.find(isCommand);
  switch (e.code) {
    case 'commander.helpDisplayed': {
      if (name) return new HelpRequested(name);
      // Before a command (`--help status`), or a typo (`relases --help`) to point out.
      const word = cmd.args.find((a) => !a.startsWith('-'));
      return word === undefined ? new HelpRequested() : isCommand(word) ? new HelpRequested(word) : unknownCommand(word);
    }
    case 'commander.help':
      return usageError('no command given');
    case 'commander.unknownCommand':
      return usageError(`unknown command "${cmd.args[0]}"${didYouMean}`);
    case 'commander.unknownOption': {
      const flag = /^unknown option '(.*)'/.exec(said)?.[1];
      return flag !== undefined ? unknownOption(flag, name, didYouMean) : usageError(said, at);
    }
    case 'commander.optionMissingArgument': {
      const flag = /^option '(-[^ ,|']*)/.exec(said)?.[1];
      return usageError(flag ? `${flag} needs a value` : said, at);
    }
    case 'commander.missingArgument': {
      const missing = cmd.registeredArguments[cmd.args.length];
      return usageError(missing && name ? `${name}: missing <${missing.name()}>` : said, at);
    }
    case 'commander.excessArguments': {
      const extra = cmd.args[cmd.registeredArguments.length];
      return usageError(`${name ?? 'dropdeploy'}: unexpected argument "${extra}"`, at);
    }
    default:
      return usageError(said, at);
  }
}

/** The refusal of `word`, which names no command, as the parser words it (with its "did you mean"). */
function unknownCommand(word: string): UsageError {
  try {
    parseArgs([word]);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`"${word}" parsed as a command`);
}

/** An option `name` does not take: a value given to a switch, another command's flag, or a typo. */
function unknownOption(raw: string, name: CommandName | undefined, didYouMean: string): UsageError {
  const flag = raw.split('=')[0];
  const isSwitch = (o: {flags: string}) => flagOf(o).flag === flag && !flagOf(o).takesValue;
  const own = [...GLOBAL_OPTIONS, ...(name ? COMMANDS[name].options : [])];
  if (raw.includes('=') && own.some(isSwitch)) return usageError(`${flag} takes no value`, name);
  const owners = COMMAND_NAMES.filter((c) => COMMANDS[c].options.some((o) => flagOf(o).flag === flag));
  if (owners.length && name) return usageError(`${name} takes no ${flag}`, name);
  if (owners.length) return usageError(`${flag} is an option of ${owners.join(' and ')}: put it after the command`, owners[0]);
  return usageError(`unknown option ${raw}${didYouMean}`, name);
}

/** The command line as the commands take it, once commander has checked its shape. */
function invocation(name: CommandName, cmd: Commander, root: Commander): Invocation {
  const g = root.opts<{json?: boolean; url?: string}>();
  const o = cmd.opts<{limit?: string; source?: string; wait?: boolean; timeout?: string} & Record<string, unknown>>();
  const options: GlobalOptions = {
    json: g.json === true,
    wait: o.wait !== false,
    timeoutSeconds: o.timeout !== undefined ? wholeNumber('--timeout', o.timeout, name) : DEFAULT_TIMEOUT_SECONDS,
    ...(g.url !== undefined ? {url: value('--url', g.url, name)} : {}),
  };
  return {command: command(name, cmd.args, o), options};
}

function command(name: CommandName, args: string[], o: {limit?: string; source?: string} & Record<string, unknown>): Command {
  const [first, second] = args;
  switch (name) {
    case 'services':
      return {name};
    case 'releases': {
      const limit = o.limit !== undefined ? wholeNumber('--limit', o.limit, name) : DEFAULT_LIMIT;
      return {name, service: serviceArg(first, name), limit};
    }
    case 'status':
      return {name, service: serviceArg(first, name)};
    case 'redeploy': {
      const source = o.source !== undefined ? parseSource(value('--source', o.source, name)) : undefined;
      return {name, service: serviceArg(first, name), ...(source ? {source} : {})};
    }
    case 'rollback':
      return {name, service: serviceArg(first, name), release: parseRelease(second, name)};
    case 'logs':
    case 'promote':
    case 'abort':
    case 'pause':
    case 'resume':
      return {name, service: serviceArg(first, name), ...(second !== undefined ? {release: parseRelease(second, name)} : {})};
    case 'env': {
      const service = serviceArg(first, name);
      const change = parseEnvArgs(service, second, args.slice(2));
      return {name, service, ...(change ? {change} : {})};
    }
    case 'policy': {
      const change = parsePolicyFlags(o);
      return {name, service: serviceArg(first, name), ...(change ? {change} : {})};
    }
    case 'previews': {
      const service = serviceArg(first, name);
      if (second === undefined) return {name, service};
      if (second !== 'delete' || args[2] === undefined || args.length > 3)
        throw usageError(
          `previews: use \`dropdeploy previews ${service}\` to list, or \`dropdeploy previews ${service} delete NAME\``,
          name,
        );
      return {name, service, remove: args[2]};
    }
    case 'completion':
      if (first !== 'bash') {
        throw usageError(
          `completion: there is a script for bash, not for "${first}" (zsh can load it after \`${ZSH_BASHCOMPINIT}\`)`,
          name,
        );
      }
      return {name, shell: first};
    case 'help':
      if (first !== undefined && !isCommand(first)) throw unknownCommand(first);
      return {name, ...(first !== undefined ? {topic: first} : {})};
  }
}

/** A flag's value; one that looks like the next flag means the value was left out. */
function value(flag: string, raw: string, cmd: CommandName): string {
  if (raw === '' || raw.startsWith('--')) throw usageError(`${flag} needs a value`, cmd);
  return raw;
}

function wholeNumber(flag: string, raw: string, cmd: CommandName): number {
  value(flag, raw, cmd);
  if (!/^[1-9]\d{0,6}$/.test(raw)) throw usageError(`${flag} must be a whole number above 0, not "${raw}"`, cmd);
  return Number(raw);
}

function serviceArg(raw: string, cmd: CommandName): string {
  // The API checks the name in full; this only catches what cannot be a path segment.
  if (!/^[a-z][a-z0-9-]{0,62}$/.test(raw))
    throw usageError(`"${raw}" is not a service name (lowercase letters, digits and hyphens, a letter first)`, cmd);
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
  const fail = (problem: string): never => {
    throw usageError(`--source "${raw}": ${problem}; ${SOURCE_HINT}`, 'redeploy');
  };
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
