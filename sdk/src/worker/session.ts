/**
 * One `WorkerService.Session` call: the queue of requests the transport pulls from, the abort
 * controller of the call, the server's welcome, the heartbeat timer, and the requests the
 * worker sends (WorkerHello, WorkerHeartbeat, RunResult, WorkerDrain).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  SessionRequestSchema,
  type RunLease,
  type RunResult,
  type SessionRequest,
  type SessionWelcome,
} from "../gen/metronome/v1/worker_service_pb.js";
import { RequestQueue } from "./request-queue.js";

/** The most results in one RunResults message (the server's limit). */
const MAX_BATCH = 1000;
/** The most leases in one heartbeat (the server's limit). */
const MAX_HEARTBEAT_LEASES = 10_000;
/**
 * The most bytes the worker puts in a message it makes of many parts (the results of a
 * RunResults, the leases of a heartbeat), counted as `resultBytes` and `leaseBytes` do: far under
 * the server's per-message limit (16 MiB, docs/protocol.md), and under the 320 KiB a session read
 * before that limit. A result alone is smaller (its JSON at most 64 KiB, an error's fields cut to
 * their limits), so every message the worker sends fits; more results or leases go out in more
 * messages.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Room for a message's tags, lengths and numbers around its strings. */
const FIELDS_BYTES = 48;

/** An upper bound of the encoded size of a lease in a repeated field. */
export function leaseBytes(lease: RunLease): number {
  return FIELDS_BYTES + Buffer.byteLength(lease.runId) + Buffer.byteLength(lease.leaseToken);
}

/** An upper bound of the encoded size of a result in RunResults. */
export function resultBytes(result: RunResult): number {
  let bytes = result.lease === undefined ? FIELDS_BYTES : leaseBytes(result.lease);
  const o = result.outcome;
  if (o.case === "success")
    bytes +=
      o.value.resultJson !== ""
        ? Buffer.byteLength(o.value.resultJson)
        : o.value.result === undefined
          ? 0
          : toBinary(ValueSchema, o.value.result).length;
  else if (o.case === "error")
    bytes +=
      Buffer.byteLength(o.value.message) +
      Buffer.byteLength(o.value.type) +
      Buffer.byteLength(o.value.stack);
  return bytes + FIELDS_BYTES;
}

/**
 * `items` cut into consecutive parts of at most `max` items whose `bytes` add up to at most
 * MAX_MESSAGE_BYTES (an item alone over it makes a part of its own); none when `items` is empty.
 */
export function partsWithin<T>(
  items: readonly T[],
  max: number,
  bytes: (item: T) => number,
): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let load = 0;
  for (const item of items) {
    const b = bytes(item);
    if (part.length > 0 && (part.length >= max || load + b > MAX_MESSAGE_BYTES)) {
      parts.push(part);
      part = [];
      load = 0;
    }
    part.push(item);
    load += b;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/** What a WorkerHello says about this worker. */
export interface Hello {
  readonly workerId: string;
  readonly handlers: readonly { readonly name: string; readonly concurrency: number }[];
  readonly maxConcurrency: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The leases still held from earlier sessions. */
  readonly resumedLeases: RunLease[];
}

export class Session {
  readonly queue = new RequestQueue<SessionRequest>();
  readonly abort = new AbortController();
  /** The server's SessionWelcome, once it came. */
  welcome: SessionWelcome | undefined = undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined = undefined;
  /** A heartbeat is queued and not pulled yet: another request is a no-op. */
  private heartbeatQueued = false;
  private drainSent = false;
  /** Results waiting to go out in one RunResults message (once the welcome allows it). */
  private pendingResults: RunResult[] | undefined = undefined;
  /** Their size, as `resultBytes` counts it. */
  private pendingBytes = 0;

  /** Queues the WorkerHello, the session's first request. */
  sendHello(hello: Hello): void {
    this.queue.push(
      create(SessionRequestSchema, {
        payload: {
          case: "hello",
          value: {
            workerId: hello.workerId,
            handlers: hello.handlers.map((h) => ({
              handler: h.name,
              maxConcurrency: h.concurrency,
            })),
            maxConcurrency: hello.maxConcurrency,
            labels: hello.labels,
            resumedLeases: hello.resumedLeases,
            acceptsEarlyAssignments: true,
            acceptsBatches: true,
          },
        },
      }),
    );
  }

  /**
   * Queues a result. When the server reads batches (SessionWelcome.accepts_batches), the
   * results of one event-loop turn, and those that come while the transport is still writing
   * earlier messages, go out together in one RunResults message (at most MAX_BATCH results and
   * MAX_MESSAGE_BYTES; the next ones start another).
   */
  sendResult(result: RunResult): void {
    if (this.welcome?.acceptsBatches !== true) {
      this.queue.push(create(SessionRequestSchema, { payload: { case: "result", value: result } }));
      return;
    }
    const bytes = resultBytes(result);
    if (
      this.pendingResults !== undefined &&
      this.pendingResults.length < MAX_BATCH &&
      this.pendingBytes + bytes <= MAX_MESSAGE_BYTES
    ) {
      this.pendingResults.push(result);
      this.pendingBytes += bytes;
      return;
    }
    const batch = [result];
    this.pendingResults = batch;
    this.pendingBytes = bytes;
    setImmediate(() => {
      this.queue.pushLazy(() => {
        if (this.pendingResults === batch) this.pendingResults = undefined;
        const [only] = batch;
        return batch.length === 1 && only !== undefined
          ? create(SessionRequestSchema, { payload: { case: "result", value: only } })
          : create(SessionRequestSchema, {
              payload: { case: "results", value: { results: batch } },
            });
      });
    });
  }

  /** Queues WorkerDrain, once per session. */
  sendDrain(): void {
    if (this.drainSent) return;
    this.drainSent = this.queue.push(
      create(SessionRequestSchema, { payload: { case: "drain", value: {} } }),
    );
  }

  /**
   * Queues a heartbeat unless one is waiting already, once welcomed. It is built when the
   * transport takes it, so it lists the leases `activeLeases()` gives at that moment. Leases over
   * MAX_MESSAGE_BYTES go in further heartbeats right behind it (the server extends the leases
   * each lists).
   */
  queueHeartbeat(activeLeases: () => RunLease[]): void {
    if (this.heartbeatQueued || this.welcome === undefined) return;
    this.heartbeatQueued = true;
    const queued = this.queue.pushLazyMany(() => {
      this.heartbeatQueued = false;
      const [first = [], ...rest] = partsWithin(activeLeases(), MAX_HEARTBEAT_LEASES, leaseBytes);
      return [heartbeatOf(first), ...rest.map(heartbeatOf)];
    });
    if (!queued) this.heartbeatQueued = false;
  }

  /** Queues a heartbeat every `intervalMs` until the session ends. */
  startHeartbeats(intervalMs: number, activeLeases: () => RunLease[]): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      this.queueHeartbeat(activeLeases);
    }, intervalMs);
  }

  /** Half-closes the stream after what is queued. */
  end(): void {
    this.queue.end();
  }

  /** Ends the session, whatever ended it: timers, queue, and the HTTP/2 stream if still open. */
  close(): void {
    clearInterval(this.heartbeatTimer);
    this.queue.close();
    this.abort.abort(); // releases the HTTP/2 stream if it is still open; no-op otherwise
  }
}

function heartbeatOf(activeLeases: RunLease[]): SessionRequest {
  return create(SessionRequestSchema, { payload: { case: "heartbeat", value: { activeLeases } } });
}
