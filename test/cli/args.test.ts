/**
 * Argument parsing, table-driven: every command, --source good and bad, v7, unknown flags,
 * near misses; the help of each command.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {DEFAULT_TIMEOUT_SECONDS, helpText, parseArgs, parseSource} from '../../cli/args';
import {COMMANDS, COMMAND_NAMES, usageOf} from '../../cli/syntax';
import {UsageError} from '../../cli/errors';

const G = {json: false, wait: true, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS};

describe('parseArgs', () => {
  const cases: Array<{name: string; argv: string[]; want?: object; error?: RegExp; usage?: RegExp}> = [
    {name: 'services', argv: ['services'], want: {command: {name: 'services'}, options: G}},
    {
      name: 'releases with the default limit',
      argv: ['releases', 'web'],
      want: {command: {name: 'releases', service: 'web', limit: 20}, options: G},
    },
    {
      name: 'releases --limit N',
      argv: ['releases', 'web', '--limit', '5'],
      want: {command: {name: 'releases', service: 'web', limit: 5}, options: G},
    },
    {
      name: '--limit=N and --json before the command',
      argv: ['--json', 'releases', '--limit=3', 'web'],
      want: {command: {name: 'releases', service: 'web', limit: 3}, options: {...G, json: true}},
    },
    {
      name: 'status with --url',
      argv: ['status', 'web', '--url', 'http://127.0.0.1:8080'],
      want: {command: {name: 'status', service: 'web'}, options: {...G, url: 'http://127.0.0.1:8080'}},
    },
    {name: 'redeploy the newest source', argv: ['redeploy', 'web'], want: {command: {name: 'redeploy', service: 'web'}, options: G}},
    {
      name: 'redeploy --source',
      argv: ['redeploy', 'web', '--source', 'gs://my-sources/web/v3.zip#1764320400000000'],
      want: {
        command: {name: 'redeploy', service: 'web', source: {bucket: 'my-sources', object: 'web/v3.zip', generation: '1764320400000000'}},
        options: G,
      },
    },
    {
      name: 'redeploy --no-wait --timeout',
      argv: ['redeploy', 'web', '--no-wait', '--timeout', '60'],
      want: {command: {name: 'redeploy', service: 'web'}, options: {...G, wait: false, timeoutSeconds: 60}},
    },
    {name: 'rollback 7', argv: ['rollback', 'web', '7'], want: {command: {name: 'rollback', service: 'web', release: 7}, options: G}},
    {name: 'rollback v7', argv: ['rollback', 'web', 'v7'], want: {command: {name: 'rollback', service: 'web', release: 7}, options: G}},
    {name: 'logs of the newest build', argv: ['logs', 'web'], want: {command: {name: 'logs', service: 'web'}, options: G}},
    {name: 'logs v3', argv: ['logs', 'web', 'v3'], want: {command: {name: 'logs', service: 'web', release: 3}, options: G}},
    {name: 'promote the release rolling out', argv: ['promote', 'web'], want: {command: {name: 'promote', service: 'web'}, options: G}},
    {name: 'abort v4', argv: ['abort', 'web', 'v4'], want: {command: {name: 'abort', service: 'web', release: 4}, options: G}},
    {name: 'pause 4', argv: ['pause', 'web', '4'], want: {command: {name: 'pause', service: 'web', release: 4}, options: G}},
    {name: 'resume', argv: ['resume', 'web'], want: {command: {name: 'resume', service: 'web'}, options: G}},
    {name: '--help', argv: ['--help'], want: {command: {name: 'help'}, options: G}},
    {name: 'help on a command', argv: ['rollback', '-h'], want: {command: {name: 'help', topic: 'rollback'}, options: G}},
    {name: 'help COMMAND', argv: ['help', 'logs'], want: {command: {name: 'help', topic: 'logs'}, options: G}},
    {name: 'help alone', argv: ['help'], want: {command: {name: 'help'}, options: G}},
    {name: '-h alone', argv: ['-h'], want: {command: {name: 'help'}, options: G}},
    {
      name: '--help after a global flag',
      argv: ['--json', 'status', '--help'],
      want: {command: {name: 'help', topic: 'status'}, options: G},
    },
    {name: '--help before the command', argv: ['--help', 'status'], want: {command: {name: 'help', topic: 'status'}, options: G}},
    {name: 'help on help', argv: ['help', 'help'], want: {command: {name: 'help', topic: 'help'}, options: G}},
    {name: 'completion bash', argv: ['completion', 'bash'], want: {command: {name: 'completion', shell: 'bash'}, options: G}},
    {name: 'no command', argv: [], error: /no command given/},
    {name: 'unknown command', argv: ['deploy', 'web'], error: /unknown command "deploy"/},
    {name: 'a typo of a command', argv: ['relases', 'web'], error: /^unknown command "relases"; did you mean releases\?$/},
    {
      name: 'a typo of a command, asking for help',
      argv: ['relases', '--help'],
      error: /^unknown command "relases"; did you mean releases\?$/,
    },
    {name: 'help on a typo', argv: ['help', 'rollbak'], error: /^unknown command "rollbak"; did you mean rollback\?$/},
    {name: 'nothing near', argv: ['xyzzy'], error: /^unknown command "xyzzy"$/},
    {
      name: 'a typo of a flag',
      argv: ['releases', 'web', '--limt', '3'],
      error: /^unknown option --limt; did you mean --limit\?$/,
      usage: /^dropdeploy releases/,
    },
    {name: 'a typo of a global flag', argv: ['status', 'web', '--jsn'], error: /^unknown option --jsn; did you mean --json\?$/},
    {
      name: 'a command flag before the command',
      argv: ['--limit', '5', 'releases', 'web'],
      error: /^--limit is an option of releases: put it after the command$/,
      usage: /^dropdeploy releases/,
    },
    {name: 'unknown flag', argv: ['releases', 'web', '--force'], error: /unknown option --force/, usage: /^dropdeploy releases/},
    {name: 'unknown short flag', argv: ['services', '-x'], error: /unknown option -x/},
    {name: 'flag of another command', argv: ['releases', 'web', '--source', 'gs://b/o#1'], error: /releases takes no --source/},
    {name: '--no-wait on a read', argv: ['status', 'web', '--no-wait'], error: /status takes no --no-wait/},
    {name: 'value flag without value', argv: ['releases', 'web', '--limit'], error: /--limit needs a value/},
    {name: 'value flag followed by a flag', argv: ['status', 'web', '--url', '--json'], error: /--url needs a value/},
    {name: 'bool flag with a value', argv: ['services', '--json=yes'], error: /--json takes no value/},
    {name: 'empty value', argv: ['services', '--url='], error: /^--url needs a value$/, usage: /^dropdeploy services$/},
    {name: 'value flag at the end', argv: ['status', 'web', '--url'], error: /^--url needs a value$/, usage: /^dropdeploy status/},
    {name: 'bad limit', argv: ['releases', 'web', '--limit', '0'], error: /--limit must be a whole number above 0, not "0"/},
    {name: 'abort of a bad release', argv: ['abort', 'web', 'x'], error: /"x" is not a release number \(7 or v7\)/},
    {name: 'bad timeout', argv: ['rollback', 'web', '1', '--timeout', '5m'], error: /--timeout must be a whole number/},
    {name: 'missing service', argv: ['status'], error: /status: missing <service>/, usage: /^dropdeploy status <service>$/},
    {name: 'missing release', argv: ['rollback', 'web'], error: /rollback: missing <release>/},
    {name: 'extra argument', argv: ['services', 'web'], error: /services: unexpected argument "web"/},
    {name: 'bad release', argv: ['rollback', 'web', 'latest'], error: /"latest" is not a release number \(7 or v7\)/},
    {name: 'release 0', argv: ['rollback', 'web', 'v0'], error: /"v0" is not a release number/},
    {name: 'negative release', argv: ['rollback', 'web', '-1'], error: /^"-1" is not a release number \(7 or v7\)$/},
    {name: 'bad service name', argv: ['status', 'Web_App'], error: /"Web_App" is not a service name/},
    {
      name: 'completion for another shell',
      argv: ['completion', 'fish'],
      error:
        /^completion: there is a script for bash, not for "fish" \(zsh can load it after `autoload -U \+X bashcompinit && bashcompinit`\)$/,
      usage: /^dropdeploy completion bash$/,
    },
    {name: 'completion without a shell', argv: ['completion'], error: /^completion: missing <shell>$/},
    {name: 'env: list', argv: ['env', 'web'], want: {command: {name: 'env', service: 'web'}, options: G}},
    {name: 'env --json: list', argv: ['env', 'web', '--json'], want: {command: {name: 'env', service: 'web'}, options: {...G, json: true}}},
    {
      name: 'env set, a value with = and spaces, and --no-wait',
      argv: ['env', 'web', 'set', 'A=1', 'Q=a=b c', '--no-wait'],
      want: {command: {name: 'env', service: 'web', change: {set: {A: '1', Q: 'a=b c'}, unset: []}}, options: {...G, wait: false}},
    },
    {
      name: 'env unset',
      argv: ['env', 'web', 'unset', 'A', 'B'],
      want: {command: {name: 'env', service: 'web', change: {set: {}, unset: ['A', 'B']}}, options: G},
    },
    {name: 'env without a service', argv: ['env'], error: /^env: missing <service>$/, usage: /^dropdeploy env <service> \[set NAME=VALUE/},
    {name: 'env: a typo of set', argv: ['env', 'web', 'sett', 'A=1'], error: /^env: unknown action "sett"; did you mean set\?$/},
    {name: 'env: a typo of unset', argv: ['env', 'web', 'unsett', 'A'], error: /^env: unknown action "unsett"; did you mean unset\?$/},
    {name: 'env: a typo of the command', argv: ['evn', 'web'], error: /^unknown command "evn"; did you mean env\?$/},
    {name: 'env: set forgotten', argv: ['env', 'web', 'A=1'], error: /did you mean `dropdeploy env web set A=1`\?$/},
    {name: 'env: --limit is not its flag', argv: ['env', 'web', '--limit', '3'], error: /^env takes no --limit$/},
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (!c.error) {
        assert.deepEqual(parseArgs(c.argv), c.want);
        return;
      }
      assert.throws(
        () => parseArgs(c.argv),
        (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.equal(e.exitCode, 2);
          assert.match(e.message, c.error!);
          if (c.usage) assert.match(e.usage ?? '', c.usage);
          return true;
        },
      );
    });
  }
});

describe('helpText', () => {
  for (const name of COMMAND_NAMES) {
    it(`${name}: its usage line, arguments, options and the global options`, () => {
      const text = helpText(name);
      assert.ok(text.startsWith(`Usage: ${usageOf(name)}\n\n${COMMANDS[name].summary}\n`), text);
      for (const a of COMMANDS[name].args) assert.match(text, new RegExp(`^  ${a.name.slice(1, -1)} +\\S`, 'm'));
      for (const o of COMMANDS[name].options) assert.ok(text.includes(`  ${o.flags}  `), `${o.flags} in\n${text}`);
      assert.match(text, /^Global Options:\n {2}--json +print the API's JSON\n {2}--url <URL> /m);
    });
  }
  it('the general help lists every command, the exit codes and the auth', () => {
    const text = helpText();
    assert.ok(text.startsWith('Usage: dropdeploy <command> [options]\n'), text);
    for (const name of COMMAND_NAMES) {
      const line = text.split('\n').find((l) => l.startsWith(`  ${name} `));
      assert.ok(line?.endsWith(`  ${COMMANDS[name].summary}`), `${name} in\n${text}`);
    }
    assert.match(text, /^Exit codes: 0 done \(redeploy\/rollback\/env set\|unset: deployed\), 1 failed, 2 usage error\.$/m);
    assert.match(text, /DROPDEPLOY_ID_TOKEN/);
  });
});

describe('parseSource', () => {
  const good: Array<[string, object]> = [
    ['gs://my-sources/web/v3.zip#1764320400000000', {bucket: 'my-sources', object: 'web/v3.zip', generation: '1764320400000000'}],
    ['gs://b.example.com/deploy/web/a b.tgz#1', {bucket: 'b.example.com', object: 'deploy/web/a b.tgz', generation: '1'}],
    ['gs://bkt/web/odd#name.zip#42', {bucket: 'bkt', object: 'web/odd#name.zip', generation: '42'}],
  ];
  for (const [raw, want] of good) it(`accepts ${raw}`, () => assert.deepEqual(parseSource(raw), want));
  const bad: Array<[string, RegExp]> = [
    ['my-sources/web/v3.zip#1', /not a gs:\/\/ URL/],
    ['https://storage.googleapis.com/b/o#1', /not a gs:\/\/ URL/],
    ['gs://my-sources', /no object name after the bucket/],
    ['gs://my-sources/web/v3.zip', /no #GENERATION/],
    ['gs://my-sources#1/web.zip', /no #GENERATION/],
    ['gs://my-sources/web/v3.zip#', /generation "" is not a decimal number/],
    ['gs://my-sources/web/v3.zip#latest', /generation "latest" is not a decimal number/],
    ['gs://my-sources/web/v3.zip#-1', /generation "-1"/],
    ['gs://My_Sources/web/v3.zip#1', /"My_Sources" is not a bucket name/],
    ['gs:///web/v3.zip#1', /"" is not a bucket name/],
    ['gs://my-sources/#1', /object name is empty/],
    ['gs://my-sources/web/#1', /is a folder/],
  ];
  for (const [raw, want] of bad) {
    it(`refuses ${raw}`, () =>
      assert.throws(
        () => parseSource(raw),
        (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.match(e.message, want);
          assert.match(e.message, /expected gs:\/\/BUCKET\/OBJECT#GENERATION/);
          return true;
        },
      ));
  }
});
