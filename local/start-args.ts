/**
 * The flags of `npm start` (local/start.ts), parsed with commander. Pure: argv in, options or a
 * {@link StartUsageError} out; commander never writes or exits here. An unknown flag is an
 * error (with "did you mean" for a near miss), so a typo such as `--frseh` never starts a
 * stack that silently kept its state.
 */
import {Command, CommanderError, InvalidArgumentError, Option} from 'commander';

/** What `npm start` was asked for. */
export interface StartOptions {
  /** Seconds between reconcile runs; 0 turns the timer off. */
  reconcileSeconds: number;
  /** Remove the saved state and start empty. */
  fresh: boolean;
  /** Empty the dependency cache before starting. */
  clearBuildCache: boolean;
  /** Also deliver each upload as a GCS Pub/Sub notification. */
  notifications: boolean;
  /** Print every log line, not only NOTICE and above. */
  verbose: boolean;
}

/** A command line `npm start` cannot run: the message, and the usage to print under it. */
export class StartUsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'StartUsageError';
  }
}

/** Help was asked for: print `text`, exit 0. */
export class StartHelp extends Error {
  constructor(readonly text: string) {
    super('help');
    this.name = 'StartHelp';
  }
}

function seconds(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n > 3600) {
    throw new InvalidArgumentError(`"${raw}" is not a whole number of seconds from 0 to 3600 (0 turns the reconciler's timer off).`);
  }
  return n;
}

function program(): Command {
  return new Command('npm start --')
    .description('The whole dropdeploy pipeline on this machine. State is kept in .dropdeploy/ (or DROPDEPLOY_LOCAL_DIR) across restarts.')
    .helpOption('-h, --help', 'show help')
    .addOption(new Option('--reconcile-seconds <n>', 'seconds between reconcile runs, 0 = never').default(10).argParser(seconds))
    .option('--fresh', 'start empty: remove the saved releases, builds, services, stored objects and images (the bucket folder is kept)')
    .option('--clear-build-cache', 'empty the dependency cache (.dropdeploy/build-cache/) before starting')
    .option(
      '--notifications',
      "the installer's Pub/Sub shape: also deliver each upload as a Cloud Storage Pub/Sub notification, and build statuses through the cloud-builds topic",
    )
    .option('--verbose', 'print every log line')
    .allowExcessArguments(false)
    .configureOutput({writeOut: () => undefined, writeErr: () => undefined, getOutHelpWidth: () => 100})
    .exitOverride();
}

/** Parses `npm start`'s flags (argv without `node` and the script); throws {@link StartUsageError} or {@link StartHelp}. */
export function parseStartArgs(argv: readonly string[]): StartOptions {
  const cmd = program();
  try {
    cmd.parse([...argv], {from: 'user'});
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') throw new StartHelp(cmd.helpInformation());
    throw new StartUsageError(e.message.replace(/^error: /, ''), cmd.helpInformation());
  }
  const o = cmd.opts<{reconcileSeconds: number; fresh?: boolean; clearBuildCache?: boolean; notifications?: boolean; verbose?: boolean}>();
  return {
    reconcileSeconds: o.reconcileSeconds,
    fresh: o.fresh === true,
    clearBuildCache: o.clearBuildCache === true,
    notifications: o.notifications === true,
    verbose: o.verbose === true,
  };
}
