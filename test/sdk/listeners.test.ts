/**
 * A scheduler's listeners against a real node (embedded SQLite): where a new listener's stream
 * starts (never before the listener was added: not after all listeners were removed, nor when
 * a wider mask replaces a stream that lags behind, also replaced again while it catches up),
 * the listeners already there losing nothing meanwhile nor after a reconnection, and a
 * listeners' stream that ended with an error is replaced by the next addListener. Errors, lost
 * connections and a held resubscription are injected by an interceptor on the client's
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

/** Ways to cut the response streams of Subscribe calls: `cut()` fails those open now. */
function streamCutter() {
  const cutters = new Set<() => void>();
  return {
    /** The messages of `messages`, until they end or `cut()` fails them with UNAVAILABLE. */
    async *cuttable<T>(messages: AsyncIterable<T>): AsyncGenerator<T> {
      const it = messages[Symbol.asyncIterator]();
      let cutter: () => void = () => undefined;
      const cut = new Promise<never>((_, reject) => {
        cutter = () => {
          reject(new ConnectError("injected: the connection was lost", Code.Unavailable));
        };
      });
      cutters.add(cutter);
      try {
        for (;;) {
          const r = await Promise.race([it.next(), cut]);
          if (r.done === true) return;
          yield r.value;
        }
      } finally {
        cutters.delete(cutter);
        void it.return?.().catch(() => undefined);
      }
    },
    cut(): void {
      for (const c of [...cutters]) c();
    },
  };
}

describe("a scheduler's listeners", () => {
  let db: TestStore;
  let node: TestNode;
  const log = recordingLogger();
  /** Subscribe calls to fail before reaching the server. */
  let failSubscribe = 0;
  /** While set, Subscribe calls wait for it before reaching the server. */
  let holdSubscribe: Promise<void> | undefined;
  const streams = streamCutter();
  let client: MetronomeClient;
  /** A client of its own (not cut): its streams tell when the node has read an event. */
  let observing: MetronomeClient;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    const injectFailure: Interceptor = (next) => async (req) => {
      if (req.method.name !== "Subscribe") return next(req);
      if (failSubscribe > 0) {
        failSubscribe--;
        throw new ConnectError("injected: events were deleted", Code.OutOfRange);
      }
      if (holdSubscribe !== undefined) await holdSubscribe;
      const res = await next(req);
      return res.stream ? { ...res, message: streams.cuttable(res.message) } : res;
    };
    client = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [injectFailure] }),
      logger: log.logger,
    });
    observing = new MetronomeClient({ baseUrl: node.url, logger: log.logger });
  });
  afterAll(async () => {
    client.close();
    observing.close();
    await node.stop();
    await db.drop();
  });

  /** A stream of the scheduler's events on the observing client, live. */
  async function observe(scheduler: string) {
    const stream = observing.subscribe({ filter: { schedulers: [scheduler] } });
    const seen = collector();
    const reading = (async () => {
      for await (const e of stream) seen.listener(e);
    })();
    await stream.whenLive();
    return {
      until: (id: string) => seen.until(id),
      async close() {
        stream.close();
        await reading;
      },
    };
  }

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

  it("a listener whose types replace a lagging stream gets no event committed before it", async () => {
    // The listeners' stream carries job_removed only: while no such event comes, its position
    // stays where it was (the server moves it on every 2 s), behind the job_added of "before".
    const s = client.scheduler("widen-lagging");
    const observer = await observe("widen-lagging");
    const removed = collector();
    s.addListener(removed.listener, EVENT_JOB_REMOVED);
    await s.listening();
    await add(s, "gone");
    await add(s, "gone-later");
    await s.removeJob("gone"); // perhaps not yet given to `removed` when its stream is replaced
    await add(s, "before");
    await observer.until("job_added:before");

    const added = collector();
    s.addListener(added.listener, EVENT_JOB_ADDED); // no listening() before the next changes
    await add(s, "during");
    await s.listening();
    await add(s, "after");
    await s.removeJob("gone-later");
    await added.until("job_added:after");
    await removed.until("job_removed:gone-later");
    // "during" may or may not be given: it was committed before listening() resolved.
    expect(added.ids.filter((id) => id !== "job_added:during")).toEqual(["job_added:after"]);
    // The listener that was there gets each of its events once, across the replacement.
    expect(removed.ids).toEqual(["job_removed:gone", "job_removed:gone-later"]);
    await observer.close();
    await s.shutdown();
  });

  it("a stream replaced again while it catches up keeps its new listeners waiting for live", async () => {
    const s = client.scheduler("widen-twice");
    const observer = await observe("widen-twice");
    const removed = collector();
    s.addListener(removed.listener, EVENT_JOB_REMOVED);
    await s.listening();
    await add(s, "x");
    await s.modifyJob("x", { name: "changed" });
    await s.removeJob("x");
    await add(s, "before");
    await observer.until("job_added:before");

    const added = collector();
    s.addListener(added.listener, EVENT_JOB_ADDED);
    const modified = collector();
    s.addListener(modified.listener, EVENT_JOB_MODIFIED); // replaces the stream again
    // The listener that was there, again with a wider mask: its job_removed go on throughout.
    s.addListener(removed.listener, EVENT_JOB_REMOVED | EVENT_JOB_MODIFIED | EVENT_JOB_ADDED);
    await s.listening();
    await add(s, "after");
    await s.modifyJob("after", { name: "changed" });
    await s.removeJob("after");
    await removed.until("job_removed:after");
    await added.until("job_added:after");
    await modified.until("job_modified:after");
    expect(added.ids).toEqual(["job_added:after"]);
    expect(modified.ids).toEqual(["job_modified:after"]);
    expect(removed.ids).toEqual([
      "job_removed:x",
      "job_added:after",
      "job_modified:after",
      "job_removed:after",
    ]);
    await observer.close();
    await s.shutdown();
  });

  it("once live, a stream that reconnects withholds nothing from a listener that replaced it", async () => {
    const s = client.scheduler("widen-reconnect");
    const observer = await observe("widen-reconnect");
    const removed = collector();
    s.addListener(removed.listener, EVENT_JOB_REMOVED);
    await s.listening();
    const added = collector();
    s.addListener(added.listener, EVENT_JOB_ADDED);
    await s.listening(); // the replacing stream is live

    // The connection is lost; the stream resubscribes once these events were committed and
    // read, and catches up on them (its first message after that is live again).
    let release = (): void => undefined;
    holdSubscribe = new Promise((resolve) => {
      release = resolve;
    });
    streams.cut();
    await add(s, "while-away");
    await s.removeJob("while-away");
    await observer.until("job_removed:while-away");
    release();
    holdSubscribe = undefined;
    await added.until("job_added:while-away");
    await removed.until("job_removed:while-away");
    await add(s, "back");
    await added.until("job_added:back");
    expect(added.ids).toEqual(["job_added:while-away", "job_added:back"]);
    expect(removed.ids).toEqual(["job_removed:while-away"]);
    await observer.close();
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
