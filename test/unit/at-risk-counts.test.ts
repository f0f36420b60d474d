/**
 * Job.worker_count's reads of other nodes' sessions (AtRisk.workerCounts): the requests that
 * arrive together share one read of the store, and no request is answered from a read that
 * started before it arrived; counts a caller read with its own statement are not read again. A
 * fake store whose reads the test finishes by hand.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AtRisk, type AtRiskStore } from "../../server/src/engine/at-risk.js";
import { ManualClock } from "../support/clock.js";

interface Read {
  readonly handlers: readonly string[];
  finish(): void;
}

/** A store whose servingSessions reads `remote` when the test finishes the read. */
function fakeStore(remote: Map<string, number>): { store: AtRiskStore; reads: Read[] } {
  const reads: Read[] = [];
  const store = {
    servingSessions: (handlers: readonly string[]) =>
      new Promise<Map<string, number>>((resolve) => {
        reads.push({
          handlers,
          finish: () => {
            resolve(new Map([...remote].filter(([h]) => handlers.includes(h))));
          },
        });
      }),
    dueJobsOf: () => Promise.resolve([]),
    pausedSchedulers: () => Promise.resolve([]),
    appendEvents: () => Promise.resolve(),
  } as unknown as AtRiskStore;
  return { store, reads };
}

/** Lets the Batcher send what arrived (it sends at the end of the event loop's turn). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

function atRisk(store: AtRiskStore, local: Record<string, number> = {}): AtRisk {
  return new AtRisk(store, (h) => local[h] ?? 0, new ManualClock(0), pino({ level: "silent" }), {
    nodeId: "n1",
    lookaheadMs: 1000,
  });
}

describe("worker counts of other nodes", () => {
  it("requests that arrive together share one read, each answered with its own handlers' counts", async () => {
    const remote = new Map([
      ["a", 2],
      ["b", 1],
    ]);
    const { store, reads } = fakeStore(remote);
    const risk = atRisk(store, { a: 1 });
    const answers = Promise.all([
      risk.workerCounts(["a"]),
      risk.workerCounts(["b", "a"]),
      risk.workerCounts(["c"]),
      risk.workerCounts(["a", "a"]),
    ]);
    await turn();
    expect(reads).toHaveLength(1);
    expect([...(reads[0]?.handlers ?? [])].sort()).toEqual(["a", "b", "c"]);
    reads[0]?.finish();
    const [a, ba, c, aa] = await answers;
    expect(a).toEqual(new Map([["a", 3]]));
    expect(ba).toEqual(
      new Map([
        ["b", 1],
        ["a", 3],
      ]),
    );
    expect(c).toEqual(new Map([["c", 0]]));
    expect(aa).toEqual(new Map([["a", 3]]));
  });

  it("a request that arrives while a read is out gets a read that starts after it", async () => {
    const remote = new Map([["a", 1]]);
    const { store, reads } = fakeStore(remote);
    const risk = atRisk(store);
    const first = risk.workerCounts(["a"]);
    await turn();
    expect(reads).toHaveLength(1);
    // A worker connects on another node while the first read is out.
    remote.set("a", 2);
    const second = risk.workerCounts(["a"]);
    await turn();
    expect(reads).toHaveLength(2);
    // The first read saw the store before the worker came.
    remote.set("a", 1);
    reads[0]?.finish();
    expect(await first).toEqual(new Map([["a", 1]]));
    remote.set("a", 2);
    reads[1]?.finish();
    expect(await second).toEqual(new Map([["a", 2]]));
  });

  it("counts the caller read with its own statement are not read again; the others are", async () => {
    const { store, reads } = fakeStore(new Map([["b", 4]]));
    const risk = atRisk(store, { a: 1 });
    // All known: answered without a read.
    expect(await risk.workerCounts(["a"], new Map([["a", 2]]))).toEqual(new Map([["a", 3]]));
    expect(reads).toHaveLength(0);
    const mixed = risk.workerCounts(["a", "b"], new Map([["a", 0]]));
    await turn();
    expect(reads.map((r) => r.handlers)).toEqual([["b"]]);
    reads[0]?.finish();
    expect(await mixed).toEqual(
      new Map([
        ["a", 1],
        ["b", 4],
      ]),
    );
  });
});
