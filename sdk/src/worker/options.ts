/**
 * The worker's options and handler registrations, validated when they are given: what
 * `new Worker()`, `register()` and `start()` refuse, with the rules of job.proto and
 * worker_service.proto (identifiers, limits, labels).
 */
import { hostname } from "node:os";
import type { Transport } from "@connectrpc/connect";
import type { Handler } from "../handlers.js";
import { defaultLogger, type WorkerLogger } from "../logger.js";
import type { TlsOptions } from "../transport.js";
import { SDK_NAME, SDK_VERSION } from "../version.js";

/** Options of `Worker.register`. */
export interface HandlerOptions {
  /** The most runs of this handler executed at once (1 to 10,000). Unset: only the total. */
  concurrency?: number | undefined;
}

/** Options of `new Worker()`. Exactly one of `baseUrl` and `transport` is required. */
export interface WorkerOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (gRPC over HTTP/2; `https://` for TLS). */
  baseUrl?: string | undefined;
  /** A ready transport instead of `baseUrl` (custom TLS, interceptors, ...); must be gRPC or
   * Connect over HTTP/2, since the session is a bidirectional stream. Not closed by `stop()`. */
  transport?: Transport | undefined;
  /** Sent as `authorization: Bearer <token>`. */
  token?: string | undefined;
  /** TLS of an `https://` `baseUrl`: the server's CA, a client certificate (mTLS). */
  tls?: TlsOptions | undefined;
  /** Shown on runs and events; default `<hostname>-<pid>`. Empty: the server generates one. */
  workerId?: string | undefined;
  /** The most runs executed at once over all handlers (0 to 10,000; 0: only the per-handler
   * limits, which every handler then needs). Default 10. */
  maxConcurrency?: number | undefined;
  /** Informational labels shown in worker events, merged over the defaults `host`, `pid`, `sdk`
   * and `sdk_version` (one given as `undefined` keeps its default). At most 32 in all, keys up
   * to 63 characters, values up to 255. */
  labels?: Record<string, string | undefined> | undefined;
  /** Where the worker logs (pino, console, ...). Default: pino at level info on stdout (JSON
   * lines; one readable line per entry when stdout is a terminal). */
  logger?: WorkerLogger | undefined;
  /** Delays between reconnection attempts: exponential backoff with full jitter, reset by each
   * successful SessionWelcome. */
  reconnect?:
    | {
        /** The first attempt's maximum delay. Default 200 ms. */
        initialDelayMs?: number | undefined;
        /** The largest delay. Default 10 s. */
        maxDelayMs?: number | undefined;
      }
    | undefined;
}

/** Options of `Worker.stop`. */
export interface StopOptions {
  /** How long running handlers may take before their abort signal fires. Default 30 s;
   * `Infinity` waits for them without aborting. */
  graceMs?: number | undefined;
}

/** A registered handler. */
export interface HandlerEntry {
  readonly name: string;
  readonly fn: Handler;
  /** 0: no per-handler limit. */
  readonly concurrency: number;
}

/** The validated options (the connection aside). */
export interface WorkerConfig {
  /** As configured; "" lets the server choose. */
  readonly workerId: string;
  /** 0: only the per-handler limits. */
  readonly maxConcurrency: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly log: WorkerLogger;
}

/** Identifier rules of job.proto (handler names, worker ids). */
const IDENTIFIER = /^[A-Za-z0-9._:-]{1,191}$/;
const MAX_LIMIT = 10_000;
const MAX_HANDLERS = 1_000;
const MAX_LABELS = 32;
const DEFAULT_MAX_CONCURRENCY = 10;
const DEFAULT_INITIAL_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 10_000;

/** The options of `new Worker()` checked, with their defaults; throws on an invalid one. */
export function workerConfig(options: WorkerOptions): WorkerConfig {
  const workerId = options.workerId ?? defaultWorkerId();
  if (workerId !== "" && !IDENTIFIER.test(workerId)) {
    throw new TypeError(
      `Worker: invalid workerId ${JSON.stringify(workerId)} (1 to 191 of A-Z a-z 0-9 . _ : -)`,
    );
  }
  const maxConcurrency = options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  checkLimit("maxConcurrency", maxConcurrency, 0);
  const labels = defaultLabels();
  // A label given as undefined (an unset variable) keeps its default, as if left out.
  for (const [key, value] of Object.entries(options.labels ?? {}))
    if (value !== undefined) labels[key] = value;
  checkLabels(labels);
  const initialDelayMs = options.reconnect?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  if (!(initialDelayMs > 0) || !(maxDelayMs >= initialDelayMs)) {
    throw new RangeError("Worker: reconnect needs 0 < initialDelayMs <= maxDelayMs");
  }
  return {
    workerId,
    maxConcurrency,
    labels,
    initialDelayMs,
    maxDelayMs,
    log: options.logger ?? defaultLogger(),
  };
}

/** A registration checked against the rules and the handlers registered already. */
export function handlerEntry(
  name: string,
  fn: Handler,
  options: HandlerOptions,
  registered: ReadonlyMap<string, HandlerEntry>,
): HandlerEntry {
  if (!IDENTIFIER.test(name)) {
    throw new TypeError(
      `Worker.register: invalid handler name ${JSON.stringify(name)} (1 to 191 of A-Z a-z 0-9 . _ : -)`,
    );
  }
  if (registered.has(name)) {
    throw new Error(`Worker.register: handler "${name}" is already registered`);
  }
  if (registered.size >= MAX_HANDLERS) {
    throw new RangeError(`Worker.register: at most ${MAX_HANDLERS} handlers`);
  }
  const concurrency = options.concurrency ?? 0;
  if (options.concurrency !== undefined) checkLimit("concurrency", concurrency, 1);
  return { name, fn, concurrency };
}

/** Why the worker cannot start with these handlers; undefined when it can. */
export function cannotStart(
  handlers: ReadonlyMap<string, HandlerEntry>,
  maxConcurrency: number,
): Error | undefined {
  if (handlers.size === 0) return new Error("Worker.start: register at least one handler");
  if (maxConcurrency !== 0) return undefined;
  const unlimited = [...handlers.values()].filter((h) => h.concurrency === 0);
  if (unlimited.length === 0) return undefined;
  return new Error(
    `Worker.start: with maxConcurrency 0 every handler needs a concurrency (missing: ${unlimited
      .map((h) => h.name)
      .join(", ")})`,
  );
}

function checkLimit(what: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min || n > MAX_LIMIT) {
    throw new RangeError(`Worker: ${what} must be an integer from ${min} to ${MAX_LIMIT}`);
  }
}

function checkLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new RangeError(`Worker: at most ${MAX_LABELS} labels`);
  for (const [key, value] of entries) {
    if (key === "" || key.length > 63) {
      throw new RangeError(`Worker: label key ${JSON.stringify(key)} must be 1 to 63 characters`);
    }
    if (value.length > 255) {
      throw new RangeError(`Worker: label ${key} is longer than 255 characters`);
    }
  }
}

/** `<hostname>-<pid>`, with characters outside the identifier rules replaced. */
function defaultWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, "-")
      .slice(0, 170) || "worker";
  return `${host}-${process.pid}`;
}

function defaultLabels(): Record<string, string> {
  return {
    host: hostname().slice(0, 255),
    pid: String(process.pid),
    sdk: SDK_NAME,
    sdk_version: SDK_VERSION,
  };
}
