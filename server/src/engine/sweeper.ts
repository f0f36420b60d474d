/**
 * The sweeper's pass: runs whose misfire grace, lease or timeout ran out (a backstop for the
 * timers and the hand-out, and the only watch over other nodes' crashed workers), the runs of
 * this node's sessions that ended elsewhere, this node's worker registry records, and retention.
 */
import type { Clock } from "../clock.js";
import { runEvents } from "../domain/events.js";
import type { Run } from "../domain/runs.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import { logOutcome } from "../dispatch/run-log.js";
import type { Logger } from "../logger.js";
import type { RunStore, Store, WorkerRegistry } from "../store/port.js";

const SWEEP_BATCH = 500;
const RETENTION_EVERY_MS = 60_000;
/** Pending runs whose handler has no worker become missed within this of their grace's end. */
const MISFIRE_SWEEP_MS = 5000;

export interface SweeperConfig {
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly runRetentionMs: number;
}

export interface SweeperHooks {
  /** Whether the engine is stopping (retention stops between batches). */
  readonly stopped: () => boolean;
  /** When a loop last found the store unavailable. */
  readonly lastOutage: () => number;
  /** Runs were missed: log them with why. */
  readonly missed: (runs: readonly Run[]) => Promise<void>;
}

export class Sweeper {
  private lastRetention = 0;
  private lastMisfireSweep = 0;

  constructor(
    private readonly store: Pick<RunStore, "sweep" | "deleteOldRuns"> &
      Pick<WorkerRegistry, "deleteExpiredSessions"> &
      Pick<Store, "idempotency">,
    private readonly dispatch: Pick<Dispatcher, "refreshSessions" | "checkLeases" | "wake">,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: SweeperConfig & { readonly nodeId: string },
    private readonly hooks: SweeperHooks,
  ) {}

  /** One pass; answers when to look again (a clock time). */
  async pass(): Promise<number> {
    const now = this.clock.now();
    await this.dispatch.refreshSessions(now);
    const misfires = now - this.lastMisfireSweep >= MISFIRE_SWEEP_MS;
    if (misfires) this.lastMisfireSweep = now;
    // After an outage, workers could not heartbeat: give them a lease's time to reconnect and
    // extend their leases before expiring any (else every healthy run would be retried).
    const leases = now - this.hooks.lastOutage() >= this.config.leaseMs;
    const swept = await this.store.sweep({ now, limit: SWEEP_BATCH, misfires, leases }, (r) =>
      runEvents([...r.missed, ...r.timedOut, ...r.expired], this.clock.now(), this.config.nodeId),
    );
    if (swept.expired.some((r) => r.status === "pending")) this.dispatch.wake();
    if (swept.missed.length > 0) await this.hooks.missed(swept.missed);
    for (const r of [...swept.timedOut, ...swept.expired]) logOutcome(this.log, r);
    // Runs of this node's sessions that ended elsewhere (cancelled through another node, timed
    // out or expired): tell their workers.
    await this.dispatch.checkLeases();
    if (now - this.lastRetention >= RETENTION_EVERY_MS) {
      this.lastRetention = now;
      const before = now - this.config.runRetentionMs;
      // Records of sessions whose node stopped without removing them (a crash), a lease after
      // they expired (node clocks may differ a little).
      await this.store.deleteExpiredSessions(now - this.config.leaseMs);
      // At most 10 batches per pass: the sweep's other work must not wait behind a backlog.
      for (let i = 0; i < 10 && !this.hooks.stopped(); i++) {
        if ((await this.store.deleteOldRuns(before, 1000)) < 1000) break;
        if (i === 9) this.lastRetention = now - RETENTION_EVERY_MS; // more next pass
      }
      // Idempotency keys' records past their expiry (docs/security.md).
      for (let i = 0; i < 10 && !this.hooks.stopped() && this.store.idempotency; i++)
        if ((await this.store.idempotency.deleteExpiredIdempotencyKeys(now, 1000)) < 1000) break;
    }
    const full =
      swept.missed.length === SWEEP_BATCH ||
      swept.expired.length === SWEEP_BATCH ||
      swept.timedOut.length === SWEEP_BATCH;
    return full ? now : now + Math.min(1000, this.config.pollIntervalMs);
  }
}
