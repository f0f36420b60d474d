/** A run's status as a coloured word. */
import type { RunStatus } from "../../../src/gen/metronome/v1/run_pb.js";
import { statusName } from "../format.js";

export function StatusBadge({ status }: { readonly status: RunStatus }) {
  const name = statusName(status);
  return <span className={`status status-${name}`}>{name.replace("_", " ")}</span>;
}
