/**
 * The compiled CLI's help, typo suggestions and completion script, as a person sees them: stdout
 * and exit 0 for what was asked for, stderr and exit 2 for a mistake, and no API looked for.
 */
import assert from 'node:assert/strict';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {bashCompletion} from '../../cli/completion';
import {COMMAND_NAMES, usageOf} from '../../cli/syntax';
import {cli, cliEnv, type CliResult} from './run-cli';

const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
const GENERAL_USAGE = 'usage: dropdeploy <services|releases|status|redeploy|rollback|logs|env> [options] (see dropdeploy --help)\n';

describe('dropdeploy CLI: help, typos, completion', {timeout: 60_000}, () => {
  // No API anywhere: a command that looked for one would fail.
  const env = cliEnv({DROPDEPLOY_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'dd-cli-usage-'))});
  const run = (...args: string[]) => cli(args, env);

  for (const name of COMMAND_NAMES) {
    it(`${name} --help: its usage and options on stdout, exit 0`, async () => {
      const r = await run(name, '--help');
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stderr, '');
      assert.ok(r.stdout.startsWith(`Usage: ${usageOf(name)}\n`), show(r));
      assert.match(r.stdout, /^Options:\n/m);
      assert.match(r.stdout, /^Global Options:\n {2}--json /m);
    });
  }

  it('help COMMAND and COMMAND -h print the same as COMMAND --help', async () => {
    const want = (await run('rollback', '--help')).stdout;
    assert.match(want, /--no-wait +return once the release is accepted/);
    assert.equal((await run('help', 'rollback')).stdout, want);
    assert.equal((await run('rollback', 'web', '-h')).stdout, want);
  });

  it('--help: every command, exit 0', async () => {
    const r = await run('--help');
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.startsWith('Usage: dropdeploy <command> [options]\n'), show(r));
    for (const name of COMMAND_NAMES) assert.match(r.stdout, new RegExp(`^ {2}${name}\\b`, 'm'));
  });

  it('a mistyped command: did you mean, on stderr, exit 2', async () => {
    const r = await run('relases', 'web');
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `dropdeploy: unknown command "relases"; did you mean releases?\n${GENERAL_USAGE}`);
  });

  it("a mistyped flag: did you mean, with the command's usage line, exit 2", async () => {
    const r = await run('redeploy', 'web', '--no-wiat');
    assert.equal(r.code, 2, show(r));
    assert.equal(
      r.stderr,
      'dropdeploy: unknown option --no-wiat; did you mean --no-wait?\n' +
        'usage: dropdeploy redeploy <service> [--source gs://BUCKET/OBJECT#GENERATION] [--no-wait] [--timeout SECONDS]\n',
    );
  });

  it('env: a mistyped action, did you mean, with the usage line of env, exit 2', async () => {
    const r = await run('env', 'web', 'sett', 'GREETING=hi');
    assert.equal(r.code, 2, show(r));
    assert.equal(
      r.stderr,
      'dropdeploy: env: unknown action "sett"; did you mean set?\n' +
        'usage: dropdeploy env <service> [set NAME=VALUE… | unset NAME…] [--no-wait] [--timeout SECONDS]\n',
    );
  });

  it('no command: says so, exit 2', async () => {
    const r = await run();
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr, `dropdeploy: no command given\n${GENERAL_USAGE}`);
  });

  it('completion bash: the script on stdout, exit 0', async () => {
    const r = await run('completion', 'bash');
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, bashCompletion());
    const zsh = await run('completion', 'zsh');
    assert.equal(zsh.code, 2, show(zsh));
    assert.equal(
      zsh.stderr,
      'dropdeploy: completion: there is a script for bash, not for "zsh" ' +
        '(zsh can load it after `autoload -U +X bashcompinit && bashcompinit`)\nusage: dropdeploy completion bash\n',
    );
  });
});
