/**
 * A worker over @grpc/grpc-js (no SDK) that runs every assignment for a fixed time and reports
 * success, heartbeating its leases: a stand-in for a worker process in engine tests. It records
 * every assignment it received, with the time it arrived.
 */
import { msOf, rawWorkerSession, type RawSession, type Reply } from "./grpc-js.js";

export interface Received {
  readonly runId: string;
  readonly attempt: number;
  readonly jobId: string;
  readonly scheduledTime: number;
  readonly receivedAt: number;
}

export class AutoWorker {
  readonly received: Received[] = [];
  /** Results the server accepted. */
  accepted = 0;
  private readonly session: RawSession;
  private readonly active = new Map<string, Reply>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    port: number,
    private readonly handler: string,
    private readonly options: { workMs?: number; concurrency?: number; id?: string } = {},
  ) {
    this.session = rawWorkerSession(port);
  }

  async start(): Promise<void> {
    const concurrency = this.options.concurrency ?? 100;
    this.session.send({
      hello: {
        worker_id: this.options.id ?? `auto-${this.handler}`,
        handlers: [{ handler: this.handler, max_concurrency: concurrency }],
        max_concurrency: concurrency,
      },
    });
    const welcome = await this.session.next();
    if (welcome.payload !== "welcome")
      throw new Error(`expected welcome, got ${String(welcome.payload)}`);
    const every = msOf((welcome.welcome as Reply).heartbeat_interval as Reply);
    this.heartbeat = setInterval(() => {
      this.session.send({ heartbeat: { active_leases: [...this.active.values()] } });
    }, every);
    void this.read();
  }

  /** Calls `check` after every message until it returns true. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (): void => {
        if (!check()) return;
        this.listeners.delete(listener);
        resolve();
      };
      this.listeners.add(listener);
    });
  }

  private async read(): Promise<void> {
    for (;;) {
      let m: Reply;
      try {
        m = await this.session.next();
      } catch {
        this.stopTimers();
        return;
      }
      if (m.payload === "assignment") {
        const a = m.assignment as Reply;
        const lease = a.lease as Reply;
        this.received.push({
          runId: String(lease.run_id),
          attempt: Number(lease.attempt),
          jobId: String(a.job_id),
          scheduledTime: msOf(a.scheduled_time as Reply),
          receivedAt: Date.now(),
        });
        this.active.set(String(lease.run_id), lease);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (this.closed || !this.active.has(String(lease.run_id))) return;
          this.session.send({ result: { lease, success: { result: { stringValue: "ok" } } } });
        }, this.options.workMs ?? 0);
        this.timers.add(timer);
      } else if (m.payload === "result_accepted" || m.payload === "result_rejected") {
        const lease = (m[m.payload] as Reply).lease as Reply;
        this.active.delete(String(lease.run_id));
        if (m.payload === "result_accepted") this.accepted++;
      } else if (m.payload === "cancellation") {
        const lease = (m.cancellation as Reply).lease as Reply;
        this.active.delete(String(lease.run_id));
      }
      for (const l of [...this.listeners]) l();
    }
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Ends the session (the server answers OK once pending results are answered). */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    await this.session.end().catch(() => undefined);
    this.session.close();
  }

  /** Drops the connection without a word, as a crashed worker would. */
  crash(): void {
    this.closed = true;
    this.stopTimers();
    this.session.cancel();
    this.session.close();
  }
}
