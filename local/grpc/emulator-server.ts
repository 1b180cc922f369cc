import * as grpc from '@grpc/grpc-js';
import {Status} from 'google-gax';
import {FaultPlan, requestResource, type FaultSpec} from './faults';
import {clonePlain, decodePlain, encodePlain, protoRoot, warmCodecs, type PlainMessage} from './protos';
import {RpcError} from './rpc-error';

/** One RPC as the emulator received it (faulted calls included). */
export interface RecordedCall {
  method: string;
  request: unknown;
  at: number;
  /** The gRPC code an injected fault answered with, if one did. */
  faulted?: number;
}

/** Handles one unary RPC: plain request in, plain response out; throw {@link RpcError} to fail it. */
export type UnaryHandler = (request: PlainMessage) => Promise<object> | object;

/** An HTTP rule in the shape of `google.api.HttpRule` (as protobufjs parses the option). */
export interface HttpRuleOption {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  body?: string;
  additional_bindings?: HttpRuleOption | HttpRuleOption[];
}

/** A gRPC service the emulator serves: its full proto name and the methods it implements. */
export interface ServedService {
  service: string;
  handlers: Record<string, UnaryHandler>;
  /**
   * HTTP rules that replace a method's own `google.api.http` annotation over REST, as a service
   * config's `http.rules` do for mixins (google.longrunning.Operations is served under each API's path).
   */
  httpRules?: Record<string, HttpRuleOption>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Built from the same Root as everything else instead of proto-loader, so requests arrive in
// exactly the stored plain form and Any payloads round-trip with one set of types.
function serviceDefinition(fullName: string, methods: string[]): grpc.ServiceDefinition {
  const service = protoRoot().lookupService(fullName);
  const definition: Record<string, grpc.MethodDefinition<PlainMessage, object>> = {};
  for (const name of methods) {
    const method = service.methods[name];
    if (!method) throw new Error(`${fullName} has no method ${name}`);
    method.resolve();
    const requestType = method.resolvedRequestType!.fullName.slice(1);
    const responseType = method.resolvedResponseType!.fullName.slice(1);
    definition[name] = {
      path: `/${fullName}/${name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: object) => encodePlain(requestType, value),
      requestDeserialize: (bytes: Buffer) => decodePlain(requestType, bytes),
      responseSerialize: (value: object) => encodePlain(responseType, value),
      responseDeserialize: (bytes: Buffer) => decodePlain(responseType, bytes),
    };
  }
  return definition;
}

/**
 * Shared plumbing of the local gRPC emulators: serving on 127.0.0.1, recording every call,
 * and scripted faults. Subclasses only say which services and handlers they have.
 */
export abstract class GrpcEmulator {
  /** Every RPC received, in order, including the ones answered by a fault. */
  readonly calls: RecordedCall[] = [];
  private readonly faults = new FaultPlan();
  private server: grpc.Server | undefined;
  private boundPort = 0;

  protected abstract servedServices(): ServedService[];

  /** Called by stop() so subclasses can cancel timers and stop what their runners started. */
  protected async onStop(): Promise<void> {}

  /** The port the emulator listens on (0 before start). */
  get port(): number {
    return this.boundPort;
  }

  /** Starts serving on 127.0.0.1 (port 0 picks a free one) and returns the port. */
  async start(port = 0): Promise<number> {
    if (this.server) throw new Error('emulator already started');
    const server = new grpc.Server();
    warmCodecs();
    for (const {service, handlers} of this.servedServices()) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const [name, handler] of Object.entries(handlers)) {
        implementation[name] = this.wrap(name, handler);
      }
      server.addService(serviceDefinition(service, Object.keys(handlers)), implementation);
    }
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    this.server = server;
    return this.boundPort;
  }

  /** Stops at once (in-flight calls are cut off) and frees the port. */
  async stop(): Promise<void> {
    await this.onStop();
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** The services and handlers served, for another transport (REST) to call the same way. */
  servedApis(): ServedService[] {
    return this.servedServices();
  }

  /**
   * Calls one method as a client's RPC would arrive: recorded in {@link calls}, hit by injected
   * faults. Resolves with the plain response or rejects with an {@link RpcError}.
   */
  invoke(method: string, handler: UnaryHandler, request: PlainMessage): Promise<object> {
    // Sub-millisecond, on the same clock as Date.now(), so benchmarks can time calls.
    const at = performance.timeOrigin + performance.now();
    const record: RecordedCall = {method, request: clonePlain(request), at};
    this.calls.push(record);
    const fault = this.faults.take(method, Math.random, requestResource(request));
    if (fault?.code) record.faulted = fault.code;
    const run = async () => {
      if (fault?.delayMs) await sleep(fault.delayMs);
      // After forwarding, the call's work is done and its answer lost.
      if (fault?.code && fault.afterForwarding) await handler(request);
      if (fault?.code) {
        throw new RpcError(fault.code, fault.message ?? `injected fault on ${method} (code ${fault.code})`);
      }
      return handler(request);
    };
    return run().catch((err: unknown) => {
      throw err instanceof RpcError ? err : new RpcError(Status.INTERNAL, `emulator error in ${method}: ${String(err)}`);
    });
  }

  /**
   * Runs one of the served methods by name, as {@link invoke} does: for a front end that speaks
   * another protocol over the same state (the Cloud Run v1 API). Rejects with an {@link RpcError}.
   */
  invokeMethod(method: string, request: object): Promise<object> {
    const handler = this.servedServices()
      .map((s) => s.handlers[method])
      .find(Boolean);
    if (!handler) return Promise.reject(new Error(`the emulator serves no method ${method}`));
    return this.invoke(method, handler, request as PlainMessage);
  }

  /** The recorded calls of one method, e.g. `callsTo('CreateBuild')`. */
  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Makes the next matching call(s) fail with `code` (or be delayed), without touching state unless `afterForwarding`. */
  injectFault(fault: FaultSpec): void {
    this.faults.add(fault);
  }

  /** Removes every fault that has not fired yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  private wrap(method: string, handler: UnaryHandler): grpc.handleUnaryCall<PlainMessage, object> {
    return (call, callback) => {
      this.invoke(method, handler, call.request).then(
        (response) => callback(null, response),
        (err: RpcError) => callback({code: err.code, details: err.message}),
      );
    };
  }
}
