/**
 * deploy/install.sh against a recording stub `gcloud` (test/deploy/stub-gcloud.sh) first on PATH:
 * the plan for an empty project, idempotency, dry run, uninstall, argument and prerequisite errors.
 * Nothing here talks to Google Cloud.
 */
import assert from 'node:assert/strict';
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {before, describe, it} from 'node:test';
import {BASE, P, R, ROOT, callsWith, envVars, flag, mutations, ok, oneCall, run, sandbox, show, verbOf, type Run} from './install-harness';

const PROJECT_NUMBER = '123456789012'; // what the stub answers
const BUCKET = `dropdeploy-sources-${P}`;
const sa = (name: string) => `serviceAccount:dropdeploy-${name}@${P}.iam.gserviceaccount.com`;
const PUBSUB_AGENT = `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const STORAGE_AGENT = `serviceAccount:service-${PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`;
/** The controller's custom role: what it calls on Cloud Run and Cloud Build, nothing more. */
const CONTROLLER_ROLE = `projects/${P}/roles/dropdeploy_controller`;
/** Lets the API read its own service's IAM policy (it refuses to serve when that is public). */
const API_POLICY_ROLE = `projects/${P}/roles/dropdeploy_api_policy_reader`;
/** What the rollout checks call: a revision's tag URL, and its request metrics. */
const ROLLOUT_ROLE = `projects/${P}/roles/dropdeploy_rollout_checks`;
const CONTROLLER_PERMISSIONS = [
  'cloudbuild.builds.create',
  'cloudbuild.builds.get',
  'cloudbuild.builds.list',
  'run.operations.get',
  'run.services.create',
  'run.services.get',
  'run.services.update',
];

/** member → sorted roles granted by the run, from every add-iam-policy-binding. */
function grants(r: Run): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of callsWith(r, 'add-iam-policy-binding')) {
    const member = flag(c, 'member') ?? '';
    (out[member] ??= []).push(
      `${flag(c, 'role')} on ${c.slice(0, c.indexOf('add-iam-policy-binding')).join(' ')} ${c[c.indexOf('add-iam-policy-binding') + 1]}`,
    );
  }
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

describe('deploy/install.sh in an empty project', () => {
  const sb = sandbox();
  let r: Run;
  before(() => {
    r = ok(run(sb, BASE));
  });

  it('enables every API it needs', () => {
    const enable = oneCall(r, 'services', 'enable');
    for (const api of [
      'run',
      'cloudbuild',
      'artifactregistry',
      'eventarc',
      'pubsub',
      'firestore',
      'storage',
      'iam',
      'cloudfunctions',
      'cloudscheduler',
      'monitoring',
    ]) {
      assert.ok(enable.includes(`${api}.googleapis.com`), `${api} not enabled: ${enable.join(' ')}`);
    }
  });

  it('creates a private source bucket, a Docker repository and a native Firestore database', () => {
    oneCall(
      r,
      'storage',
      'buckets',
      'create',
      `gs://${BUCKET}`,
      '--uniform-bucket-level-access',
      '--public-access-prevention',
      `--location=${R}`,
    );
    oneCall(r, 'artifacts', 'repositories', 'create', 'dropdeploy', '--repository-format=docker', `--location=${R}`);
    oneCall(r, 'firestore', 'databases', 'create', '--type=firestore-native', '--database=(default)');
  });

  it("creates the reconciler's composite index on releases (root, state, updateTime) across collections", () => {
    const c = oneCall(
      r,
      'firestore',
      'indexes',
      'composite',
      'create',
      '--database=(default)',
      '--collection-group=releases',
      '--query-scope=collection-group',
    );
    assert.deepEqual(
      c.filter((a) => a.startsWith('--field-config=')),
      [
        '--field-config=field-path=root,order=ascending',
        '--field-config=field-path=state,order=ascending',
        '--field-config=field-path=updateTime,order=ascending',
      ],
    );
    assert.ok(r.calls.indexOf(oneCall(r, 'firestore', 'databases', 'create')) < r.calls.indexOf(c), 'the database exists first');
    oneCall(r, 'firestore', 'indexes', 'composite', 'list', '--database=(default)');
  });

  it('creates the status, cloud-builds and dead-letter topics and a subscription on the dead-letter topic', () => {
    for (const t of ['dropdeploy-status', 'cloud-builds', 'dropdeploy-dead-letter']) oneCall(r, 'pubsub', 'topics', 'create', t);
    oneCall(r, 'pubsub', 'subscriptions', 'create', 'dropdeploy-dead-letter-sub', '--topic=dropdeploy-dead-letter');
  });

  it('creates the controller, build, trigger, scheduler and runtime service accounts', () => {
    const made = callsWith(r, 'iam', 'service-accounts', 'create')
      .map((c) => c[3])
      .sort();
    assert.deepEqual(made, [
      'dropdeploy-builder',
      'dropdeploy-controller',
      'dropdeploy-runtime',
      'dropdeploy-scheduler',
      'dropdeploy-trigger',
    ]);
  });

  it('grants exactly the least-privilege roles listed in deploy/README.md', () => {
    assert.deepEqual(grants(r), {
      [sa('controller')]: [
        `${API_POLICY_ROLE} on run services dropdeploy-api`,
        `${CONTROLLER_ROLE} on projects ${P}`,
        `${ROLLOUT_ROLE} on projects ${P}`,
        `roles/datastore.user on projects ${P}`,
        `roles/iam.serviceAccountUser on iam service-accounts dropdeploy-builder@${P}.iam.gserviceaccount.com`,
        `roles/iam.serviceAccountUser on iam service-accounts dropdeploy-runtime@${P}.iam.gserviceaccount.com`,
        'roles/pubsub.publisher on pubsub topics dropdeploy-status',
        `roles/storage.objectViewer on storage buckets gs://${BUCKET}`,
      ],
      [sa('builder')]: [
        'roles/artifactregistry.writer on artifacts repositories dropdeploy',
        `roles/logging.logWriter on projects ${P}`,
        `roles/storage.objectViewer on storage buckets gs://${BUCKET}`,
      ],
      [sa('trigger')]: [`roles/eventarc.eventReceiver on projects ${P}`, 'roles/run.invoker on run services dropdeploy-events'],
      [sa('scheduler')]: ['roles/run.invoker on run services dropdeploy-reconcile'],
      [STORAGE_AGENT]: [`roles/pubsub.publisher on projects ${P}`],
      [PUBSUB_AGENT]: [
        'roles/pubsub.publisher on pubsub topics dropdeploy-dead-letter',
        `roles/pubsub.subscriber on pubsub subscriptions projects/${P}/subscriptions/eventarc-${R}-dropdeploy-builds-sub-000`,
        `roles/pubsub.subscriber on pubsub subscriptions projects/${P}/subscriptions/eventarc-${R}-dropdeploy-uploads-sub-000`,
      ],
      'user:a@b.com': ['roles/run.invoker on run services dropdeploy-api'],
      'group:ops@example.com': ['roles/run.invoker on run services dropdeploy-api'],
    });
  });

  it("creates the controller's custom role with exactly the permissions it uses", () => {
    const c = oneCall(r, 'iam', 'roles', 'create', 'dropdeploy_controller', `--project=${P}`, '--stage=GA');
    assert.deepEqual(flag(c, 'permissions')?.split(','), CONTROLLER_PERMISSIONS);
    const roleAt = r.calls.indexOf(c);
    const grantAt = r.calls.findIndex((g) => g.includes('add-iam-policy-binding') && g.includes(`--role=${CONTROLLER_ROLE}`));
    assert.ok(roleAt >= 0 && roleAt < grantAt, 'the role exists before it is granted');
  });

  it('lets the controller check the revisions it rolls out, and says why in the role it creates', () => {
    const c = oneCall(r, 'iam', 'roles', 'create', 'dropdeploy_rollout_checks', `--project=${P}`, '--stage=GA');
    assert.deepEqual(flag(c, 'permissions')?.split(','), ['monitoring.timeSeries.list', 'run.routes.invoke']);
    assert.match(
      flag(c, 'description') ?? '',
      /call its tag URL \(run\.routes\.invoke\) and read its request metrics \(monitoring\.timeSeries\.list\)/,
    );
    const roleAt = r.calls.indexOf(c);
    const grantAt = r.calls.indexOf(oneCall(r, 'projects', 'add-iam-policy-binding', `--role=${ROLLOUT_ROLE}`));
    assert.ok(roleAt >= 0 && roleAt < grantAt, 'the role exists before it is granted');
  });

  it("lets the API read its own IAM policy, and no other service's", () => {
    const c = oneCall(r, 'iam', 'roles', 'create', 'dropdeploy_api_policy_reader', `--project=${P}`, '--stage=GA');
    assert.equal(flag(c, 'permissions'), 'run.services.getIamPolicy');
    const g = oneCall(r, 'add-iam-policy-binding', `--role=${API_POLICY_ROLE}`);
    assert.deepEqual(g.slice(0, 4), ['run', 'services', 'add-iam-policy-binding', 'dropdeploy-api']);
    assert.ok(r.calls.indexOf(oneCall(r, 'functions', 'deploy', 'dropdeploy-api')) < r.calls.indexOf(g), 'the service exists first');
  });

  it('grants no basic or admin role anywhere', () => {
    const roles = r.calls.flatMap((c) => c.filter((a) => a.startsWith('--role=')).map((a) => a.slice(7)));
    assert.ok(roles.length > 0);
    for (const role of roles) {
      assert.ok(!['roles/editor', 'roles/owner', 'roles/viewer'].includes(role) && !/admin/i.test(role), `broad role ${role}`);
    }
    assert.ok(!r.calls.some((c) => c.some((a) => /allUsers|allAuthenticatedUsers|--allow-unauthenticated/.test(a))), 'something is public');
  });

  it('deploys both functions from this repository on nodejs22, private, with their configuration', () => {
    const want = {
      DROPDEPLOY_PROJECT: P,
      DROPDEPLOY_REGION: R,
      DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'dropdeploy-status',
      DROPDEPLOY_BUCKETS: BUCKET,
      DROPDEPLOY_BUILD_SERVICE_ACCOUNT: sa('builder').slice('serviceAccount:'.length),
      DROPDEPLOY_RUNTIME_SERVICE_ACCOUNT: sa('runtime').slice('serviceAccount:'.length),
      // Private behind Cloud Run IAM, which verifies callers before the controller does.
      DROPDEPLOY_API_AUTH: 'cloud-run-iam',
      // The real --timeout, so the controller can check its lease outlasts a handler run.
      DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '540',
      // The controller refuses uploads that would deploy over one of its own functions.
      DROPDEPLOY_CONTROLLER_SERVICES: 'dropdeploy-events,dropdeploy-api,dropdeploy-reconcile',
    };
    for (const [name, entry] of [
      ['dropdeploy-events', 'dropdeployEvents'],
      ['dropdeploy-api', 'dropdeployApi'],
      ['dropdeploy-reconcile', 'dropdeployReconcile'],
    ]) {
      const d = oneCall(
        r,
        'functions',
        'deploy',
        name,
        '--gen2',
        '--runtime=nodejs22',
        `--source=${ROOT}`,
        `--entry-point=${entry}`,
        '--no-allow-unauthenticated',
        `--service-account=${sa('controller').slice(15)}`,
      );
      assert.deepEqual(envVars(d), want);
      assert.equal(flag(d, 'timeout'), `${envVars(d).DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS}s`, `timeout of ${name}`);
    }
    assert.equal(flag(oneCall(r, 'functions', 'deploy', 'dropdeploy-events'), 'ingress-settings'), 'internal-only');
    // Cloud Scheduler in the same project calling the run.app URL counts as internal traffic.
    assert.equal(flag(oneCall(r, 'functions', 'deploy', 'dropdeploy-reconcile'), 'ingress-settings'), 'internal-only');
  });

  it('runs the reconciler every minute from Cloud Scheduler, with an OIDC token only it may present', () => {
    const url = 'https://dropdeploy-reconcile-abc123-ew.a.run.app'; // what the stub answers
    const job = oneCall(
      r,
      'scheduler',
      'jobs',
      'create',
      'http',
      'dropdeploy-reconcile',
      `--location=${R}`,
      `--project=${P}`,
      '--schedule=* * * * *',
      `--uri=${url}`,
      '--http-method=post',
      `--oidc-service-account-email=${sa('scheduler').slice(15)}`,
      `--oidc-token-audience=${url}`,
    );
    assert.equal(flag(job, 'attempt-deadline'), '540s');
    const at = (c: string[]) => r.calls.indexOf(c);
    assert.ok(at(oneCall(r, 'functions', 'deploy', 'dropdeploy-reconcile')) < at(job), 'the function exists first');
    assert.ok(
      at(oneCall(r, 'run', 'services', 'add-iam-policy-binding', 'dropdeploy-reconcile')) < at(job),
      'its invoker is granted first',
    );
  });

  it('labels its own functions as the controller, never managed-by=dropdeploy (which lets dropdeploy deploy over them)', () => {
    for (const d of callsWith(r, 'functions', 'deploy')) {
      assert.equal(flag(d, 'update-labels'), 'dropdeploy-role=controller');
      assert.equal(flag(d, 'remove-labels'), 'managed-by', 'a label an older installer set is removed');
      assert.ok(!d.some((a) => /managed-by=dropdeploy/.test(a)), d.join(' '));
    }
  });

  it('routes uploads and Cloud Build statuses to the event function through Eventarc', () => {
    const common = [
      '--destination-run-service=dropdeploy-events',
      `--destination-run-region=${R}`,
      `--service-account=${sa('trigger').slice(15)}`,
    ];
    oneCall(
      r,
      'eventarc',
      'triggers',
      'create',
      'dropdeploy-uploads',
      ...common,
      '--event-filters=type=google.cloud.storage.object.v1.finalized',
      `--event-filters=bucket=${BUCKET}`,
    );
    oneCall(
      r,
      'eventarc',
      'triggers',
      'create',
      'dropdeploy-builds',
      ...common,
      '--event-filters=type=google.cloud.pubsub.topic.v1.messagePublished',
      `--transport-topic=projects/${P}/topics/cloud-builds`,
    );
  });

  it('turns on retries, a dead-letter topic and a 600 s ack deadline on both trigger subscriptions', () => {
    for (const trigger of ['dropdeploy-uploads', 'dropdeploy-builds']) {
      const u = oneCall(r, 'pubsub', 'subscriptions', 'update', `projects/${P}/subscriptions/eventarc-${R}-${trigger}-sub-000`);
      assert.equal(flag(u, 'ack-deadline'), '600');
      assert.equal(flag(u, 'dead-letter-topic'), `projects/${P}/topics/dropdeploy-dead-letter`);
      const attempts = Number(flag(u, 'max-delivery-attempts'));
      assert.ok(attempts >= 5 && attempts <= 100, `max-delivery-attempts ${attempts}`);
      assert.ok(flag(u, 'min-retry-delay') && flag(u, 'max-retry-delay'), 'retry policy');
    }
  });

  it('creates nothing a second time and says so', () => {
    const again = ok(run(sb, BASE));
    assert.deepEqual(mutations(again), [], show(mutations(again)));
    assert.ok(again.calls.some((c) => c.includes('describe')));
    assert.match(again.stdout, /nothing to do/);
    assert.match(again.stdout, /exists: function dropdeploy-events/);
  });
});

