/**
 * A task run on request, never twice at once: a request made while it runs makes it run once
 * more after that run, however many requests came meanwhile.
 *
 * The task runs in the async context of the code that made the Coalesced (a node's component,
 * made at start-up), not in that of the request: a request made by an API call (a commit's
 * listener) must not hand the call's deadline, actor or idempotency key (lib/call-storage.ts)
 * to the task's store work, which is the node's own.
 */
import { AsyncResource } from "node:async_hooks";

export class Coalesced {
  private running: Promise<void> | null = null;
  private again = false;
  private readonly home = new AsyncResource("Coalesced");

  /** `task` must not reject (it handles its own errors). */
  constructor(private readonly task: () => Promise<void>) {}

  /** Run now, or once more after the run under way. */
  request(): void {
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.home
      .runInAsyncScope(() => this.task())
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Resolves once no run is under way (runs requested meanwhile included). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }
}
