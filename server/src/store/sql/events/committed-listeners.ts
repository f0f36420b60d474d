/**
 * Who hears of a SQL store's commits that wrote events: the listeners of every such commit
 * (EventStore.onEventsCommitted) and those of what a commit sequenced itself
 * (EventStore.onEventsSequenced, sequence-at-commit.ts), each told after the commit. The change
 * committed whatever a listener does: a listener's failure is a process warning, not the
 * change's (which a caller would retry).
 */
import type { EventDraft } from "../../../domain/events.js";
import type { Sequenced } from "../../port.js";
import type { SequencedRows } from "../runner.js";
import { sequencedEvents } from "./sequence-events.js";

function told(call: () => void): void {
  try {
    call();
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : String(err), "MetronomeListenerWarning");
  }
}

export class CommittedListeners {
  private readonly committed: ((events: readonly EventDraft[], sequenced: boolean) => void)[] = [];
  /** Told what a commit sequenced, and whether they want its events read. */
  private readonly sequenced: {
    readonly listener: (s: Sequenced) => void;
    readonly wants: () => boolean;
  }[] = [];

  onCommitted(listener: (events: readonly EventDraft[], sequenced: boolean) => void): void {
    this.committed.push(listener);
  }

  onSequenced(listener: (s: Sequenced) => void, wants: () => boolean): void {
    this.sequenced.push({ listener, wants });
  }

  /** A commit wrote `events`; `rows`: what it sequenced, if it gave them their cursors. */
  tell(events: readonly EventDraft[], rows: SequencedRows | undefined): void {
    if (rows !== undefined) {
      let read: Sequenced | undefined;
      for (const { listener, wants } of this.sequenced)
        told(() => {
          listener(
            wants()
              ? (read ??= sequencedEvents(rows))
              : { count: rows.count, after: rows.after, events: [] },
          );
        });
    }
    for (const listener of this.committed)
      told(() => {
        listener(events, rows !== undefined);
      });
  }
}
