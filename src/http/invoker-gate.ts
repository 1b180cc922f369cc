/**
 * Mode `cloud-run-iam` trusts tokens whose signature Cloud Run removed, which is right only while
 * Cloud Run IAM stands in front of the API. If the API's own service lets `allUsers` (or
 * `allAuthenticatedUsers`) invoke it, or has the invoker check switched off, anyone can send
 * such a token, forged. So the API reads its service's policy before it serves, once per
 * instance, and answers 503 with the reason while the service is public.
 */
import {describeError, DropdeployError} from '../errors';
import type {InvokerAccess} from '../ports';
import {ApiError} from './errors';

const PUBLIC_MEMBERS = new Set(['allusers', 'allauthenticatedusers']);
/** Predefined roles that hold run.routes.invoke (custom roles may too: their permissions are not visible here). */
const INVOKE_ROLES = new Set([
  'roles/run.invoker',
  'roles/run.servicesInvoker',
  'roles/run.admin',
  'roles/run.developer',
  'roles/editor',
  'roles/owner',
]);
const CUSTOM_ROLE = /^(projects|organizations)\/[^/]+\/roles\//;

/** Who lets anyone invoke the service, one entry each (empty: only named principals can). */
export function publicInvokers(access: InvokerAccess): string[] {
  const found = access.bindings.flatMap((b) =>
    INVOKE_ROLES.has(b.role) || CUSTOM_ROLE.test(b.role)
      ? b.members
          .filter((m) => PUBLIC_MEMBERS.has(m.toLowerCase()))
          .map((m) => `${m} (${b.role}${b.conditional ? ', with a condition' : ''})`)
      : [],
  );
  return access.invokerIamDisabled ? [...found, 'invokerIamDisabled (Cloud Run checks no caller)'] : found;
}

/** What to run to close what {@link publicInvokers} found. */
function remedy(found: string[], service: string, region: string, project: string): string {
  const fixes = found.map((f) => {
    const [member, role] = /^(\S+) \(([^,)]+)/.exec(f)!.slice(1);
    return member === 'invokerIamDisabled'
      ? `gcloud run services update ${service} --invoker-iam-check --region=${region} --project=${project}`
      : `gcloud run services remove-iam-policy-binding ${service} --region=${region} --project=${project} --member=${member} --role=${role}`;
  });
  return fixes.join('; ');
}

/**
 * The check, cached per instance: a private verdict holds for the instance's life (a service
 * made public later is caught by the next instance); a public verdict is re-read after
 * `recheckMs`, so removing the binding heals running instances without an IAM read per
 * request; a failed read is not cached at all.
 */
export class InvokerGate {
  private verified = false;
  private publicUntil = 0;
  private publicAnswer: ApiError | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly read: () => Promise<InvokerAccess>,
    /** `projects/P/locations/R/services/S`. */
    private readonly resource: string,
    private readonly now: () => Date,
    private readonly recheckMs = 5000,
  ) {}

  /** Resolves when Cloud Run IAM guards the service; else throws a 503 {@link ApiError} saying why. */
  async check(): Promise<void> {
    if (this.verified) return;
    if (this.publicAnswer && this.now().getTime() < this.publicUntil) throw this.publicAnswer;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const [, project, region, service] = /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([^/]+)$/.exec(this.resource) ?? [];
    let access: InvokerAccess;
    try {
      access = await this.read();
    } catch (err) {
      const code = err instanceof DropdeployError ? err.code : undefined;
      const hint =
        code === 'PERMISSION_DENIED'
          ? `; grant the API's service account run.services.getIamPolicy and run.services.get on ${service} (roles/run.viewer)`
          : code === 'NOT_FOUND'
            ? `; K_SERVICE=${service} must be a service in DROPDEPLOY_PROJECT=${project} and DROPDEPLOY_REGION=${region}, where the API runs`
            : '; retry';
      throw new ApiError(
        503,
        'UNAVAILABLE',
        `the API could not confirm that Cloud Run IAM guards it (reading ${this.resource}: ${describeError(err)})${hint}`,
        {'retry-after': '5'},
      );
    }
    const found = publicInvokers(access);
    if (!found.length) {
      this.verified = true;
      this.publicAnswer = undefined;
      return;
    }
    this.publicUntil = this.now().getTime() + this.recheckMs;
    this.publicAnswer = new ApiError(
      503,
      'UNAVAILABLE',
      `the API refuses to serve while its Cloud Run service ${this.resource} is public: ${found.join(', ')} lets anyone invoke it, so Cloud Run IAM no longer checks callers and mode cloud-run-iam would trust forged tokens; make it private again: ${remedy(found, service, region, project)}`,
      {'retry-after': String(Math.ceil(this.recheckMs / 1000))},
    );
    throw this.publicAnswer;
  }
}
