/**
 * Every gcloud command deploy/install.sh issues is one the real gcloud accepts: its dry-run plans
 * (install, uninstall, uninstall --purge), and the calls the stub recorded in runs that take the
 * other paths (a second run, drifted settings, an older install, undeleting the custom role).
 * Each goes through the installed gcloud with an empty CLOUDSDK_CONFIG: gcloud checks flags,
 * choices and required arguments before it wants credentials, so an accepted command ends at
 * "You do not currently have an active account selected" and nothing reaches Google Cloud.
 * gcloud is required with CI=true; elsewhere the test is skipped, saying so.
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, describe, it} from 'node:test';
import {BASE, P, R, ROOT, ok, run, sandbox} from './install-harness';

const NO_ACCOUNT = 'You do not currently have an active account selected';
// What a dry run writes for values only a real run knows (see the lines before each).
const PLACEHOLDERS: Record<string, string> = {
  SUB: `projects/${P}/subscriptions/eventarc-${R}-dropdeploy-uploads-sub-000`,
  RECONCILE_URL: 'https://dropdeploy-reconcile-abc123-ew.a.run.app',
};

const config = mkdtempSync(join(tmpdir(), 'dropdeploy-gcloud-config-'));
after(() => rmSync(config, {recursive: true, force: true}));

/** gcloud's environment: an empty configuration (no account, no project), prompts off as in the installer. */
function gcloudEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('CLOUDSDK_') && !k.startsWith('DROPDEPLOY_')) env[k] = v;
  }
  return {...env, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1'};
}

