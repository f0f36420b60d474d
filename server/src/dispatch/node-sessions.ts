/**
 * The worker sessions connected to this node, and what follows from them all: which run leases
 * they hold, how many runs are in flight (a stopping node waits for them), and which handlers
 * this node serves.
 */
import { Waiter } from "../lib/waiter.js";
import type { WorkerSession } from "./session.js";

export class NodeSessions {
  private readonly map = new Map<string, WorkerSession>();
  /**
   * The dispatch loop sleeps on this: woken when a session arrives, or a slot frees in a session
   * whose slots held runs back (WorkerSession.waitsForSlot).
   */
  readonly waiter = new Waiter();
  /** The node is stopping: its sessions get no more runs. */
  closing = false;
  private readonly settledWaiters = new Set<() => void>();

  get size(): number {
    return this.map.size;
  }

  values(): IterableIterator<WorkerSession> {
    return this.map.values();
  }

  has(s: WorkerSession): boolean {
    return this.map.get(s.id) === s;
  }

  add(s: WorkerSession): void {
    if (this.closing) s.draining = true;
    this.map.set(s.id, s);
    this.waiter.wake();
  }

  /** False when it was not there. */
  delete(s: WorkerSession): boolean {
    if (!this.map.delete(s.id)) return false;
    this.checkSettled();
    return true;
  }

  /** Frees the session's slot of a run (its lease ended here or elsewhere). */
  release(s: WorkerSession, runId: string): void {
    const a = s.active.get(runId);
    if (a === undefined) return;
    a.stopTimer?.();
    s.active.delete(runId);
    if (s.waitsForSlot) this.waiter.wake();
    this.checkSettled();
  }

  /** Sessions of this node that serve `handler` (connected, not draining). */
  serving(handler: string): number {
    let n = 0;
    for (const s of this.map.values()) if (!s.draining && s.handlers.has(handler)) n++;
    return n;
  }

  /** Runs sent to this node's workers whose outcome is not recorded yet. */
  runsInFlight(): number {
    let n = 0;
    for (const s of this.map.values())
      for (const a of s.active.values()) if (a.held === undefined) n++;
    return n;
  }

  /**
   * Resolves true once no run is in flight (runsInFlight() is 0), or false when `signal` aborts
   * first.
   */
  runsSettled(signal: AbortSignal): Promise<boolean> {
    if (this.runsInFlight() === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const settled = (): void => {
        signal.removeEventListener("abort", aborted);
        resolve(true);
      };
      const aborted = (): void => {
        this.settledWaiters.delete(settled);
        resolve(false);
      };
      this.settledWaiters.add(settled);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }

  private checkSettled(): void {
    if (this.settledWaiters.size === 0 || this.runsInFlight() > 0) return;
    const waiters = [...this.settledWaiters];
    this.settledWaiters.clear();
    for (const w of waiters) w();
  }
}
