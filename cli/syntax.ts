/**
 * The command line's syntax: every command with its arguments and options, in one table that
 * the parser (args.ts), the help and the shell completion (completion.ts) are all made from.
 * Flags and arguments are written as commander writes them (`--limit <N>`, `<service>`,
 * `[release]`).
 */

/** A command's name. */
export type CommandName =
  | 'services'
  | 'releases'
  | 'status'
  | 'redeploy'
  | 'rollback'
  | 'logs'
  | 'env'
  | 'policy'
  | 'previews'
  | RolloutControlName
  | 'completion'
  | 'help';

/** The commands that act on a rollout under way. */
export type RolloutControlName = 'promote' | 'abort' | 'pause' | 'resume';
/** Them, in the order help lists them. */
export const ROLLOUT_CONTROLS: readonly RolloutControlName[] = ['promote', 'abort', 'pause', 'resume'];

/** An option: `flags` as commander takes them; a `<VALUE>` in them means it takes a value. */
export interface OptionSpec {
  flags: string;
  description: string;
  /** The only values it takes, offered by the shell completion. */
  choices?: string[];
}

/** A command. */
export interface CommandSpec {
  /** What it does, for the list of commands. */
  summary: string;
  /** Its arguments, e.g. `<service>` (required) or `[release]` (optional), and what each is. */
  args: Array<{name: string; description: string}>;
  /** The usage line after `dropdeploy <name>`, options included. */
  usage: string;
  /** The options only this command takes (the global ones are in {@link GLOBAL_OPTIONS}). */
  options: OptionSpec[];
}

/** The default of --timeout: a build plus a deploy fit well inside it. */
export const DEFAULT_TIMEOUT_SECONDS = 900;
/** The default of --limit. */
export const DEFAULT_LIMIT = 20;

const SERVICE = {name: '<service>', description: 'the Cloud Run service (see `dropdeploy services`)'};
const WAIT: OptionSpec[] = [
  {flags: '--no-wait', description: 'return once the release is accepted, without waiting for its end'},
  {flags: '--timeout <SECONDS>', description: `how long to wait for the release to end (default ${DEFAULT_TIMEOUT_SECONDS})`},
];

function rolloutControl<N extends RolloutControlName>(name: N, summary: string): Record<N, CommandSpec> {
  const release = {name: '[release]', description: 'the release rolling out (7 or v7); else the newest one that is'};
  return {
    [name]: {summary, args: [SERVICE, release], usage: '<service> [release]', options: []},
  } as unknown as Record<N, CommandSpec>;
}

/** Options every command takes, before or after the command. */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  {flags: '--json', description: "print the API's JSON"},
  {flags: '--url <URL>', description: 'the controller API (else $DROPDEPLOY_URL, else .dropdeploy/local.json of the local stack)'},
];

