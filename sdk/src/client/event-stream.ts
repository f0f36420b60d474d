/**
 * `EventStream`: an async iterable over EventService.Subscribe that resumes by itself after a
 * disconnect from the last cursor it saw, so that it yields every matching event once, in
 * order, across reconnections and server restarts.
 */
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { EventService, SubscribeResponse } from "../gen/metronome/v1/event_service_pb.js";
import { retryDelayOf, toMetronomeError } from "../rpc-errors.js";
import type { WorkerLogger } from "../logger.js";
import { eventFromProto, typeFilter, type EventFilter, type MetronomeEvent } from "./events.js";

export interface SubscribeOptions {
  readonly filter?: EventFilter | undefined;
  /**
   * Start after this cursor (every later matching event, then live ones); default: from now,
   * where the log is when the server starts the subscription (an attempt that fails before its
   * first message leaves no position to resume from: the next one starts from now again).
   */
  readonly afterCursor?: bigint | number | string | undefined;
  /**
   * Ends the stream (the iteration returns); already aborted, the stream is closed from the
   * start. Its listener on the signal is removed when the stream ends.
   */
  readonly signal?: AbortSignal | undefined;
  /** Delays between reconnection attempts (exponential backoff with full jitter). */
  readonly reconnect?:
    | { readonly initialDelayMs?: number | undefined; readonly maxDelayMs?: number | undefined }
    | undefined;
}

/**
 * Errors a reconnection cannot fix: the stream ends with them. OUT_OF_RANGE means events after
 * the cursor were deleted by the server's retention (resuming would skip them).
 */
const FATAL = new Set<Code>([
  Code.InvalidArgument,
  Code.OutOfRange,
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.Unimplemented,
]);

/**
 * A resumable event stream: iterate it with `for await`. After a disconnect (the server
 * restarted, the network failed) it subscribes again after the last cursor it saw — from an
 * event or a checkpoint — so the iteration sees each matching event once, in cursor order.
 * `cursor` is where to resume in a later process (persist it with your own state).
 */
export class EventStream implements AsyncIterable<MetronomeEvent> {
  private position: bigint | undefined;
  private isLive = false;
  private readonly controller = new AbortController();
  private iterating = false;

  constructor(
    private readonly client: Client<typeof EventService>,
    private readonly options: SubscribeOptions,
    private readonly headers: Readonly<Record<string, string>> = {},
    /** @internal Called once when the stream is closed or its iteration ends. */
    private onEnd?: (() => void) | undefined,
    /** @internal Told when the stream is interrupted and subscribes again (the client's logger). */
    private readonly log?: WorkerLogger | undefined,
  ) {
    if (options.afterCursor !== undefined) {
      const c = BigInt(options.afterCursor);
      if (c < 0n) throw new RangeError("afterCursor must not be negative");
      this.position = c;
    }
    const signal = options.signal;
    if (signal?.aborted === true) {
      // Closed before it began: nothing to subscribe to, no listener to leave on the signal.
      this.controller.abort();
      this.ended = true;
      this.onEnd = undefined;
    } else if (signal !== undefined) {
      const onAbort = (): void => {
        this.close();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // A long-lived signal shared by many streams must not keep the ended ones reachable.
      this.detachSignal = () => {
        signal.removeEventListener("abort", onAbort);
      };
    }
  }

  /** Removes the listener on `options.signal` (once the stream is closed or has ended). */
  private detachSignal: (() => void) | undefined;

  /**
   * The position of the last event handed to the iteration (or of the last message, which may
   * move it on past events that did not match): resume after it. It moves when an event is
   * handed out, before the loop body has handled it; a consumer that must not skip an event it
   * failed to handle saves `event.cursor` itself once it has handled the event. Undefined before
   * the first message.
   */
  get cursor(): bigint | undefined {
    return this.position;
  }

  /** Whether the stored backlog has been delivered (the stream follows live events). */
  get live(): boolean {
    return this.isLive;
  }

  /**
   * Whether a live message has been handed out: `live` once, and it stays true after a
   * reconnection (which catches up again). False while the events of the first live message
   * are handed out, as `live`. @internal (the listeners of a scheduler)
   */
  get hasBeenLive(): boolean {
    return this.wasLive;
  }

  private wasLive = false;

  private readonly liveWaiters = new Set<Waiter>();
  /** The iteration has ended (closed, or a fatal error). */
  private ended = false;
  /** The error the iteration ended with (a fatal one), if it did. */
  private failure: { readonly error: Error } | undefined;

  /**
   * Resolves once the stream is live: the backlog was delivered and events committed from now
   * on will follow (while it is being iterated). Resolves too when the stream is closed or its
   * iteration ends without an error; rejects with the error the iteration ended with (e.g.
   * `PermissionDeniedError`), also when called after it: a stream that failed is never live.
   */
  whenLive(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.isLive || this.ended || this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => this.liveWaiters.add({ resolve, reject }));
  }

