/**
 * The standard grpc.health.v1.Health service. Status comes from a store monitor that pings the
 * database in the background, so a health check costs no database round trip.
 */
import { EventEmitter, on } from "node:events";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HealthCheckResponse_ServingStatus as Status,
  type Health,
} from "../../gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../../logger.js";
import type { Store } from "../../store/port.js";

const PING_TIMEOUT_MS = 1500;

/** Pings the store every `intervalMs` and tells when it goes down or comes back. */
export class StoreMonitor extends EventEmitter<{ change: [boolean] }> {
  private healthy = true;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly intervalMs = 2000,
  ) {
    super();
  }

  get serving(): boolean {
    return this.healthy;
  }

  start(): void {
    this.setMaxListeners(0); // one listener per Watch stream
    const tick = async (): Promise<void> => {
      try {
        await this.check();
      } finally {
        if (this.timer !== undefined)
          this.timer = setTimeout(() => void tick(), this.intervalMs).unref();
      }
    };
    this.timer = setTimeout(() => void tick(), 0).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private checking: Promise<boolean> | undefined;

  /**
   * Ping now; also called by anyone who sees the store fail or recover. Calls made while a ping
   * is under way share it.
   */
  check(): Promise<boolean> {
    this.checking ??= this.ping().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async ping(): Promise<boolean> {
    // A database that hangs is as unavailable as one that refuses.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        resolve(false);
      }, PING_TIMEOUT_MS).unref();
    });
    const ok = await Promise.race([
      Promise.resolve()
        .then(() => this.store.ping())
        .then(
          () => true,
          () => false,
        ),
      timeout,
    ]);
    clearTimeout(timer);
    if (ok !== this.healthy) {
      this.healthy = ok;
      this.log.warn(
        { storeAvailable: ok },
        ok ? "job store available again" : "job store unavailable",
      );
      this.emit("change", ok);
    }
    return ok;
  }
}

/**
 * Health/Watch needs no key (access.ts) and a stream lasts as long as its client wants: without a
 * bound on the node, clients without credentials could hold any number open (each a listener and
 * a stream's buffers) — the per-connection stream limit bounds one connection only. Past
 * `maxWatches` open at once on the node, Watch answers RESOURCE_EXHAUSTED; Check is never limited.
 */
export function healthService(
  monitor: StoreMonitor,
  services: readonly string[],
  maxWatches: number,
): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  let watching = 0;
  const status = (): Status => (monitor.serving ? Status.SERVING : Status.NOT_SERVING);
  return {
    check(req) {
      if (!known.has(req.service))
        throw new ConnectError(`unknown service ${JSON.stringify(req.service)}`, Code.NotFound);
      return { status: status() };
    },
    async *watch(req, ctx) {
      if (watching >= maxWatches)
        throw new ConnectError(
          `too many Health/Watch streams are open on this node (METRONOME_MAX_HEALTH_WATCHES: ${String(maxWatches)}); use Check, or retry later`,
          Code.ResourceExhausted,
        );
      watching++;
      try {
        yield* watchStatus(req.service, ctx.signal);
      } finally {
        watching--;
      }
    },
    list() {
      return { statuses: Object.fromEntries([...known].map((s) => [s, { status: status() }])) };
    },
  };

  async function* watchStatus(service: string, signal: AbortSignal) {
    if (!known.has(service)) {
      yield { status: Status.SERVICE_UNKNOWN };
      return;
    }
    yield { status: status() };
    try {
      for await (const [ok] of on(monitor, "change", { signal }) as AsyncIterable<[boolean]>) {
        yield { status: ok ? Status.SERVING : Status.NOT_SERVING };
      }
    } catch (err) {
      // The client went away or the server is stopping: the stream just ends.
      if (!signal.aborted) throw err;
    }
  }
}