/** Every command, in the order help lists them. */
export const COMMANDS: Record<CommandName, CommandSpec> = {
  services: {summary: 'services and their deployed release', args: [], usage: '', options: []},
  releases: {
    summary: 'release history, newest first',
    args: [SERVICE],
    usage: '<service> [--limit N]',
    options: [{flags: '--limit <N>', description: `how many releases to show (default ${DEFAULT_LIMIT})`}],
  },
  status: {summary: 'deployed release, URL, and the newest release', args: [SERVICE], usage: '<service>', options: []},
  redeploy: {
    summary: 'rebuild and deploy (the newest source, or --source)',
    args: [SERVICE],
    usage: '<service> [--source gs://BUCKET/OBJECT#GENERATION] [--no-wait] [--timeout SECONDS]',
    options: [
      {
        flags: '--source <gs://BUCKET/OBJECT#GENERATION>',
        description: 'the exact archive generation to build, e.g. gs://my-sources/web/v3.zip#1764320400000000',
      },
      ...WAIT,
    ],
  },
  rollback: {
    summary: "deploy an earlier release's image again, no rebuild",
    args: [SERVICE, {name: '<release>', description: 'the release to go back to: 4 or v4'}],
    usage: '<service> <release> [--no-wait] [--timeout SECONDS]',
    options: WAIT,
  },
  logs: {
    summary: 'the build log URL',
    args: [SERVICE, {name: '[release]', description: 'a release (7 or v7); else the newest one that was built'}],
    usage: '<service> [release]',
    options: [],
  },
  env: {
    summary: 'list, set or unset environment variables',
    args: [
      SERVICE,
      {name: '[action]', description: 'set or unset; without one, the variables are listed'},
      {name: '[vars...]', description: 'for set: NAME=VALUE …; for unset: NAME …'},
    ],
    usage: '<service> [set NAME=VALUE… | unset NAME…] [--no-wait] [--timeout SECONDS]',
    options: WAIT,
  },
  policy: {
    summary: 'show or change the rollout policy',
    args: [SERVICE],
    usage:
      '<service> [--strategy immediate|verified|canary] [--steps 10,50,100] [--interval 5m] [--check-path|--check-status|--check-timeout|--check-attempts V] [--max-5xx-ratio|--p99-ms|--min-requests V] [--targets us-central1,europe-west1] [--target-order sequential|parallel] [--on-target-failure keep|rollback]',
    options: [
      {
        flags: '--strategy <STRATEGY>',
        description: 'immediate (all traffic once ready), verified (check first), canary (check, then traffic steps)',
        choices: ['immediate', 'verified', 'canary'],
      },
      {flags: '--steps <PERCENTS>', description: 'canary traffic steps, rising, ending at 100: 10,50,100'},
      {flags: '--interval <DURATION>', description: 'time between canary steps, 1s to 24h: 300s, 5m, 1h30m'},
      {flags: '--check-path <PATH>', description: "the path checked on the new revision's own URL: /healthz"},
      {flags: '--check-status <CODE>', description: 'the HTTP status that passes the check, 100 to 599'},
      {flags: '--check-timeout <DURATION>', description: "each check attempt's timeout, 1ms to 60s: 5s, 500ms"},
      {flags: '--check-attempts <N>', description: 'attempts before the check fails, 1 to 10'},
      {flags: '--max-5xx-ratio <RATIO>', description: 'largest share of 5xx answers in a canary step, 0 to 1: 0.01'},
      {flags: '--p99-ms <MS>', description: 'largest 99th percentile latency in a canary step, in ms: 1000'},
      {flags: '--min-requests <N>', description: 'requests a step must see before its metrics are judged: 50'},
      {
        flags: '--targets <REGIONS>',
        description:
          "regions to deploy to, the controller's own first; REGION@PROJECT for another project: us-central1,europe-west1; default: the controller's only",
      },
      {
        flags: '--target-order <ORDER>',
        description: 'sequential (one region after the other, stopping at a failure) or parallel (all at once)',
        choices: ['sequential', 'parallel'],
      },
      {
        flags: '--on-target-failure <WHAT>',
        description: 'keep (regions already updated keep the new digest) or rollback (they go back)',
        choices: ['keep', 'rollback'],
      },
    ],
  },
  previews: {
    summary: "a service's previews and their own URLs; or remove one",
    args: [
      SERVICE,
      {name: '[action]', description: 'delete; without one, the previews are listed'},
      {name: '[name]', description: 'for delete: the preview to remove (its tag goes)'},
    ],
    usage: '<service> [delete NAME]',
    options: [],
  },
  ...rolloutControl('promote', "a rollout's revision takes all traffic now"),
  ...rolloutControl('abort', 'end a rollout: all traffic back to the stable revision'),
  ...rolloutControl('pause', 'hold a rollout: no step moves, no check runs'),
  ...rolloutControl('resume', 'go on with a paused rollout'),
  completion: {
    summary: 'print the bash completion script',
    args: [
      {
        name: '<shell>',
        description:
          'bash; load it with: source <(dropdeploy completion bash) (in zsh, first: autoload -U +X bashcompinit && bashcompinit)',
      },
    ],
    usage: 'bash',
    options: [],
  },
  help: {summary: 'help on one command', args: [{name: '[command]', description: 'the command'}], usage: '[command]', options: []},
};

/** The names of the commands, in order. */
export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** Whether `s` names a command. */
export function isCommand(s: string | undefined): s is CommandName {
  return s !== undefined && Object.hasOwn(COMMANDS, s);
}

/** The usage line of a command. */
export function usageOf(name: CommandName): string {
  const {usage} = COMMANDS[name];
  return `dropdeploy ${name}${usage ? ' ' + usage : ''}`;
}

/** An option's long flag (`--limit`), and whether it takes a value. */
export function flagOf(option: Pick<OptionSpec, 'flags'>): {flag: string; takesValue: boolean} {
  return {flag: option.flags.split(' ')[0], takesValue: option.flags.includes('<')};
}
