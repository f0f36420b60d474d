/**
 * Where an EventStream from now starts when its first attempt fails before its first message,
 * against a real node (embedded SQLite); the failure is injected by an interceptor on the
 * client's transport. The SDK knows no position of the log before a first message (the API has
 * no call that tells it), so the next attempt subscribes from now again: an event committed
 * while the first attempt failed is not delivered, `whenLive()` waits for the attempt that got
 * through, and every event committed once it resolved is delivered (docs/sdk.md, Events).
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetronomeClient, type EventStream } from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** The job ids of the job_added events of a stream, and a way to wait for one. */
function reader(stream: EventStream) {
  const ids: string[] = [];
  const waiters: { id: string; resolve: () => void }[] = [];
  const reading = (async () => {
    for await (const e of stream) {
      if (e.type !== "job_added") continue;
      ids.push(e.jobId);
      for (const w of waiters.filter((x) => x.id === e.jobId)) w.resolve();
    }
  })();
  return {
    ids,
    reading,
    until(id: string): Promise<void> {
      if (ids.includes(id)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ id, resolve }));
    },
  };
}

describe("an EventStream from now whose first attempt fails", () => {
  let db: TestStore;
  let node: TestNode;
  /** Run, then fail with UNAVAILABLE, the next Subscribe call (before it reaches the node). */
  let beforeFailing: (() => Promise<void>) | undefined;
  let client: MetronomeClient;
  let plain: MetronomeClient;

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    const failFirst: Interceptor = (next) => async (req) => {
      const hook = beforeFailing;
      if (req.method.name !== "Subscribe" || hook === undefined) return next(req);
      beforeFailing = undefined;
      await hook();
      throw new ConnectError("injected: the connection was refused", Code.Unavailable);
    };
    client = new MetronomeClient({
      transport: createGrpcTransport({ baseUrl: node.url, interceptors: [failFirst] }),
      logger: quiet,
    });
    plain = new MetronomeClient({ baseUrl: node.url, logger: quiet });
  });
  afterAll(async () => {
    client.close();
    plain.close();
    await node.stop();
    await db.drop();
  });

  const add = (id: string) =>
    plain.jobs.addJob({
      job: {
        scheduler: "start",
        id,
        handler: "start.noop",
        trigger: { kind: { case: "interval", value: { hours: 1 } } },
      },
    });

  it("starts from now at the attempt that gets through; whenLive() waits for it", async () => {
    // Tells when the node has read an event (a later subscription from now is past it).
    const observing = plain.subscribe({ filter: { schedulers: ["start"] } });
    const observer = reader(observing);
    await observing.whenLive();
    const stream = client.subscribe({
      filter: { schedulers: ["start"] },
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    beforeFailing = async () => {
      await add("while-failing");
      await observer.until("while-failing");
    };
    const seen = reader(stream);
    let live = false;
    const becameLive = stream.whenLive().then(() => {
      live = true;
    });
    await observer.until("while-failing");
    expect(live).toBe(false);
    await becameLive;
    await add("after-live");
    await seen.until("after-live");
    // Committed after subscribe() was called, before any attempt reached the node: the next
    // attempt, from now too, started after it (as documented; pass afterCursor to start at a
    // known position).
    expect(seen.ids).toEqual(["after-live"]);
    stream.close();
    observing.close();
    await seen.reading;
    await observer.reading;
  });
});