describe('deploy/install.sh against a project where everything exists', () => {
  it('issues only reads and reports nothing to do', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    const r = ok(run(sb, BASE, {mode: 'all-exist'}));
    assert.deepEqual(mutations(r), [], show(mutations(r)));
    assert.ok(
      r.calls.every((c) => ['describe', 'get-iam-policy', 'list', undefined].includes(verbOf(c))),
      show(r.calls),
    );
    assert.match(r.stdout, /nothing to do/);
  });

  it('points the scheduler job at the reconcile function again when its settings drifted', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    writeFileSync(join(sb.state, 'res', 'scheduler_jobs_dropdeploy-reconcile'), 'schedule=*/5 * * * *\nuri=https://old.example\n');
    const r = ok(run(sb, BASE));
    const u = oneCall(r, 'scheduler', 'jobs', 'update', 'http', 'dropdeploy-reconcile', '--schedule=* * * * *');
    assert.equal(flag(u, 'uri'), 'https://dropdeploy-reconcile-abc123-ew.a.run.app');
    assert.equal(mutations(r).length, 1, show(mutations(r)));
  });

  it("sets the custom role's permissions back when they drifted", () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    writeFileSync(join(sb.state, 'res', 'iam_roles_dropdeploy_controller'), 'permissions=run.services.get;run.services.delete\n');
    const r = ok(run(sb, BASE));
    const u = oneCall(r, 'iam', 'roles', 'update', 'dropdeploy_controller');
    assert.deepEqual(flag(u, 'permissions')?.split(','), CONTROLLER_PERMISSIONS);
    assert.deepEqual(mutations(r).length, 1, show(mutations(r)));
  });

  it('revokes the broader roles an older installer granted the controller', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    const legacy = ['roles/run.developer', 'roles/cloudbuild.builds.editor'].map((role) => `${role},${sa('controller')}`);
    writeFileSync(
      join(sb.state, 'bind', `projects_${P}`),
      readFileSync(join(sb.state, 'bind', `projects_${P}`), 'utf8') + legacy.join('\n') + '\n',
    );
    const r = ok(run(sb, BASE));
    assert.deepEqual(
      mutations(r)
        .map((c) => `${c.slice(0, 2).join(' ')} ${flag(c, 'role')}`)
        .sort(),
      ['projects remove-iam-policy-binding roles/cloudbuild.builds.editor', 'projects remove-iam-policy-binding roles/run.developer'],
    );
    assert.match(r.stdout, /revoke: roles\/run.developer for serviceAccount:dropdeploy-controller/);
  });

  it('redeploys a function an older installer labelled managed-by=dropdeploy, and says why', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    // What an older installer left: the label dropdeploy deploys over.
    writeFileSync(join(sb.state, 'res', 'functions_dropdeploy-api'), 'update-labels=managed-by=dropdeploy\n');
    const r = ok(run(sb, BASE));
    assert.deepEqual(
      mutations(r).map((c) => c.slice(0, 3).join(' ')),
      ['functions deploy dropdeploy-api'],
    );
    assert.match(r.stdout, /redeploy: function dropdeploy-api .*managed-by=dropdeploy/);
    const again = ok(run(sb, BASE));
    assert.deepEqual(mutations(again), [], show(mutations(again)));
  });

  it('redeploys the functions, and only them, with --redeploy', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    const r = ok(run(sb, [...BASE, '--redeploy'], {mode: 'all-exist'}));
    assert.deepEqual(
      mutations(r).map((c) => c.slice(0, 3).join(' ')),
      ['functions deploy dropdeploy-events', 'functions deploy dropdeploy-api', 'functions deploy dropdeploy-reconcile'],
    );
  });
});

