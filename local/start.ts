/**
 * `npm start`: the whole dropdeploy pipeline on this machine, no cloud project needed.
 * Drop an archive (or `npm run drop -- examples/hello-app`) and watch it become a URL.
 */
import {rmSync} from 'node:fs';
import {join, relative} from 'node:path';
import {prettyPrinter} from '../src/log';
import {REPO_ROOT} from './repo-root';
import {LocalStack} from './stack';
import {parseStartArgs, StartHelp, StartUsageError, type StartOptions} from './start-args';
import {StackLockedError} from './state/lock';
import {StateFileError} from './state/state-file';
import {formatStatus} from './status-printer';
import {exportLines} from './gcloud-env';

const color = process.stdout.isTTY === true;
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const args: StartOptions = parseArgsOrExit(process.argv.slice(2));
const verbose = args.verbose;

const pretty = prettyPrinter(color);

/** Prints a controller log line (JSON) with pino-pretty; quiet below NOTICE unless --verbose. */
function printLog(line: string): void {
  if (!line.startsWith('{')) {
    if (verbose || /^(bucket|eventarc|stack|--fresh):/.test(line)) console.log(dim(line));
    return;
  }
  let severity: unknown;
  try {
    severity = (JSON.parse(line) as {severity?: unknown}).severity;
  } catch {
    console.log(dim(line));
    return;
  }
  if (verbose || severity === 'NOTICE' || severity === 'WARNING' || severity === 'ERROR') console.log(pretty(line));
}

/** The flags, or exit: 0 after help, 2 with the usage for a line that cannot run. */
function parseArgsOrExit(argv: string[]): StartOptions {
  try {
    return parseStartArgs(argv);
  } catch (err) {
    if (err instanceof StartHelp) {
      process.stdout.write(err.text);
      process.exit(0);
    }
    if (err instanceof StartUsageError) {
      console.error(`npm start: ${err.message}

${err.usage}`);
      process.exit(2);
    }
    throw err;
  }
}

/** DROPDEPLOY_BUILD_CACHE_MB: the dependency cache's size budget in MiB (default 2048). */
function buildCacheMaxBytes(): number | undefined {
  const raw = process.env.DROPDEPLOY_BUILD_CACHE_MB;
  if (raw === undefined || raw === '') return undefined;
  const mb = Number(raw);
  if (!Number.isInteger(mb) || mb < 0) {
    console.error(`DROPDEPLOY_BUILD_CACHE_MB: "${raw}" is not a whole number of MiB (0 keeps nothing cached)`);
    process.exit(2);
  }
  return mb * 1024 * 1024;
}

async function main(): Promise<void> {
  const problem = LocalStack.prerequisiteProblem();
  if (problem) {
    console.error(`npm start needs the Pub/Sub and Firestore emulators, but ${problem}.`);
    process.exit(1);
  }
  // DROPDEPLOY_LOCAL_DIR lets tests (and a second stack) keep their state elsewhere.
  const root = process.env.DROPDEPLOY_LOCAL_DIR ?? join(REPO_ROOT, '.dropdeploy');
  console.log(dim('starting the local stack: Pub/Sub and Firestore emulators, Cloud Build and Cloud Run emulators, the controller …'));
  const t0 = Date.now();
  const stack = await LocalStack.start({
    root,
    onLog: printLog,
    onStatus: (m) => console.log(formatStatus(m, color)),
    notifications: args.notifications,
    reconcileSeconds: args.reconcileSeconds,
    fresh: args.fresh,
    clearBuildCache: args.clearBuildCache,
    buildCacheMaxBytes: buildCacheMaxBytes(),
  });
  const i = stack.info;
  const rel = relative(process.cwd(), i.bucketDir) || i.bucketDir;
  console.log(`
${bold('dropdeploy is running locally')} ${dim(`(ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`)}

  Dashboard:           ${bold(`${i.apiUrl}/`)}      (open it in a browser: services, releases, rollback)
  Drop an archive:     ${bold('npm run drop -- examples/hello-app')}      (another terminal)
                       or copy <service>/<name>.tar.gz|.tgz|.zip into ${rel}/ (write elsewhere, then mv)
  A function:          npm run drop -- examples/hello-function --function helloHttp
  Controller events:   ${i.eventUrl}
  Controller API:      ${i.apiUrl}
  Reconciler:          ${i.reconcileUrl}  (runs every ${args.reconcileSeconds} s)
  Cloud Build (gRPC):  ${i.cloudBuildEndpoint}      Cloud Run (gRPC): ${i.cloudRunEndpoint}
  Monitoring (gRPC):   ${i.monitoringEndpoint}  (ListTimeSeries of the services' request metrics)
  The same over REST:  ${i.cloudBuildRestUrl}  ${i.cloudRunRestUrl}  ${i.monitoringRestUrl}
  Pub/Sub emulator:    ${i.pubsubEmulatorHost}      Firestore emulator: ${i.firestoreEmulatorHost}
  Everything above:    ${relative(process.cwd(), join(root, 'local.json'))}
  Dependency cache:    ${relative(process.cwd(), join(root, 'build-cache'))}/  (npm start -- --clear-build-cache empties it)

gcloud against this stack (gcloud builds list, gcloud run services list, gcloud storage ls gs://${i.bucket}/): in another shell,
${exportLines(i.gcloud)
  .map((l) => `  ${l}`)
  .join('\n')}

Status events appear below as they arrive. Ctrl-C stops everything; releases and services are kept
for the next npm start (npm start -- --fresh starts empty).
`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(dim(`\n${signal}: stopping every process of the local stack …`));
    await stack.stop();
    rmSync(join(root, 'local.json'), {force: true});
    console.log(dim('stopped.'));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  // A refusal the user can act on needs no stack trace.
  const known = err instanceof StackLockedError || err instanceof StateFileError;
  console.error(`npm start failed: ${known ? err.message : ((err as Error).stack ?? String(err))}`);
  process.exit(1);
});
