/**
 * A scheduler's listeners and API key scopes, against a real node with authentication (embedded
 * SQLite) and keys created through KeyService: under a key scoped to the scheduler
 * (`events:<scheduler>`, docs/security.md) the listeners get the scheduler's events — the
 * stream names the scheduler, and a default mask (node and worker types, which need `events:*`)
 * falls back to the scheduler's events when the wider stream is refused; `listening()` rejects
 * with the error when the key may not subscribe at all; under a key with `events:*` the listeners
 * get the node and worker events too, and never API key events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_ALL,
  EVENT_JOB_ADDED,
  MetronomeClient,
  PermissionDeniedError,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { rawWorkerSession } from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const ADMIN = "scoped-listeners-admin-token";

/** A logger that keeps the messages it was given. */
function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      lines.push({ level, msg: typeof first === "string" ? first : (msg ?? "") });
    };
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

/** What a listener got (`type:jobId` or `type:workerId`, else the type), and a way to wait. */
function collector() {
  const got: string[] = [];
  const waiters: { what: string; resolve: () => void }[] = [];
  const name = (e: MetronomeEvent): string =>
    "jobId" in e ? `${e.type}:${e.jobId}` : "workerId" in e ? `${e.type}:${e.workerId}` : e.type;
  return {
    got,
    listener: (e: MetronomeEvent) => {
      const what = name(e);
      got.push(what);
      for (const w of waiters.filter((x) => x.what === what)) w.resolve();
    },
    until(what: string): Promise<void> {
      if (got.includes(what)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ what, resolve }));
    },
  };
}

describe("a scheduler's listeners under scoped API keys", () => {
  let db: TestStore;
  let node: TestNode;
  let admin: MetronomeClient;
  /** Secrets of keys by what they may do. */
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    db = await createSqliteStore("sdk-scoped-listeners");
    node = await startTestNode(db.url, { METRONOME_AUTH_TOKENS: ADMIN });
    admin = new MetronomeClient({
      baseUrl: node.url,
      token: ADMIN,
      logger: recordingLogger().logger,
    });
    const made = async (name: string, scopes: string[]) => {
      const res = await admin.keys.createKey({ name, scopes }, { headers: admin.headers });
      secrets.set(name, res.secret);
    };
    await made("report-team", ["events:report", "write:report", "read:report"]);
    await made("no-events", ["write:report", "read:report"]);
  });
  afterAll(async () => {
    admin.close();
    await node.stop();
    await db.drop();
  });

  const clientOf = (key: string, logger = recordingLogger().logger) =>
    new MetronomeClient({ baseUrl: node.url, token: secrets.get(key) ?? "", logger });
  const add = (s: Scheduler, id: string) =>
    s.addJob("scoped.noop", "interval", { hours: 1, id, replaceExisting: true });

  it("with events:<scheduler>, a listener of job types gets the scheduler's events", async () => {
    const log = recordingLogger();
    const client = clientOf("report-team", log.logger);
    const report = client.scheduler("report");
    const seen = collector();
    report.addListener(seen.listener, EVENT_JOB_ADDED);
    await report.listening();
    await add(report, "nightly");
    await seen.until("job_added:nightly");
    expect(seen.got).toEqual(["job_added:nightly"]);
    // Nothing was refused on the way.
    expect(log.lines.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
    await report.shutdown();
    client.close();
  });

  it("with events:<scheduler>, a listener of every type falls back to the scheduler's events", async () => {
    const log = recordingLogger();
    const client = clientOf("report-team", log.logger);
    const report = client.scheduler("report");
    const seen = collector();
    report.addListener(seen.listener); // EVENT_ALL: node and worker types need events:*
    await report.listening(); // the refused stream was replaced by one naming the scheduler
    await add(report, "hourly");
    await report.removeJob("hourly");
    await seen.until("job_removed:hourly");
    expect(seen.got).toEqual(["job_added:hourly", "job_removed:hourly"]);
    expect(log.lines).toContainEqual({
      level: "warn",
      msg: "the listeners get only the scheduler's events: node and worker events need the events:* scope",
    });
    expect(log.lines.filter((l) => l.level === "error")).toEqual([]);

    // A listener added later with a mask the stream carries needs no other stream.
    const later = collector();
    report.addListener(later.listener, EVENT_JOB_ADDED);
    await report.listening();
    await add(report, "later");
    await later.until("job_added:later");
    await seen.until("job_added:later");
    expect(later.got).toEqual(["job_added:later"]);
    await report.shutdown();
    client.close();
  });

  it("with events:<scheduler>, a wider mask that is refused loses nothing of the listeners there", async () => {
    const client = clientOf("report-team");
    const report = client.scheduler("report");
    const first = collector();
    report.addListener(first.listener, EVENT_JOB_ADDED);
    await report.listening();
    await add(report, "w-1");
    await first.until("job_added:w-1");
    // Node and worker types: a stream without a scheduler from the stream's position, refused,
    // then one naming the scheduler from that same position.
    const all = collector();
    report.addListener(all.listener, EVENT_ALL);
    await add(report, "w-2"); // committed before listening() resolves
    await report.listening();
    await add(report, "w-3");
    await first.until("job_added:w-3");
    await all.until("job_added:w-3");
    expect(first.got).toEqual(["job_added:w-1", "job_added:w-2", "job_added:w-3"]);
    expect(all.got.filter((e) => e !== "job_added:w-2")).toEqual(["job_added:w-3"]);
    await report.shutdown();
    client.close();
  });

  it("listening() rejects with the error when the key may not subscribe to the scheduler", async () => {
    const client = clientOf("no-events");
    for (const mask of [EVENT_JOB_ADDED, EVENT_ALL]) {
      const report = client.scheduler("report");
      report.addListener(() => undefined, mask);
      await expect(report.listening()).rejects.toBeInstanceOf(PermissionDeniedError);
      // And again, while no addListener opened another stream.
      await expect(report.listening()).rejects.toBeInstanceOf(PermissionDeniedError);
      await report.shutdown();
      await expect(report.listening()).resolves.toBeUndefined(); // no listener left
    }
    client.close();
  });

  it("with events:*, the listeners get node and worker events, never API key events", async () => {
    const report = admin.scheduler("report");
    const seen = collector();
    report.addListener(seen.listener); // EVENT_ALL
    await report.listening();
    const other = admin.scheduler("other");
    await add(other, "elsewhere");
    await admin.keys.createKey(
      { name: "unrelated", scopes: ["read:other"] },
      { headers: admin.headers },
    );
    const session = rawWorkerSession(node.port, { authorization: `Bearer ${ADMIN}` });
    session.send({
      hello: { worker_id: "w-scoped", handlers: [{ handler: "scoped.noop", max_concurrency: 1 }] },
    });
    expect((await session.next()).payload).toBe("welcome");
    await seen.until("worker_connected:w-scoped");
    await add(report, "last");
    await seen.until("job_added:last");
    session.cancel();
    session.close();
    // Events arrive in cursor order: key_created and the other scheduler's job_added were
    // committed before job_added:last, so they would have come before it.
    expect(seen.got).toEqual(["worker_connected:w-scoped", "job_added:last"]);
    await report.shutdown();
  });
});
