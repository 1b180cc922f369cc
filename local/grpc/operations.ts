import {packAny, clonePlain, type Plain} from './protos';
import {rpc} from './rpc-error';
import type {ServedService} from './emulator-server';

/** How an operation ended: with a response message, or with a google.rpc.Status error. */
export type OperationOutcome =
  | {response: {type: string; value: Plain}}
  | {error: {code: number; message: string; details?: Plain[]}};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The google.longrunning.Operations service over an in-memory map. Emulators create and
 * finish operations; clients poll them (`operation.promise()` polls GetOperation).
 */
export class OperationStore {
  private readonly ops = new Map<string, Plain>();

  /** @param onCancel called for CancelOperation on a running operation (e.g. to cancel a build). */
  constructor(private readonly onCancel?: (name: string) => void) {}

  /** Records a running operation whose metadata is `metadata` packed as `metadataType`. */
  start(name: string, metadataType: string, metadata: Plain): Plain {
    const op = {name, metadata: packAny(metadataType, metadata), done: false};
    this.ops.set(name, op);
    return clonePlain(op);
  }

  /** Replaces the metadata of an operation, as the real services do while it progresses. */
  setMetadata(name: string, metadataType: string, metadata: Plain): void {
    const op = this.ops.get(name);
    if (op) op.metadata = packAny(metadataType, metadata);
  }

  /** Marks an operation done with its response or error. */
  finish(name: string, outcome: OperationOutcome): Plain | undefined {
    const op = this.ops.get(name);
    if (!op) return undefined;
    op.done = true;
    delete op.response;
    delete op.error;
    if ('response' in outcome) op.response = packAny(outcome.response.type, outcome.response.value);
    else op.error = outcome.error;
    return clonePlain(op);
  }

  /** A copy of one operation, for assertions. */
  get(name: string): Plain | undefined {
    const op = this.ops.get(name);
    return op && clonePlain(op);
  }

  private mustGet(name: string): Plain {
    const op = this.ops.get(name);
    if (!op) throw rpc.notFound(`Operation '${name}' not found.`);
    return op;
  }

  /** The served `google.longrunning.Operations` service. */
  service(): ServedService {
    return {
      service: 'google.longrunning.Operations',
      handlers: {
        GetOperation: (req) => clonePlain(this.mustGet(req.name ?? '')),
        ListOperations: (req) => ({
          operations: [...this.ops.values()]
            .filter((op) => !req.name || op.name.startsWith(req.name))
            .map((op) => clonePlain(op)),
        }),
        DeleteOperation: (req) => {
          this.mustGet(req.name ?? '');
          this.ops.delete(req.name);
          return {};
        },
        CancelOperation: (req) => {
          const op = this.mustGet(req.name ?? '');
          if (!op.done) this.onCancel?.(op.name);
          return {};
        },
        WaitOperation: async (req) => {
          const timeoutMs = req.timeout ? Number(req.timeout.seconds ?? 0) * 1000 : 60_000;
          const deadline = Date.now() + timeoutMs;
          while (!this.mustGet(req.name ?? '').done && Date.now() < deadline) await sleep(20);
          return clonePlain(this.mustGet(req.name ?? ''));
        },
      },
    };
  }
}
