/**
 * Nodes on one PostgreSQL database tell each other of their changes with LISTEN/NOTIFY on one
 * channel, so that a job added through one node is claimed at once by the node whose loop was
 * asleep, runs created by one node go at once to the workers of another, and every node's hub
 * reads events as soon as they have cursors. A notice is sent after the change committed, at most
 * one per turn of the event loop for all the changes of that turn, and names the sending store so
 * that a node ignores its own. Notices are a shortcut, not a guarantee (one sent while the
 * listening connection reconnects is lost): nodes keep polling.
 */
import { randomUUID } from "node:crypto";
import type { Client, Pool } from "pg";
import type { StoreChange } from "../port.js";

export const CHANNEL = "metronome_changes";
/** How long a node waits before listening again after its listening connection failed. */
const RELISTEN_MS = 1000;

const KINDS: ReadonlySet<string> = new Set<StoreChange>(["jobs", "runs", "events"]);

export class ChangeNotices {
  private readonly origin = randomUUID();
  private readonly pending = new Set<StoreChange>();
  private flushing: NodeJS.Immediate | undefined;
  private listener: ((change: StoreChange) => void) | undefined;
  /** The listening connection, and the attempt to open it. */
  private client: Client | undefined;
  private listenRequest: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  private sends: Promise<unknown> = Promise.resolve();

  /** `pool` sends notices; `connect` makes a connection of its own for LISTEN. */
  constructor(
    private readonly pool: Pool,
    private readonly connect: () => Client,
  ) {}

  /** Tell the other nodes of `change` (sent once this turn ends, with the turn's others). */
  announce(change: StoreChange): void {
    if (this.closed) return;
    this.pending.add(change);
    this.flushing ??= setImmediate(() => {
      this.flushing = undefined;
      const payload = `${this.origin} ${[...this.pending].join(",")}`;
      this.pending.clear();
      // A lost notice only delays the other nodes until their next poll; the next operation
      // reports an unreachable database.
      this.sends = this.pool
        .query("SELECT pg_notify($1, $2)", [CHANNEL, payload])
        .catch(() => undefined);
    });
  }

  /** Calls `listener` for each change another node announces (one listener; LISTEN on first). */
  onChange(listener: (change: StoreChange) => void): void {
    this.listener = listener;
    this.listen();
  }

  /** Resolves once this store listens (after onChange), or once its attempt failed. */
  async listening(): Promise<void> {
    await this.listenRequest;
  }

  private listen(): void {
    if (this.closed || this.listenRequest !== undefined) return;
    const client = this.connect();
    this.client = client;
    const lost = (): void => {
      if (this.client !== client) return;
      this.client = undefined;
      this.listenRequest = undefined;
      client.end().catch(() => undefined);
      if (!this.closed)
        this.retry = setTimeout(() => {
          this.listen();
        }, RELISTEN_MS);
    };
    // A dropped connection emits "error" (unhandled, it would end the process) and "end".
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (msg) => {
      this.received(msg.payload ?? "");
    });
    this.listenRequest = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
      } catch {
        lost();
      }
    })();
  }

  private received(payload: string): void {
    const [origin, kinds] = payload.split(" ");
    if (origin === this.origin || kinds === undefined) return;
    for (const kind of kinds.split(",")) if (KINDS.has(kind)) this.listener?.(kind as StoreChange);
  }

  /** Stops listening and lets a notice being sent finish; the pool is ended by the store. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    if (this.flushing !== undefined) {
      clearImmediate(this.flushing);
      this.flushing = undefined;
    }
    await this.sends;
    await this.listenRequest;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
