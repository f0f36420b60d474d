/**
 * A scheduler's listeners against a real node (embedded SQLite): where a new listener's stream
 * starts (never before the listener was added: not after all listeners were removed, nor when
 * a wider mask replaces the stream), and a listeners' stream that ended with an error is
 * replaced by the next addListener. The error is injected by an interceptor on the client's
 * transport (the server stays real).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EVENT_ALL,
  EVENT_JOB_ADDED,
  EVENT_JOB_MODIFIED,
  EVENT_JOB_REMOVED,
  MetronomeClient,
  type MetronomeEvent,
  type Scheduler,
} from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

/** A logger that keeps its lines and lets a test wait for one. */
function recordingLogger() {
  const lines: { level: string; msg: string }[] = [];
  const waiters: { msg: string; resolve: () => void }[] = [];
  const at =
    (level: string) =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      const text = typeof first === "string" ? first : (msg ?? "");
      lines.push({ level, msg: text });
      for (const w of waiters.filter((x) => x.msg === text)) w.resolve();
    };
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    until(msg: string): Promise<void> {
      if (lines.some((l) => l.msg === msg)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

/** The job ids of the job events a listener got, and a way to wait for one. */
function collector() {
  const ids: string[] = [];
  const waiters: { id: string; resolve: () => void }[] = [];
  return {
    ids,
    listener: (e: MetronomeEvent) => {
      if (!("jobId" in e)) return;
      ids.push(`${e.type}:${e.jobId}`);
      for (const w of waiters.filter((x) => x.id === `${e.type}:${e.jobId}`)) w.resolve();
    },
    until(id: string): Promise<void> {
      if (ids.includes(id)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ id, resolve }));
    },
  };
}

describe("a scheduler's listeners", () => {
  let db: TestStore;
  let node: TestNode;
  const log = recordingLogger();
  /** Subscribe calls to fail before reaching the server. */
  let failSubscribe = 0;
  let client: MetronomeClient;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    const injectFailure: Interceptor = (next) => (req) => {
      if (req.method.name === "Subscribe" && failSubscribe > 0) {
        failSubscribe--;
        throw new ConnectError("injected: events were deleted", Code.OutOfRange);
      }
      return next(req);
    };
    client = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [injectFailure] }),
      logger: log.logger,
    });
  });
  afterAll(async () => {
    client.close();
    await node.stop();
    await db.drop();
  });

  const add = (s: Scheduler, id: string) =>
    s.addJob("listeners.noop", "interval", { hours: 1, id, replaceExisting: true });

  it("a listener added after all were removed gets only later events", async () => {
    const s = client.scheduler("after-removal");
    const first = collector();
    s.addListener(first.listener, EVENT_JOB_ADDED);
    await s.listening();
    await add(s, "one");
    await first.until("job_added:one");
    s.removeListener(first.listener);
    await add(s, "while-nobody-listens");

    const second = collector();
    s.addListener(second.listener, EVENT_JOB_ADDED);
    await s.listening();
    await add(s, "three");
    await second.until("job_added:three");
    expect(second.ids).toEqual(["job_added:three"]);
    await s.shutdown();
  });

  it("a wider mask resumes where the stream was, not at the last event a listener got", async () => {
    const s = client.scheduler("widen");
    const observer = client.subscribe({ filter: { schedulers: ["widen"] } });
    const observed = collector();
    const observing = (async () => {
      for await (const e of observer) observed.listener(e);
    })();
    await observer.whenLive();

    const removed = collector();
    s.addListener(removed.listener, EVENT_JOB_REMOVED);
    await s.listening();
    await add(s, "a");
    await s.removeJob("a");
    await removed.until("job_removed:a");
    // Added while no listener wants job_added; once this node has read it (the observer saw
    // it), a new stream from the listeners' position is past it.
    await add(s, "b");
    await observed.until("job_added:b");
    const modified = collector();
    s.addListener(modified.listener, EVENT_JOB_MODIFIED | EVENT_JOB_REMOVED);
    await s.listening();

    const added = collector();
    s.addListener(added.listener, EVENT_JOB_ADDED);
    await s.listening();
    await add(s, "c");
    await added.until("job_added:c");
    expect(added.ids).toEqual(["job_added:c"]);
    expect(removed.ids).toEqual(["job_removed:a"]);
    observer.close();
    await observing;
    await s.shutdown();
  });

  it("a stream that ended with an error is replaced by the next addListener", async () => {
    const s = client.scheduler("after-error");
    failSubscribe = 1;
    const first = collector();
    s.addListener(first.listener, EVENT_ALL);
    await log.until("the event stream of the listeners ended with an error");

    const second = collector();
    s.addListener(second.listener, EVENT_JOB_ADDED); // a mask the failed stream covered
    await s.listening();
    await add(s, "after-error");
    await second.until("job_added:after-error");
    await first.until("job_added:after-error");
    await s.shutdown();
  });
});
