import {messageField, numberField, stringField} from './fields';
import {packAny, clonePlain, type PackedAny, type PlainMessage} from './protos';
import {rpc} from './rpc-error';
import type {HttpRuleOption, ServedService} from './emulator-server';

/** How an operation ended: with a response message, or with a google.rpc.Status error. */
export type OperationOutcome = {response: {type: string; value: object}} | {error: OperationError};

/** A google.rpc.Status, as a failed operation carries it. */
export type OperationError = {code: number; message: string; details?: PlainMessage[]};

/** A google.longrunning.Operation in plain form. */
export type Operation = {name: string; metadata: PackedAny; done: boolean; response?: PackedAny; error?: OperationError};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The google.longrunning.Operations service over an in-memory map. Emulators create and
 * finish operations; clients poll them (`operation.promise()` polls GetOperation).
 */
export class OperationStore {
  private readonly ops = new Map<string, Operation>();

  /** @param onCancel called for CancelOperation on a running operation (e.g. to cancel a build). */
  constructor(private readonly onCancel?: (name: string) => void) {}

  /** Records a running operation whose metadata is `metadata` packed as `metadataType`. */
  start(name: string, metadataType: string, metadata: object): Operation {
    const op: Operation = {name, metadata: packAny(metadataType, metadata), done: false};
    this.ops.set(name, op);
    return clonePlain(op);
  }

  /** Replaces the metadata of an operation, as the real services do while it progresses. */
  setMetadata(name: string, metadataType: string, metadata: object): void {
    const op = this.ops.get(name);
    if (op) op.metadata = packAny(metadataType, metadata);
  }

  /** Marks an operation done with its response or error. */
  finish(name: string, outcome: OperationOutcome): Operation | undefined {
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
  get(name: string): Operation | undefined {
    const op = this.ops.get(name);
    return op && clonePlain(op);
  }

  private mustGet(name: string): Operation {
    const op = this.ops.get(name);
    if (!op) throw rpc.notFound(`Operation '${name}' not found.`);
    return op;
  }

  /**
   * The served `google.longrunning.Operations` service; `httpRules` are the REST paths the API's
   * service config gives it (its client library's `lroOptions.httpRules`), instead of the proto's `/v1/{name=operations/**}`.
   */
  service(httpRules?: Record<string, HttpRuleOption>): ServedService {
    return {
      service: 'google.longrunning.Operations',
      httpRules,
      handlers: {
        GetOperation: (req: PlainMessage) => clonePlain(this.mustGet(stringField(req, 'name'))),
        ListOperations: (req: PlainMessage) => {
          const prefix = stringField(req, 'name');
          return {
            operations: [...this.ops.values()].filter((op) => !prefix || op.name.startsWith(prefix)).map((op) => clonePlain(op)),
          };
        },
        DeleteOperation: (req: PlainMessage) => {
          const name = stringField(req, 'name');
          this.mustGet(name);
          this.ops.delete(name);
          return {};
        },
        CancelOperation: (req: PlainMessage) => {
          const op = this.mustGet(stringField(req, 'name'));
          if (!op.done) this.onCancel?.(op.name);
          return {};
        },
        WaitOperation: async (req: PlainMessage) => {
          const name = stringField(req, 'name');
          const timeout = messageField(req, 'timeout');
          const timeoutMs = timeout ? numberField(timeout, 'seconds') * 1000 : 60_000;
          const deadline = Date.now() + timeoutMs;
          while (!this.mustGet(name).done && Date.now() < deadline) await sleep(20);
          return clonePlain(this.mustGet(name));
        },
      },
    };
  }
}