describe('deploy/install.sh --dry-run', () => {
  it('runs no gcloud command at all and prints every command, pasteable', () => {
    const sb = sandbox();
    const r = ok(run(sb, [...BASE, '--dry-run']));
    assert.deepEqual(r.calls, []);
    assert.match(r.stdout, /^check: bucket gs:\/\/dropdeploy-sources-my-project \(would run: gcloud storage buckets describe/m);
    assert.match(r.stdout, /^ {2}gcloud functions deploy dropdeploy-events --gen2 .*--runtime=nodejs22/m);
    assert.match(r.stdout, /^ {2}gcloud eventarc triggers create dropdeploy-uploads /m);
    assert.match(
      r.stdout,
      /^ {2}RECONCILE_URL=\$\(gcloud functions describe dropdeploy-reconcile .*'--format=value\(serviceConfig.uri\)'\)$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}gcloud scheduler jobs create http dropdeploy-reconcile .*'--schedule=\* \* \* \* \*'.* --uri="\$RECONCILE_URL" --oidc-token-audience="\$RECONCILE_URL"$/m,
    );
    assert.match(r.stdout, /^ {2}gcloud pubsub subscriptions update "\$SUB" --ack-deadline=600 --dead-letter-topic=/m);
    assert.match(r.stdout, /^ {2}gcloud firestore databases create '--database=\(default\)'/m);
    assert.match(
      r.stdout,
      /^check: composite index releases \(root, state, updateTime\) \(would run: gcloud firestore indexes composite list '--database=\(default\)'/m,
    );
    assert.match(
      r.stdout,
      /^ {2}gcloud firestore indexes composite create '--database=\(default\)' --project=my-project --collection-group=releases --query-scope=collection-group /m,
    );
    assert.match(r.stdout, /none made/);
    // Why the build cache needs no grant of its own, said where the grants are.
    assert.match(
      r.stdout,
      /^note: roles\/artifactregistry\.writer on repository dropdeploy also covers the build cache: .*SERVICE\/cache:buildpacks/m,
    );
  });

  it('prints the uninstall plan without running anything', () => {
    const sb = sandbox();
    const r = ok(run(sb, [...BASE, '--uninstall', '--dry-run']));
    assert.deepEqual(r.calls, []);
    assert.match(r.stdout, /gcloud functions delete dropdeploy-events/);
    assert.doesNotMatch(r.stdout, /storage rm|buckets delete|repositories delete/);
  });
});

describe('deploy/install.sh --uninstall', () => {
  const deletes = (r: Run) =>
    mutations(r)
      .filter((c) => ['delete', 'rm'].includes(verbOf(c) ?? ''))
      .map((c) => c.slice(0, 4).join(' '));

  it('removes what it created in reverse order and keeps the bucket, repository and runtime account', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    const r = ok(run(sb, [...BASE, '--uninstall']));
    assert.deepEqual(deletes(r), [
      `eventarc triggers delete dropdeploy-uploads`,
      `eventarc triggers delete dropdeploy-builds`,
      `scheduler jobs delete dropdeploy-reconcile`,
      `functions delete dropdeploy-events --region=${R}`,
      `functions delete dropdeploy-api --region=${R}`,
      `functions delete dropdeploy-reconcile --region=${R}`,
      `pubsub subscriptions delete dropdeploy-dead-letter-sub`,
      `pubsub topics delete dropdeploy-status`,
      `pubsub topics delete dropdeploy-dead-letter`,
      `pubsub topics delete cloud-builds`,
      `iam roles delete dropdeploy_controller`,
      `iam roles delete dropdeploy_rollout_checks`,
      `iam roles delete dropdeploy_api_policy_reader`,
      `iam service-accounts delete dropdeploy-controller@${P}.iam.gserviceaccount.com`,
      `iam service-accounts delete dropdeploy-builder@${P}.iam.gserviceaccount.com`,
      `iam service-accounts delete dropdeploy-trigger@${P}.iam.gserviceaccount.com`,
      `iam service-accounts delete dropdeploy-scheduler@${P}.iam.gserviceaccount.com`,
    ]);
    // Project-level grants are removed before their accounts (and the custom role) go.
    const revoked = callsWith(r, 'projects', 'remove-iam-policy-binding')
      .map((c) => `${flag(c, 'role')} ${flag(c, 'member')}`)
      .sort();
    assert.deepEqual(revoked, [
      `${CONTROLLER_ROLE} ${sa('controller')}`,
      `${ROLLOUT_ROLE} ${sa('controller')}`,
      `roles/datastore.user ${sa('controller')}`,
      `roles/eventarc.eventReceiver ${sa('trigger')}`,
      `roles/logging.logWriter ${sa('builder')}`,
    ]);
    assert.equal(callsWith(r, 'storage', 'buckets', 'remove-iam-policy-binding').length, 2);
    assert.match(r.stdout, /keep: bucket gs:\/\/dropdeploy-sources-my-project and repository dropdeploy/);
    assert.match(r.stdout, /keep: Firestore database \(default\) and its index/);
    assert.deepEqual(callsWith(r, 'indexes', 'delete'), []);
    const again = ok(run(sb, [...BASE, '--uninstall']));
    assert.deepEqual(mutations(again), [], show(mutations(again)));
    assert.match(again.stdout, /nothing to do/);
  });

  it('undeletes its custom role when installed again (a deleted role keeps its id for weeks)', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    ok(run(sb, [...BASE, '--uninstall']));
    const r = ok(run(sb, BASE));
    oneCall(r, 'iam', 'roles', 'undelete', 'dropdeploy_controller');
    assert.deepEqual(callsWith(r, 'iam', 'roles', 'create'), []);
    const again = ok(run(sb, BASE));
    assert.deepEqual(mutations(again), [], show(mutations(again)));
  });

  it('keeps a cloud-builds topic that was there before', () => {
    const sb = sandbox(['pubsub topics cloud-builds']);
    const install = ok(run(sb, BASE));
    assert.match(install.stdout, /exists: topic cloud-builds/);
    const r = ok(run(sb, [...BASE, '--uninstall']));
    assert.ok(!deletes(r).some((d) => d.includes('cloud-builds')));
    assert.match(r.stdout, /keep: topic cloud-builds/);
  });

  it('deletes the bucket, repository and runtime account too with --purge', () => {
    const sb = sandbox();
    ok(run(sb, BASE));
    const r = ok(run(sb, [...BASE, '--uninstall', '--purge']));
    const d = deletes(r);
    assert.ok(d.includes(`storage rm --recursive gs://${BUCKET}`), d.join('\n'));
    assert.ok(d.includes(`artifacts repositories delete dropdeploy`), d.join('\n'));
    assert.ok(d.includes(`iam service-accounts delete dropdeploy-runtime@${P}.iam.gserviceaccount.com`), d.join('\n'));
  });
});

