/**
 * The connection loop: one `WorkerService.Session` call after another until closed, with a
 * random delay between them (exponential backoff with full jitter, reset after a welcomed
 * session). Before the worker's first welcome, INVALID_ARGUMENT, UNAUTHENTICATED,
 * PERMISSION_DENIED and UNIMPLEMENTED end the loop (a configuration error retrying cannot fix).
 * What a session does with its messages is the worker's (`ConnectionHooks`).
 */
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { SessionResponse, WorkerService } from "../gen/metronome/v1/worker_service_pb.js";
import { retryDelayOf } from "../rpc-errors.js";
import { Session } from "./session.js";

/** setTimeout fires at once for larger delays. */
export const MAX_TIMER_MS = 2_147_483_647;
/** Errors that end the loop instead of being retried, before the first welcome only. */
const FATAL_BEFORE_WELCOME = new Set<Code>([
  Code.InvalidArgument,
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.Unimplemented,
]);

/** A failed or ended session, before the delay that follows it. */
export interface Retry {
  /** What ended it; undefined when the stream ended normally. */
  readonly error: unknown;
  /** Whether the session had been welcomed. */
  readonly welcomed: boolean;
  /** How many sessions in a row ended since the last welcomed one (1 for the first). */
  readonly attempt: number;
  readonly delayMs: number;
}

/** What the worker does at each step of a session's life. */
export interface ConnectionHooks {
  /** A new session: queue its first requests (WorkerHello, …). */
  opening(s: Session): void;
  /** A message from the server. */
  message(s: Session, response: SessionResponse): void;
  /** The session ended, whatever ended it (after `s.close()`). */
  ended(s: Session, error: unknown): void;
  /** Whether any session was ever welcomed (fatal errors are fatal only before). */
  welcomedOnce(): boolean;
  /** A fatal error before the first welcome ended the loop. */
  fatal(error: unknown): void;
  /** The next session opens after `retry.delayMs`. */
  retrying(retry: Retry): void;
}

export interface ConnectionOptions {
  readonly client: Client<typeof WorkerService>;
  readonly headers: Readonly<Record<string, string>>;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly hooks: ConnectionHooks;
}

export class ConnectionLoop {
  /** The session open now (welcomed or not); undefined between sessions. */
  session: Session | undefined = undefined;
  private closed = false;
  private loop: Promise<void> | undefined = undefined;
  private wake: (() => void) | undefined = undefined;

  constructor(private readonly options: ConnectionOptions) {}

  /** Starts the loop (once). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Whether the loop has ended or is ending. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Ends the loop: no new session opens, a pending delay is cut short; the current session is
   * left to `endSession` (half-close or abort). Resolves once the loop has ended.
   */
  async close(endSession: (s: Session) => void): Promise<void> {
    this.closed = true;
    if (this.session !== undefined) endSession(this.session);
    this.wake?.();
    await this.loop;
  }

  /** One session after another until closed. Never rejects. */
  private async run(): Promise<void> {
    const { hooks } = this.options;
    let failures = 0;
    while (!this.closed) {
      const s = new Session();
      this.session = s;
      let error: unknown = undefined;
      try {
        await this.runSession(s);
      } catch (err) {
        error = err;
      }
      const welcomed = s.welcome !== undefined;
      s.close();
      if (this.session === s) this.session = undefined;
      hooks.ended(s, error);
      // (A getter: TypeScript would keep `closed` narrowed to false across the await.)
      if (this.isClosed) break;
      if (welcomed) failures = 0;
      if (!hooks.welcomedOnce() && error !== undefined && isFatal(error)) {
        this.closed = true;
        hooks.fatal(error);
        break;
      }
      failures++;
      const { initialDelayMs, maxDelayMs } = this.options;
      // At least the wait a refusal asks for (a rate limit's google.rpc.RetryInfo).
      const delayMs = Math.max(
        retryDelayOf(error) ?? 0,
        Math.random() * Math.min(maxDelayMs, initialDelayMs * 2 ** (failures - 1)),
      );
      hooks.retrying({ error, welcomed, attempt: failures, delayMs });
      await this.sleep(delayMs);
    }
    this.session = undefined;
  }

  private async runSession(s: Session): Promise<void> {
    this.options.hooks.opening(s);
    const responses = this.options.client.session(s.queue, {
      signal: s.abort.signal,
      headers: this.options.headers,
    });
    for await (const response of responses) this.options.hooks.message(s, response);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      // Not unref'd: while reconnecting, this timer is what keeps a worker process alive.
      const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
      this.wake = done;
    });
  }
}

function isFatal(error: unknown): boolean {
  return FATAL_BEFORE_WELCOME.has(ConnectError.from(error).code);
}
