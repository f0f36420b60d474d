/**
 * One `WorkerService.Session` call: the queue of requests the transport pulls from, the abort
 * controller of the call, the server's welcome, the heartbeat timer, and the requests the
 * worker sends (WorkerHello, WorkerHeartbeat, RunResult, WorkerDrain).
 */
import { create } from "@bufbuild/protobuf";
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
   * earlier messages, go out together in one RunResults message (at most MAX_BATCH).
   */
  sendResult(result: RunResult): void {
    if (this.welcome?.acceptsBatches !== true) {
      this.queue.push(create(SessionRequestSchema, { payload: { case: "result", value: result } }));
      return;
    }
    if (this.pendingResults !== undefined && this.pendingResults.length < MAX_BATCH) {
      this.pendingResults.push(result);
      return;
    }
    const batch = [result];
    this.pendingResults = batch;
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
   * transport takes it, so it lists the leases `activeLeases()` gives at that moment.
   */
  queueHeartbeat(activeLeases: () => RunLease[]): void {
    if (this.heartbeatQueued || this.welcome === undefined) return;
    this.heartbeatQueued = true;
    const queued = this.queue.pushLazy(() => {
      this.heartbeatQueued = false;
      return create(SessionRequestSchema, {
        payload: { case: "heartbeat", value: { activeLeases: activeLeases() } },
      });
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
