/**
 * The bash completion script, table-driven: bash itself loads it and completes each line, as
 * it does on Tab (COMP_LINE and COMP_POINT set, the function called, COMPREPLY read back).
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {describe, it} from 'node:test';
import {bashCompletion} from '../../cli/completion';

/** What bash offers for `line`, the cursor at its end. */
function complete(line: string): string[] {
  const driver = 'COMP_LINE=$LINE; COMP_POINT=${#COMP_LINE}; _dropdeploy; printf \'%s\\n\' "${COMPREPLY[@]}"';
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${bashCompletion()}\n${driver}`], {
    env: {PATH: process.env.PATH, LINE: line},
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  const cases: Array<{line: string; want: string[]}> = [
    {
      line: 'dropdeploy ',
      want: [
        'services',
        'releases',
        'status',
        'redeploy',
        'rollback',
        'logs',
        'env',
        'policy',
        'previews',
        'promote',
        'abort',
        'pause',
        'resume',
        'completion',
        'help',
      ],
    },
    {line: 'dropdeploy po', want: ['policy']},
    {line: 'dropdeploy policy web --check-', want: ['--check-path', '--check-status', '--check-timeout', '--check-attempts']},
    {line: 'dropdeploy policy web --m', want: ['--max-5xx-ratio', '--min-requests']},
    {line: 'dropdeploy policy web --strategy ', want: ['immediate', 'verified', 'canary']},
    {line: 'dropdeploy policy web --strategy c', want: ['canary']},
    {line: 'dropdeploy policy web --strategy canary --steps ', want: []},
    {
      line: 'dropdeploy policy web --strategy canary --',
      want: [
        '--strategy',
        '--steps',
        '--interval',
        '--check-path',
        '--check-status',
        '--check-timeout',
        '--check-attempts',
        '--max-5xx-ratio',
        '--p99-ms',
        '--min-requests',
        '--targets',
        '--target-order',
        '--on-target-failure',
        '--json',
        '--url',
        '--help',
      ],
    },
    {line: 'dropdeploy re', want: ['releases', 'redeploy', 'resume']},
    {line: 'dropdeploy rel', want: ['releases']},
    {line: 'dropdeploy --', want: ['--json', '--url', '--help']},
    {line: 'dropdeploy --url http://127.0.0.1:8080 ro', want: ['rollback']},
    {line: 'dropdeploy --json st', want: ['status']},
    {line: 'dropdeploy releases web --', want: ['--limit', '--json', '--url', '--help']},
    {line: 'dropdeploy releases --l', want: ['--limit']},
    {line: 'dropdeploy redeploy web --', want: ['--source', '--no-wait', '--timeout', '--json', '--url', '--help']},
    {line: 'dropdeploy rollback web 3 --no', want: ['--no-wait']},
    {line: 'dropdeploy status --', want: ['--json', '--url', '--help']},
    {line: 'dropdeploy help ro', want: ['rollback']},
    {line: 'dropdeploy help rollback ', want: []},
    {line: 'dropdeploy completion ', want: ['bash']},
    {line: 'dropdeploy e', want: ['env']},
    {line: 'dropdeploy env web ', want: ['set', 'unset']},
    {line: 'dropdeploy env web u', want: ['unset']},
    {line: 'dropdeploy --json env web s', want: ['set']},
    {line: 'dropdeploy env web set ', want: []},
    {line: 'dropdeploy env web set A=1 --no', want: ['--no-wait']},
    {line: 'dropdeploy env ', want: []},
    // A service name: not guessed (that would call the API on every Tab).
    {line: 'dropdeploy releases ', want: []},
    {line: 'dropdeploy releases web --limit ', want: []},
    {line: 'dropdeploy --url ', want: []},
    {line: 'dropdeploy releases web --limit=', want: []},
    {line: 'dropdeploy relases --', want: []},
  ];
  for (const c of cases) it(JSON.stringify(c.line), () => assert.deepEqual(complete(c.line), c.want));

  it('registers itself for the dropdeploy command', () => {
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `${bashCompletion()}\ncomplete -p dropdeploy`], {encoding: 'utf8'});
    assert.equal(r.stdout, 'complete -F _dropdeploy dropdeploy\n', r.stderr);
  });
});
