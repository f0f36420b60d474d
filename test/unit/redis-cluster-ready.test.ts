/**
 * A Redis Cluster store's calls while its client is not connected (store/redis/db.ts `call`,
 * cluster-connection.ts `clusterReady`): they wait for the connection, fail when an attempt to
 * connect does, and are never sent once their deadline passed (the client keeps no queue of its
 * own that would send them when the cluster is back).
 */
import { EventEmitter } from "node:events";
import type { Cluster } from "ioredis";
import { describe, expect, it } from "vitest";
import { withDeadline } from "../../server/src/lib/deadline.js";
import { StoreTimeoutError, StoreUnavailableError } from "../../server/src/store/errors.js";
import { Db } from "../../server/src/store/redis/db.js";

/** A cluster client as far as Db looks at it: its status and its status events. */
class FakeCluster extends EventEmitter {
  readonly isCluster = true;
  status = "connecting";
  defineCommand(): void {
    // Scripts are not run here.
  }
  become(status: string): void {
    this.status = status;
    this.emit(status);
  }
}

function setUp(): { cluster: FakeCluster; db: Db; sent: string[] } {
  const cluster = new FakeCluster();
  const db = new Db(cluster as unknown as Cluster, "t:", "s0");
  return { cluster, db, sent: [] };
}

describe("a Redis Cluster store's calls while the client is not connected", () => {
  it("wait for the connection and are sent once it is made", async () => {
    const { cluster, db, sent } = setUp();
    const call = db.call(() => {
      sent.push("a");
      return Promise.resolve("answer");
    });
    await Promise.resolve();
    expect(sent).toEqual([]);
    cluster.become("ready");
    expect(await call).toBe("answer");
    expect(sent).toEqual(["a"]);
  });

  it("fail UNAVAILABLE when an attempt to connect fails, and are never sent", async () => {
    const { cluster, db, sent } = setUp();
    const call = db.call(() => {
      sent.push("a");
      return Promise.resolve("answer");
    });
    cluster.become("reconnecting");
    await expect(call).rejects.toBeInstanceOf(StoreUnavailableError);
    cluster.become("ready");
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([]);
  });

  it("are not sent once their deadline passed, even when the connection is made after", async () => {
    const { cluster, db, sent } = setUp();
    const call = withDeadline(Date.now() + 20, () =>
      db.call(() => {
        sent.push("late");
        return Promise.resolve("answer");
      }),
    );
    await expect(call).rejects.toBeInstanceOf(StoreTimeoutError);
    cluster.become("ready");
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([]);
  });

  it("fail at once when the client was closed", async () => {
    const { cluster, db, sent } = setUp();
    cluster.become("end");
    await expect(db.call(() => Promise.resolve(sent.push("x")))).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(sent).toEqual([]);
  });
});
