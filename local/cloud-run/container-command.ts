/**
 * What a revision's container runs, decided as Cloud Run decides it (pure: no I/O). The
 * container's `command` replaces the image's ENTRYPOINT and its `args` replace the image's CMD
 * (google.cloud.run.v2.Container; the same rule as a Kubernetes container), and env values from
 * Secret Manager are named here and read by the runner.
 */
import type {Container} from './messages';

/** The parts of an image's config that give its default argv. */
export interface ImageCommand {
  /** ENTRYPOINT; an image built by buildpacks has its whole command here. */
  entrypoint: string[];
  /** CMD: the default arguments after the entrypoint (the whole command when there is no entrypoint). */
  cmd?: string[];
}

/**
 * The argv a container starts with. Neither set: ENTRYPOINT + CMD. `args` only: ENTRYPOINT +
 * args (CMD dropped). `command` set: command + args, the image's ENTRYPOINT and CMD both ignored.
 * Empty repeated fields count as unset, as in proto3.
 */
export function containerArgv(image: ImageCommand, container: Pick<Container, 'command' | 'args'>): string[] {
  const command = container.command ?? [];
  const args = container.args ?? [];
  if (command.length > 0) return [...command, ...args];
  return [...image.entrypoint, ...(args.length > 0 ? args : (image.cmd ?? []))];
}

/** An environment variable whose value comes from a Secret Manager secret version. */
export interface SecretEnv {
  /** The variable. */
  name: string;
  /** The secret as the service names it: `NAME` or `projects/P/secrets/NAME`. */
  secret: string;
  /** `latest`, a version number or an alias. */
  version: string;
}

/** The container's env values taken from secrets (`valueSource.secretKeyRef`). */
export function secretEnv(container: Pick<Container, 'env'>): SecretEnv[] {
  const out: SecretEnv[] = [];
  for (const e of container.env ?? []) {
    if (!e.name || e.valueSource === undefined) continue;
    const ref = e.valueSource.secretKeyRef as {secret?: string; version?: string} | undefined;
    out.push({name: e.name, secret: ref?.secret ?? '', version: ref?.version || 'latest'});
  }
  return out;
}

// Secret Manager's rule for secret ids: letters, digits, `_` and `-`, at most 255.
const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** The secret's id (`projects/P/secrets/NAME` → `NAME`), or undefined when it is not a valid secret name. */
export function secretId(secret: string): string | undefined {
  const id = /^projects\/[^/]+\/secrets\/([^/]+)$/.exec(secret)?.[1] ?? secret;
  return SECRET_ID.test(id) ? id : undefined;
}

/**
 * Why a revision cannot start locally with this secret (it is not in the local secrets folder,
 * or names no valid secret), in the words of Cloud Run's not-ready message.
 */
export function secretProblem(revision: string, ref: SecretEnv, file: string | undefined): string {
  const what =
    `Revision '${revision}' is not ready and cannot serve traffic. Environment variable ${ref.name} takes its value ` +
    `from Secret Manager secret '${ref.secret}' (version ${ref.version})`;
  if (!secretId(ref.secret)) return `${what}, which is not a valid secret name: use NAME or projects/PROJECT/secrets/NAME.`;
  if (!file) return `${what}, and this local Cloud Run has no secrets folder to read it from.`;
  return (
    `${what}, which the local stack cannot read from Google. Put its value in ${file} ` +
    '(the whole content of the file is the value, for every version), then start a new revision: upload the source again.'
  );
}
