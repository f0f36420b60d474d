/**
 * `metronome events tail`: the event stream from now or after a cursor, with filters, through
 * the SDK's resumable EventStream (it reconnects by itself and skips nothing). Stops after
 * `--limit` events, after `--idle` without one, or on Ctrl-C; exits with code 4 at once when
 * nothing answers at the URL when it starts.
 */
import type { Command } from "commander";
import { EVENT_TYPE_NAMES, type EventTypeName, type MetronomeEvent } from "@metronome/sdk";
import { readiness, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError } from "./exit.js";
import { json, when, type Out } from "./output.js";
import { collect, parseDuration, parseInteger } from "./values.js";

const TYPES = EVENT_TYPE_NAMES;

/** One line per event: cursor, time, type, then what it concerns. */
function eventLine(e: MetronomeEvent): string {
  const parts: string[] = [String(e.cursor), when(e.time.getTime()), e.type];
  const add = (k: string, v: unknown) => {
    if (typeof v === "string" ? v !== "" : typeof v === "number" || typeof v === "boolean")
      parts.push(`${k}=${String(v)}`);
  };
  const r = e as unknown as Partial<Record<string, unknown>>;
  add("scheduler", r.scheduler);
  add("job", r.jobId);
  add("run", r.runId);
  add("handler", r.handler);
  add("status", r.runStatus);
  add("attempt", r.attempt);
  add("worker", r.workerId);
  add("node", e.nodeId);
  add("key", r.keyId);
  add("actor", e.actor);
  const error = r.error as { message?: string } | null | undefined;
  if (error?.message !== undefined) add("error", JSON.stringify(error.message));
  if (typeof r.reason === "string" && r.reason !== "") add("reason", JSON.stringify(r.reason));
  return parts.join(" ");
}

export function eventsCommand(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  const events = program.command("events").description("the event stream");
  withClientFlags(
    events
      .command("tail")
      .description("print events as they happen (from now, or every event after --after CURSOR)")
      .option("--after <cursor>", "start after this cursor (every later event, then live ones)")
      .option(
        "-s, --scheduler <name>",
        "only events of these schedulers (repeat or comma-separate)",
        collect,
      )
      .option("--job <id>", "only events of these jobs", collect)
      .option("--handler <name>", "only events of these handlers", collect)
      .option("--type <type>", `only these types: ${TYPES.join(", ")}`, collect)
      .option("--limit <n>", "stop after this many events")
      .option("--idle <duration>", "stop after this long without an event"),
  ).action(
    (
      o: ClientFlags & {
        after?: string;
        scheduler?: string[];
        job?: string[];
        handler?: string[];
        type?: string[];
        limit?: string;
        idle?: string;
      },
    ) =>
      run(() => {
        if (o.after !== undefined && !/^\d+$/.test(o.after))
          throw new CliError(`--after: expected a cursor (a whole number), got "${o.after}"`);
        const types = (o.type ?? []).map((t) => {
          const name = t.toLowerCase().replace(/^event_/, "") as EventTypeName;
          if (!TYPES.includes(name))
            throw new CliError(`--type: unknown event type "${t}" (${TYPES.join(", ")})`);
          return name;
        });
        const limit =
          o.limit === undefined
            ? Number.POSITIVE_INFINITY
            : parseInteger("--limit", o.limit, 1, 1e12);
        const idleMs = o.idle === undefined ? undefined : parseDuration("--idle", o.idle);
        return withClient(o, async (c) => {
          // The stream resumes by itself after a disconnect, so a wrong URL would wait forever
          // without a word: the server must answer once, first (exit code 4 if it does not).
          await readiness(o.url);
          const stop = new AbortController();
          const onSignal = (): void => {
            stop.abort();
          };
          process.once("SIGINT", onSignal);
          process.once("SIGTERM", onSignal);
          let idle: NodeJS.Timeout | undefined;
          const rearm = (): void => {
            if (idleMs === undefined) return;
            clearTimeout(idle);
            idle = setTimeout(onSignal, idleMs);
          };
          rearm();
          const stream = c.subscribe({
            filter: {
              ...(o.scheduler === undefined ? {} : { schedulers: o.scheduler }),
              ...(o.job === undefined ? {} : { jobIds: o.job }),
              ...(o.handler === undefined ? {} : { handlers: o.handler }),
              ...(types.length === 0 ? {} : { types }),
            },
            ...(o.after === undefined ? {} : { afterCursor: o.after }),
            signal: stop.signal,
          });
          let seen = 0;
          try {
            for await (const e of stream) {
              out.line(o.json === true ? json(e) : eventLine(e));
              rearm();
              if (++seen >= limit) break;
            }
          } finally {
            clearTimeout(idle);
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
            stream.close();
          }
        });
      }),
  );
}