  /** Settles the `whenLive()` promises: resolved, or rejected with the stream's failure. */
  private releaseWaiters(): void {
    const failure = this.failure;
    for (const w of this.liveWaiters) {
      if (failure === undefined) w.resolve();
      else w.reject(failure.error);
    }
    this.liveWaiters.clear();
  }

  private get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /** Ends the iteration (an event being handed out is the last one). */
  close(): void {
    this.controller.abort();
    this.releaseWaiters();
    this.notifyEnd();
  }

  /** Tells `onEnd`, once, and lets go of the signal. */
  private notifyEnd(): void {
    this.detachSignal?.();
    this.detachSignal = undefined;
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.();
  }

  private request() {
    const f = this.options.filter ?? {};
    return {
      filter: {
        schedulers: [...(f.schedulers ?? [])],
        jobIds: [...(f.jobIds ?? [])],
        handlers: [...(f.handlers ?? [])],
        types: typeFilter(f.types),
      },
      start:
        this.position === undefined
          ? { case: "fromNow" as const, value: true }
          : { case: "afterCursor" as const, value: this.position },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<MetronomeEvent> {
    if (this.iterating) throw new Error("an EventStream can be iterated once");
    this.iterating = true;
    return this.iterate();
  }

  private async *iterate(): AsyncGenerator<MetronomeEvent> {
    try {
      yield* this.follow();
    } catch (err) {
      this.failure = { error: err instanceof Error ? err : new Error(String(err)) };
      throw err;
    } finally {
      this.ended = true;
      this.notifyEnd();
      // Whoever waits for the stream to be live stops waiting when it ends (told the error
      // when it failed).
      this.releaseWaiters();
    }
  }

  private async *follow(): AsyncGenerator<MetronomeEvent> {
    const signal = this.controller.signal;
    const initial = this.options.reconnect?.initialDelayMs ?? 200;
    const max = this.options.reconnect?.maxDelayMs ?? 10_000;
    let failures = 0;
    while (!signal.aborted) {
      // The wait a refusal asks for (a rate limit's RetryInfo), at least.
      let retryAfterMs = 0;
      let failure: unknown;
      try {
        const responses: AsyncIterable<SubscribeResponse> = this.client.subscribe(this.request(), {
          signal,
          headers: this.headers,
        });
        for await (const res of responses) {
          failures = 0;
          for (const pb of res.events) {
            // Closed while a message was being handed out: its other events are not.
            if (this.closed) return;
            this.position = pb.cursor;
            const event = eventFromProto(pb);
            if (event !== undefined) yield event;
          }
          this.position = res.cursor;
          this.isLive = res.live;
          if (res.live) {
            this.wasLive = true;
            this.releaseWaiters();
          }
        }
      } catch (err) {
        if (this.closed) break;
        const e = ConnectError.from(err);
        if (FATAL.has(e.code)) throw toMetronomeError(e);
        retryAfterMs = retryDelayOf(e) ?? 0;
        failure = toMetronomeError(e);
      }
      if (this.closed) break;
      // The stream ended (the server shut down) or failed: subscribe again after a pause.
      this.isLive = false;
      failures++;
      const delay = Math.max(
        retryAfterMs,
        Math.random() * Math.min(max, initial * 2 ** (failures - 1)),
      );
      // Said at the 1st (info: a node restarting ends its streams), then the 2nd, 4th, 8th…
      // attempt in a row (warn): a stream that never gets through is not silent, and one that
      // keeps failing does not flood the log.
      if ((failures & (failures - 1)) === 0) {
        const fields = {
          err: failure,
          failures,
          retryInMs: Math.round(delay),
          cursor: this.position?.toString(),
        };
        const message =
          failure === undefined
            ? "the event stream ended; subscribing again"
            : "the event stream failed; subscribing again";
        if (failures === 1) this.log?.info(fields, message);
        else this.log?.warn(fields, message);
      }
      await sleep(delay, signal);
    }
  }
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
