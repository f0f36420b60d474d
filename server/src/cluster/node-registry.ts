/**
 * This node's record in the cluster registry (ListNodes, ListWorkers): written at start and
 * every third of the node lease with what the node is doing and its worker sessions, marked
 * `stopping` when it stops, and deleted at the end. A node that crashes leaves its record to
 * expire one lease after its last refresh; every node deletes expired records now and then.
 */
import type { Clock } from "../clock.js";
import type { Logger } from "../logger.js";
import type { ClusterRegistry, NodeRecord } from "../store/port.js";

/** What the node is, at the moment of a refresh (without `lastSeen`, which the registry sets). */
export type NodeDescription = Omit<NodeRecord, "lastSeen">;

export interface NodeRegistryConfig {
  readonly leaseMs: number;
}

export class NodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;
  private lastCleanup = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: ClusterRegistry,
    private readonly describe: () => NodeDescription,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly config: NodeRegistryConfig,
  ) {}

  /** Records the node now and every third of the lease. */
  start(): void {
    this.refresh();
  }

  /** Writes the record now (after any write under way). */
  refresh(): void {
    clearTimeout(this.timer);
    this.writing = this.writing.then(() => this.write());
    this.timer = setTimeout(
      () => {
        this.refresh();
      },
      Math.max(100, this.config.leaseMs / 3),
    );
    this.timer.unref();
  }

  /** The node is stopping: say so, and stop refreshing. */
  async stopping(): Promise<void> {
    this.refresh();
    clearTimeout(this.timer);
    await this.writing;
  }

  /** Stops refreshing and deletes the node's record. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.writing;
    const { nodeId } = this.describe();
    await this.store.removeNode(nodeId).catch((err: unknown) => {
      this.log.warn({ err }, "removing this node's record failed; it expires");
    });
  }

  private async write(): Promise<void> {
    if (this.stopped) return;
    const now = this.clock.now();
    try {
      await this.store.recordNode({ ...this.describe(), lastSeen: now }, now + this.config.leaseMs);
      if (now - this.lastCleanup >= this.config.leaseMs) {
        this.lastCleanup = now;
        // A lease after they expired (node clocks may differ a little).
        await this.store.deleteExpiredNodes(now - this.config.leaseMs);
      }
    } catch (err) {
      this.log.warn({ err }, "recording this node in the cluster registry failed");
    }
  }
}
