/**
 * Cloud Run IAM adapter: the {@link InvokerPolicy} port on `@google-cloud/run` (Admin API v2,
 * `Services.GetIamPolicy` and `GetService`). It reads what the policy and the service say;
 * which members make a service public is decided elsewhere (src/http/invoker-gate.ts).
 */
import type {ServicesClient} from '@google-cloud/run';
import {wrapAsync} from './grpc-errors';
import type {InvokerAccess, InvokerPolicy} from '../ports';

// The API waits for this check: no gax retries (the next request checks again), bounded time.
const CALL = {retry: null, timeout: 10_000} as const;

/** {@link InvokerPolicy} on the Cloud Run Admin API v2. */
export class CloudRunInvokerPolicy implements InvokerPolicy {
  constructor(
    private readonly client: ServicesClient,
    private readonly projectId: string,
    private readonly region: string,
  ) {}

  async read(service: string): Promise<InvokerAccess> {
    const name = `projects/${this.projectId}/locations/${this.region}/services/${service}`;
    const [[policy], [svc]] = await Promise.all([
      wrapAsync(`Cloud Run GetIamPolicy of ${name}`, () => this.client.getIamPolicy({resource: name}, CALL as never)),
      wrapAsync(`Cloud Run GetService ${name}`, () => this.client.getService({name}, CALL as never)),
    ]);
    return {
      bindings: (policy.bindings ?? []).map((b) => ({role: b.role ?? '', members: [...(b.members ?? [])], conditional: !!b.condition})),
      invokerIamDisabled: svc.invokerIamDisabled === true,
    };
  }
}
