/**
 * A run's abort signal, made on first use. Most handlers never look at `ctx.signal`, and an
 * AbortController per run was a tenth of the worker's time when a thousand runs start at one
 * instant. Aborting before anyone asked for the signal records the reason; the signal is then
 * born aborted with it.
 */
export class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private abortedEarly = false;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedEarly) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller === undefined ? this.abortedEarly : this.controller.signal.aborted;
  }

  /** Aborts the signal with `reason` (the first reason stays, as with AbortController). */
  abort(reason: unknown): void {
    if (this.controller !== undefined) {
      this.controller.abort(reason);
      return;
    }
    if (this.abortedEarly) return;
    this.abortedEarly = true;
    this.reason = reason;
  }
}