describe('deploy/install.sh prerequisites', () => {
  it('names a missing --project and runs nothing', () => {
    const sb = sandbox();
    const r = run(sb, ['--region', R]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--project is missing/);
    assert.deepEqual(r.calls, []);
  });

  it('names a missing --region', () => {
    const r = run(sandbox(), ['--project', P]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--region is missing/);
  });

  it('refuses to make the API public', () => {
    const r = run(sandbox(), [...BASE, '--invoker', 'allUsers']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /public/);
  });

  it('says so when gcloud is not on PATH', () => {
    const sb = sandbox();
    const empty = join(sb.dir, 'empty');
    mkdirSync(empty);
    const r = run(sb, BASE, {path: empty});
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /gcloud is not on PATH/);
  });

  it('says so when gcloud is not authenticated, before changing anything', () => {
    const sb = sandbox();
    const r = run(sb, BASE, {env: {STUB_NO_AUTH: '1'}});
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not authenticated.*gcloud auth login/);
    assert.deepEqual(mutations(r), []);
  });

  it('stops instead of creating when a check fails for another reason than NOT_FOUND', () => {
    const sb = sandbox();
    const denied = join(sb.dir, 'denied');
    mkdirSync(denied);
    // A gcloud whose describes are refused: the installer must not take "denied" for "absent".
    writeFileSync(
      join(denied, 'gcloud'),
      `#!/bin/sh
case " $* " in *" buckets describe "*) echo "ERROR: PERMISSION_DENIED: caller lacks permission" >&2; exit 1;; esac
exec "${sb.bin}/gcloud" "$@"
`,
    );
    chmodSync(join(denied, 'gcloud'), 0o755);
    const r = run(sb, BASE, {path: `${denied}:${process.env.PATH ?? ''}`});
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /could not check .*PERMISSION_DENIED/);
    assert.ok(!mutations(r).some((c) => verbOf(c) === 'create'), show(mutations(r)));
  });

  it('passes optional controller settings from the environment to the functions', () => {
    const sb = sandbox();
    const r = ok(
      run(sb, BASE, {
        env: {
          DROPDEPLOY_WAIT_SECONDS: '120',
          DROPDEPLOY_PREFIX: 'deploy/',
          DROPDEPLOY_SERVICE_MEMORY: '1Gi',
          DROPDEPLOY_ADMIN_PRINCIPALS: 'user:a@b.com,serviceAccount:ci@my-project.iam.gserviceaccount.com',
          DROPDEPLOY_CLOUD_BUILD_ENDPOINT: '127.0.0.1:9100',
        },
      }),
    );
    const env = envVars(oneCall(r, 'functions', 'deploy', 'dropdeploy-events'));
    assert.equal(env.DROPDEPLOY_WAIT_SECONDS, '120');
    // A value with commas goes through gcloud's alternate delimiter syntax intact.
    assert.equal(env.DROPDEPLOY_ADMIN_PRINCIPALS, 'user:a@b.com,serviceAccount:ci@my-project.iam.gserviceaccount.com');
    // Settings of the local stack are not for Google Cloud.
    assert.equal(env.DROPDEPLOY_CLOUD_BUILD_ENDPOINT, undefined);
    assert.equal(env.DROPDEPLOY_PREFIX, 'deploy/');
    assert.equal(env.DROPDEPLOY_SERVICE_MEMORY, '1Gi');
  });
});