/** The SDK's root and gcloud's own Python, or undefined when gcloud is not installed. */
function findGcloud(): {sdkRoot: string; python: string} | undefined {
  const r = spawnSync('gcloud', ['info', '--format=value(installation.sdk_root,basic.python_location)'], {
    env: gcloudEnv(),
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) return undefined;
  const [sdkRoot, python] = r.stdout.trim().split('\t');
  return sdkRoot && python ? {sdkRoot, python} : undefined;
}

/**
 * The words of one line the installer printed with shell_quote: bare words, '…' (with '\'' for
 * a quote) and "$NAME" for a placeholder. Nothing else appears in its output.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const word = /\s*((?:\\'|'[^']*'|"\$[A-Z_]+"|[^\s'"\\]+)+)/y;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = word.exec(line)) !== null) {
    end = word.lastIndex;
    words.push(
      m[1].replace(/\\'|'([^']*)'|"\$([A-Z_]+)"/g, (_all, quoted: string | undefined, name: string | undefined) => {
        if (quoted !== undefined) return quoted;
        if (name === undefined) return "'";
        assert.ok(PLACEHOLDERS[name], `unknown placeholder $${name} in: ${line}`);
        return PLACEHOLDERS[name];
      }),
    );
  }
  assert.equal(line.slice(end).trim(), '', `could not read: ${line}`);
  return words;
}

/** Every gcloud command a dry-run output prints, as argument lists without "gcloud". */
function dryRunCommands(stdout: string): string[][] {
  const lines: string[] = [];
  for (const line of stdout.split('\n')) {
    const check = /\(would run: (gcloud .*)\)$/.exec(line);
    const assign = /^ {2}[A-Z_]+=\$\((gcloud .*)\)$/.exec(line);
    if (check) lines.push(check[1]);
    else if (assign) lines.push(assign[1]);
    else if (line.startsWith('  gcloud ')) lines.push(line.slice(2));
  }
  return lines.map((l) => shellWords(l).slice(1));
}

/** The calls the stub recorded in runs that a dry run does not show: existing, drifted, older, deleted. */
function recordedCommands(): string[][] {
  const calls: string[][] = [];
  const sb = sandbox(['pubsub topics cloud-builds']);
  for (const args of [BASE, BASE, [...BASE, '--redeploy']]) calls.push(...ok(run(sb, args)).calls);
  // Drifted: the custom role's permissions, the scheduler job, a function an older installer labelled.
  writeFileSync(join(sb.state, 'res', 'iam_roles_dropdeploy_controller'), 'permissions=run.services.get\n');
  writeFileSync(join(sb.state, 'res', 'scheduler_jobs_dropdeploy-reconcile'), 'schedule=*/5 * * * *\n');
  writeFileSync(join(sb.state, 'res', 'functions_dropdeploy-api'), 'update-labels=managed-by=dropdeploy\n');
  const policy = join(sb.state, 'bind', `projects_${P}`);
  const controller = `serviceAccount:dropdeploy-controller@${P}.iam.gserviceaccount.com`;
  writeFileSync(policy, `${readFileSync(policy, 'utf8')}roles/run.developer,${controller}\n`);
  calls.push(...ok(run(sb, BASE)).calls);
  calls.push(...ok(run(sb, [...BASE, '--uninstall'])).calls);
  calls.push(...ok(run(sb, BASE)).calls); // undeletes the custom roles
  calls.push(...ok(run(sb, [...BASE, '--uninstall', '--purge'])).calls);
  return calls;
}

interface Verdict {
  argv: string[];
  code: number;
  stderr: string;
  format_error: string | null;
}

describe('the gcloud commands of deploy/install.sh', () => {
  const gcloud = findGcloud();
  const skip = gcloud ? false : 'gcloud is not installed (with CI=true this fails instead)';

  if (!gcloud && process.env.CI === 'true') {
    it('need gcloud with CI=true', () => assert.fail('gcloud is not on PATH: the test machines have it; install the Google Cloud CLI'));
    return;
  }

  it('are all accepted by the real gcloud, flags, choices and --format included', {skip, timeout: 180_000}, (t) => {
    const {sdkRoot, python} = gcloud!;
    const sb = sandbox();
    const plans = [BASE, [...BASE, '--uninstall'], [...BASE, '--uninstall', '--purge']].map(
      (args) => ok(run(sb, [...args, '--dry-run'])).stdout,
    );
    const all = [...plans.flatMap(dryRunCommands), ...recordedCommands()];
    const unique = [...new Map(all.map((c) => [JSON.stringify(c), c])).values()];
    // A control: a command gcloud refuses (a bad choice) must be reported as refused.
    const control = [
      'scheduler',
      'jobs',
      'create',
      'http',
      'x',
      `--location=${R}`,
      `--project=${P}`,
      '--schedule=* * * * *',
      '--uri=https://example.com',
      '--http-method=postx',
    ];
    t.diagnostic(`${unique.length} distinct gcloud commands, checked in one gcloud process`);
    const input = [...unique, control].map((c) => JSON.stringify(c)).join('\n') + '\n';
    const r = spawnSync(python, [join(ROOT, 'test', 'deploy', 'gcloud-accepts.py')], {
      input,
      encoding: 'utf8',
      timeout: 170_000,
      maxBuffer: 64 * 1024 * 1024,
      env: {...gcloudEnv(), PYTHONPATH: [join(sdkRoot, 'lib'), join(sdkRoot, 'lib', 'third_party')].join(':')},
    });
    assert.equal(r.status, 0, `could not run gcloud's CLI in-process:\n${r.stderr}`);
    const verdicts = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Verdict);
    assert.equal(verdicts.length, unique.length + 1, r.stderr);

    const refused = verdicts.pop()!;
    assert.match(refused.stderr, /Invalid choice: 'postx'/, 'the control command was not refused: the check would not catch a bad command');
    const accepted = (v: Verdict) => v.stderr.includes(NO_ACCOUNT) || (v.argv[0] === 'auth' && v.argv[1] === 'list' && v.code === 0);
    const problems = verdicts
      .filter((v) => !accepted(v) || v.format_error)
      .map((v) => `gcloud ${v.argv.join(' ')}\n  ${(v.format_error ?? v.stderr).trim().split('\n').slice(0, 4).join('\n  ')}`);
    assert.deepEqual(problems, [], `gcloud refused:\n${problems.join('\n')}`);
    // Every kind of command the installer adds is among them.
    const kinds = new Set(
      verdicts.map((v) =>
        v.argv
          .filter((a) => !a.startsWith('-'))
          .slice(0, 4)
          .join(' '),
      ),
    );
    for (const kind of [
      'scheduler jobs create http',
      'scheduler jobs update http',
      'scheduler jobs delete dropdeploy-reconcile',
      'iam roles create dropdeploy_controller',
      'iam roles update dropdeploy_controller',
      'iam roles undelete dropdeploy_controller',
      'iam roles delete dropdeploy_controller',
      'firestore indexes composite create',
      'firestore indexes composite list',
      'run services get-iam-policy dropdeploy-api',
      'run services add-iam-policy-binding dropdeploy-api',
    ]) {
      assert.ok(
        [...kinds].some((k) => k.startsWith(kind)),
        `no ${kind} among:\n${[...kinds].sort().join('\n')}`,
      );
    }
  });
});
