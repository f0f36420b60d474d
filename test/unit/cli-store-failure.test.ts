/**
 * The line `metronome serve` prints when its job store cannot be reached
 * (server/src/cli/store-failure.ts): the store by its URL without a password, and the driver's
 * reason, with the reasons under it (each address an AggregateError tried).
 */
import { describe, expect, it } from "vitest";
import { storeFailure } from "../../server/src/cli/store-failure.js";
import { StoreUnavailableError } from "../../server/src/store/errors.js";

const refused = (address: string) =>
  Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });

describe("storeFailure", () => {
  it("names the store without its password, and the cause", () => {
    expect(
      storeFailure(new StoreUnavailableError(refused("127.0.0.1:1")), {
        kind: "mysql",
        url: "mysql://root:hunter2@127.0.0.1:1/x",
      }),
    ).toBe(
      "the job store is unavailable (mysql://root:***@127.0.0.1:1/x): connect ECONNREFUSED 127.0.0.1:1",
    );
    expect(
      storeFailure(new StoreUnavailableError(refused("127.0.0.1:1")), {
        kind: "postgres",
        url: "postgres://app@127.0.0.1:1/db",
      }),
    ).toBe(
      "the job store is unavailable (postgres://app@127.0.0.1:1/db): connect ECONNREFUSED 127.0.0.1:1",
    );
  });

  it("hides a password holding URL-encoded characters, also in the driver's message", () => {
    const line = storeFailure(new StoreUnavailableError(new Error("auth failed for p@ss/word!")), {
      kind: "redis",
      url: "redis://user:p%40ss%2Fword!@10.0.0.1:6379/0",
    });
    expect(line).toBe(
      "the job store is unavailable (redis://user:***@10.0.0.1:6379/0): auth failed for ***",
    );
  });

  it("names every node of a Redis Cluster, and each address an AggregateError tried", () => {
    const cause = new AggregateError([refused("::1:7000"), refused("127.0.0.1:7000")], "");
    expect(
      storeFailure(new StoreUnavailableError(cause), {
        kind: "redis-cluster",
        connection: {
          nodes: [
            { host: "localhost", port: 7000 },
            { host: "::1", port: 7001 },
          ],
          password: "cluster-secret",
          tls: true,
          prefix: "metronome:",
          shards: 16,
        },
      }),
    ).toBe(
      "the job store is unavailable (rediss+cluster://:***@localhost:7000,[::1]:7001): " +
        "connect ECONNREFUSED ::1:7000; connect ECONNREFUSED 127.0.0.1:7000",
    );
  });
});
