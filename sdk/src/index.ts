/**
 * The Metronome TypeScript SDK: the worker (register handlers, execute runs) and the types it
 * uses. The generated protobuf code stays under `gen/`.
 */
export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
export {
  Worker,
  type ConnectedEvent,
  type DisconnectedEvent,
  type Handler,
  type HandlerOptions,
  type RunContext,
  type StopOptions,
  type WorkerEvents,
  type WorkerOptions,
} from "./worker.js";
export { NonRetryableError, RunAbortedError, type AbortKind } from "./errors.js";
export type { LogFn, WorkerLogger } from "./logger.js";
export { SDK_NAME, SDK_VERSION } from "./version.js";
