/**
 * Under a paged listing whose timer reads only its first page (keyset-list.ts): says since when
 * the rows past it are as read, with a **Refresh** that reads them all again.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { when } from "../format.js";

export interface RestReadNoteProps {
  /** What the timer reads, as a sentence's subject: "The first 50 jobs". */
  readonly head: string;
  readonly everyMs: number;
  /** When the rows past the first page were read; undefined: none is shown. */
  readonly readAt: Timestamp | undefined;
  readonly busy: boolean;
  readonly testId: string;
  readonly onRefresh: () => void;
}

export function RestReadNote(props: RestReadNoteProps) {
  if (props.readAt === undefined) return null;
  return (
    <p className="muted" data-testid={props.testId}>
      {props.head} are read again every {props.everyMs / 1000} s; the others as read at{" "}
      {when(props.readAt)}.{" "}
      <button type="button" disabled={props.busy} onClick={props.onRefresh}>
        Refresh
      </button>
    </p>
  );
}
