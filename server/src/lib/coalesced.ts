/**
 * A task run on request, never twice at once: a request made while it runs makes it run once
 * more after that run, however many requests came meanwhile.
 */
export class Coalesced {
  private running: Promise<void> | null = null;
  private again = false;

  /** `task` must not reject (it handles its own errors). */
  constructor(private readonly task: () => Promise<void>) {}

  /** Run now, or once more after the run under way. */
  request(): void {
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = this.task().finally(() => {
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
