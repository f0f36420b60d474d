/**
 * Lease keeping. A lease (run_id, attempt, lease_token) fences every result and heartbeat; the
 * worker holds one per assignment until its handler settles, the server cancels it, or it is
 * found expired. Heartbeats list the held leases and extend them; the watchdog here releases a
 * lease that no heartbeat extended for a whole lease duration (e.g. while disconnected): the
 * server would answer LEASE_LOST on resumption anyway, this stops duplicates sooner when it
 * cannot be reached.
 */
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { RunLease, SessionWelcome } from "../gen/metronome/v1/worker_service_pb.js";
import { RunAbortedError } from "../errors.js";

/** Used until a SessionWelcome says otherwise (the server defaults). */
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 10_000;
/** A floor on the heartbeat interval, so that a zero from the server cannot spin. */
const MIN_HEARTBEAT_MS = 100;

/** A lease as the worker holds it. */
export interface HeldLease {
  readonly lease: RunLease;
  /** Set when the lease stopped being ours (cancelled, lease lost). */
  readonly released: RunAbortedError | undefined;
  /** When the lease was last extended as far as this process knows (assignment, heartbeat). */
  extendedAt: number;
}

/** The key of a lease in the worker's tables. */
export function leaseKey(lease: RunLease): string {
  return `${lease.runId}\u0000${lease.attempt}\u0000${lease.leaseToken}`;
}

/** The lease duration and heartbeat interval a welcome announces (defaults when unset). */
export function leaseTimes(welcome: SessionWelcome): {
  leaseDurationMs: number;
  heartbeatMs: number;
} {
  return {
    leaseDurationMs:
      welcome.leaseDuration === undefined ? DEFAULT_LEASE_MS : durationMs(welcome.leaseDuration),
    heartbeatMs: Math.max(
      MIN_HEARTBEAT_MS,
      welcome.heartbeatInterval === undefined
        ? DEFAULT_HEARTBEAT_MS
        : durationMs(welcome.heartbeatInterval),
    ),
  };
}

/** The leases of `holders` and the watchdog over them. */
export class LeaseKeeper<T extends HeldLease> {
  /** The lease duration of the last welcome. */
  leaseDurationMs = DEFAULT_LEASE_MS;
  private timer: NodeJS.Timeout | undefined = undefined;
  private stopped = false;
  private armQueued = false;

  constructor(
    private readonly holders: ReadonlyMap<string, T>,
    /** Called for each lease found expired. */
    private readonly expire: (holder: T, reason: RunAbortedError) => void,
  ) {}

  /** The leases still ours (for WorkerHello's resumed_leases). */
  held(): RunLease[] {
    const leases: RunLease[] = [];
    for (const h of this.holders.values()) if (h.released === undefined) leases.push(h.lease);
    return leases;
  }

  /** How many leases are still ours. */
  heldCount(): number {
    let n = 0;
    for (const h of this.holders.values()) if (h.released === undefined) n++;
    return n;
  }

  /** The leases a heartbeat going out now lists; they count as extended from now. */
  extendAll(): RunLease[] {
    const now = Date.now();
    const leases: RunLease[] = [];
    for (const h of this.holders.values()) {
      if (h.released !== undefined) continue;
      leases.push(h.lease);
      h.extendedAt = now;
    }
    this.arm();
    return leases;
  }

  /** arm() at the end of this turn of the event loop (once however many ask). */
  armSoon(): void {
    if (this.armQueued) return;
    this.armQueued = true;
    setImmediate(() => {
      this.armQueued = false;
      this.arm();
    });
  }

  /** (Re)arms the watchdog for the lease extended longest ago. */
  arm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    let earliest = Infinity;
    for (const h of this.holders.values()) {
      if (h.released === undefined) earliest = Math.min(earliest, h.extendedAt);
    }
    if (earliest === Infinity) return;
    const delay = Math.max(0, earliest + this.leaseDurationMs - Date.now());
    // unref: a safety net, not a reason to keep the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = Date.now();
      for (const h of [...this.holders.values()]) {
        if (h.released === undefined && h.extendedAt + this.leaseDurationMs <= now) {
          this.expire(
            h,
            new RunAbortedError(
              "lease_lost",
              `lease lost: not extended for ${this.leaseDurationMs} ms (no heartbeat reached the server)`,
            ),
          );
        }
      }
      this.arm();
    }, delay).unref();
  }

  /** Stops the watchdog for good (the worker closed). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
