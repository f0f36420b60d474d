/**
 * The "worker disconnected" log line says why the session ended (`reason`, as its
 * worker_disconnected event does): the worker closed its stream, broke the protocol, its API
 * key was revoked, or the node stopped. Worker sessions over plain gRPC (test/support/grpc-js.ts) on
 * real nodes (port 0, SQLite), whose log lines the test reads.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { systemClock } from "../../server/src/clock.js";
import { loadConfig } from "../../server/src/config/load.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { startNode, type Node } from "../../server/src/server.js";
import { rawWorkerSession, type RawSession } from "../support/grpc-js.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const ADMIN_TOKEN = "bootstrap-admin-token";
const ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

const hello = (workerId: string) => ({
  hello: { worker_id: workerId, handlers: [{ handler: "h1", max_concurrency: 1 }] },
});

describe("the worker disconnected log line", () => {
  const lines: Record<string, unknown>[] = [];
  const stores: TestStore[] = [];
  const sessions: RawSession[] = [];
  let node: Node;

  /** A node on a fresh SQLite file, listening on port 0, logging into `lines`. */
  async function start(): Promise<Node> {
    const db = await createSqliteStore("metronome-disconnect-log");
    stores.push(db);
    const config = loadConfig({
      env: {
        SCHEDULER__JOBSTORE_URL: db.url,
        METRONOME_HOST: "127.0.0.1",
        METRONOME_PORT: "0",
        METRONOME_SHUTDOWN_GRACE: "1",
        METRONOME_AUTH_TOKENS: ADMIN_TOKEN,
      },
      defaultNodeId: "test-node",
    });
    const log = pino(
      { level: "info" },
      {
        write: (line: string) => {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    );
    return startNode(config, log, systemClock);
  }

  /** A session of worker `workerId` on `on`, welcomed. */
  async function open(on: Node, workerId: string, headers = ADMIN): Promise<RawSession> {
    const s = rawWorkerSession(on.listener.address.port, headers);
    sessions.push(s);
    s.send(hello(workerId));
    expect((await s.next()).payload).toBe("welcome");
    return s;
  }

  /** The reason of worker `workerId`'s "worker disconnected" line, once it is logged. */
  const reasonOf = (workerId: string): Promise<unknown> =>
    vi.waitFor(
      () => {
        const line = lines.find((l) => l.msg === "worker disconnected" && l.workerId === workerId);
        if (line === undefined) throw new Error(`no line for ${workerId} yet`);
        return line.reason;
      },
      { timeout: 10_000, interval: 20 },
    );

  beforeAll(async () => {
    node = await start();
  });
  afterAll(async () => {
    for (const s of sessions) s.close();
    await node.stop();
    for (const db of stores) await db.drop();
  });

  it("says closed when the worker ends its stream", async () => {
    const s = await open(node, "w-closed");
    expect(await s.end()).toBe(0);
    expect(await reasonOf("w-closed")).toBe("closed");
  });

  it("says what broke the protocol", async () => {
    const s = await open(node, "w-error");
    s.send(hello("w-error"));
    await expect(s.next()).rejects.toThrow(/only allowed as the first message/);
    expect(await reasonOf("w-error")).toBe("error: hello: is only allowed as the first message");
  });

  it("says the key ended when the worker's API key is revoked", async () => {
    const keys = createClient(
      KeyService,
      createGrpcTransport({
        baseUrl: `http://127.0.0.1:${String(node.listener.address.port)}`,
        interceptors: [
          (next) => (req) => {
            req.header.set("authorization", ADMIN.authorization);
            return next(req);
          },
        ],
      }),
    );
    const made = await keys.createKey({ name: "worker", scopes: ["worker:h1"] });
    const keyId = made.key?.keyId ?? "";
    const s = await open(node, "w-revoked", { authorization: `Bearer ${made.secret}` });
    const closing = s.next().catch((err: unknown) => err);
    await keys.revokeKey({ keyId });
    expect(String(await closing)).toMatch(/revoked/);
    expect(await reasonOf("w-revoked")).toBe(`key ended: the API key ${keyId} was revoked`);
  });

  it("says node stopping when the node stops", async () => {
    const other = await start();
    try {
      const s = await open(other, "w-stopping");
      const closing = s.next().catch((err: unknown) => err);
      await other.stop();
      expect(String(await closing)).toMatch(/shutting down/);
    } finally {
      await other.stop();
    }
    expect(await reasonOf("w-stopping")).toBe("node stopping");
  });
});
