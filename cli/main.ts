#!/usr/bin/env node
/**
 * `dropdeploy`: the command line of the controller's HTTP API. Wiring only: parse the line,
 * find the API, pick the auth, run the command, turn errors into messages and exit codes.
 */
import {randomUUID} from 'node:crypto';
import {helpText, parseArgs} from './args';
import {authHeaders, authPlan} from './auth';
import {ApiClient} from './client';
import {runCommand} from './commands';
import {findApi} from './discover';
import {bashCompletion} from './completion';
import {CliError, EXIT_FAILURE, UsageError} from './errors';

const GENERAL_USAGE = 'dropdeploy <services|releases|status|redeploy|rollback|logs|env> [options] (see dropdeploy --help)';

/** Runs the CLI with `argv`; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const out = {write: (t: string) => void process.stdout.write(t), isTTY: process.stdout.isTTY === true};
  const err = {write: (t: string) => void process.stderr.write(t), isTTY: process.stderr.isTTY === true};
  try {
    const {command, options} = parseArgs(argv);
    if (command.name === 'help') {
      out.write(helpText(command.topic));
      return 0;
    }
    if (command.name === 'completion') {
      out.write(bashCompletion());
      return 0;
    }
    const api = findApi(options.url, process.env, process.cwd());
    const client = new ApiClient({baseUrl: api.url, headers: authHeaders(authPlan(api.url, process.env))});
    return await runCommand(command, options, {client, stdout: out, stderr: err, now: () => new Date(), newKey: randomUUID});
  } catch (e) {
    if (e instanceof UsageError) {
      err.write(`dropdeploy: ${e.message}\nusage: ${e.usage ?? GENERAL_USAGE}\n`);
      return e.exitCode;
    }
    if (e instanceof CliError) {
      err.write(`dropdeploy: ${e.message}\n`);
      return e.exitCode;
    }
    err.write(`dropdeploy: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_FAILURE;
  }
}

if (require.main === module) {
  // exitCode, not exit(): lets stdout drain when it is a pipe.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
