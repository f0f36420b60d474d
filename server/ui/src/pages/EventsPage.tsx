/**
 * The live event feed: EventService.Subscribe (server streaming over Connect, HTTP/1.1 fetch)
 * from now, filtered on the server by scheduler, job and handler. After an error it shows the
 * API's words and resumes from the last cursor it received on "Reconnect".
 */
import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { Event } from "../../../src/gen/metronome/v1/event_pb.js";
import { RunStatus } from "../../../src/gen/metronome/v1/run_pb.js";
import { events } from "../api.js";
import { useToken } from "../token.js";
import { ErrorBox } from "../components/ErrorBox.js";
import { StatusBadge } from "../components/StatusBadge.js";
import { eventName, when } from "../format.js";

const KEEP = 200;

type Feed = "connecting" | "live" | "ended";

export function EventsPage() {
  const [params, setParams] = useSearchParams();
  const filter = {
    scheduler: params.get("scheduler") ?? "",
    job: params.get("job") ?? "",
    handler: params.get("handler") ?? "",
  };
  const [list, setList] = useState<readonly Event[]>([]);
  const [feed, setFeed] = useState<Feed>("connecting");
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const cursor = useRef<bigint | null>(null);

  const { scheduler, job, handler } = filter;
  const token = useToken();
  useEffect(() => {
    const abort = new AbortController();
    const after = cursor.current;
    void (async () => {
      try {
        const stream = events.subscribe(
          {
            filter: {
              schedulers: scheduler === "" ? [] : [scheduler],
              jobIds: job === "" ? [] : [job],
              handlers: handler === "" ? [] : [handler],
            },
            start:
              after === null
                ? { case: "fromNow", value: true }
                : { case: "afterCursor", value: after },
          },
          { signal: abort.signal },
        );
        for await (const res of stream) {
          if (res.live) {
            setFeed("live");
            setError(null);
          }
          cursor.current = res.cursor;
          if (res.events.length > 0) {
            const fresh = [...res.events].reverse();
            setList((old) => [...fresh, ...old].slice(0, KEEP));
          }
        }
        if (!abort.signal.aborted) setFeed("ended");
      } catch (err) {
        if (abort.signal.aborted) return;
        setError(err);
        setFeed("ended");
      }
    })();
    return () => {
      abort.abort();
    };
  }, [scheduler, job, handler, attempt, token]);

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value === "") next.delete(key);
    else next.set(key, value);
    cursor.current = null;
    setList([]);
    setFeed("connecting");
    setError(null);
    setParams(next, { replace: true });
  };

  return (
    <section>
      <h1>
        Events <span className={`feed feed-${feed}`}>{feed}</span>
      </h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
        }}
      >
        {(["scheduler", "job", "handler"] as const).map((key) => (
          <label key={key}>
            {key[0]?.toUpperCase()}
            {key.slice(1)}{" "}
            <input
              type="text"
              name={key}
              placeholder="any"
              defaultValue={filter[key]}
              onBlur={(e) => {
                if (e.target.value !== filter[key]) set(key, e.target.value.trim());
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter") set(key, e.currentTarget.value.trim());
              }}
            />
          </label>
        ))}
        {feed === "ended" ? (
          <button
            type="button"
            onClick={() => {
              setFeed("connecting");
              setError(null);
              setAttempt((n) => n + 1);
            }}
          >
            Reconnect
          </button>
        ) : null}
      </form>
      <ErrorBox error={error} />
      <table className="grid" data-testid="events">
        <thead>
          <tr>
            <th>Time</th>
            <th>Event</th>
            <th>Job</th>
            <th>Run</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {list.map((e) => (
            <tr key={e.cursor.toString()}>
              <td>{when(e.time)}</td>
              <td>{eventName(e.type)}</td>
              <td>
                {e.jobId !== "" ? (
                  <Link
                    to={`/jobs/${encodeURIComponent(e.scheduler)}/${encodeURIComponent(e.jobId)}`}
                  >
                    {e.jobId}
                  </Link>
                ) : null}
              </td>
              <td>
                {e.runId !== "" ? (
                  <Link to={`/runs/${encodeURIComponent(e.runId)}`}>{e.runId.slice(0, 8)}</Link>
                ) : null}{" "}
                {e.runStatus !== RunStatus.UNSPECIFIED ? (
                  <StatusBadge status={e.runStatus} />
                ) : null}
              </td>
              <td className="outcome">
                {e.error ? <span className="error-text">{e.error.message}</span> : null}
                {e.resultJson !== "" ? <code>{e.resultJson}</code> : null}
                {e.reason !== "" ? <span className="muted"> {e.reason}</span> : null}
                {e.worker ? <span className="muted"> {e.workerId || e.nodeId}</span> : null}
                {e.keyId !== "" ? <code> {e.keyId}</code> : null}
                {e.actor !== "" ? <span className="muted"> by {e.actor}</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.length === 0 ? (
        <p className="muted">Waiting for events: they appear here as they happen.</p>
      ) : null}
    </section>
  );
}
