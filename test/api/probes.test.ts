/**
 * The plain HTTP probes on the service port: GET /healthz (liveness) and GET /readyz (the store
 * answers and is migrated), over HTTP/1.1 and h2c, with real requests to real nodes. /readyz
 * turns 503 when MariaDB is cut (a TCP proxy in front of it) and 200 again when it is back, and
 * is 503 while migrations this build has are not applied; /metrics still answers while it is
 * cut.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { SqliteStore } from "../../server/src/store/sqlite/store.js";
import { MYSQL_URL, createTestDatabase, describeMysql } from "../support/mysql.js";
import { startTestNode, type TestNode } from "../support/node.js";
import { TcpProxy } from "../support/proxy.js";

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function h1(port: number, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

function h2(port: number, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${String(port)}`);
    session.on("error", reject);
    const req = session.request({ ":path": path, ":method": method });
    let status = 0;
    let headers: Answer["headers"] = {};
    let body = "";
    req.setEncoding("utf8");
    req.on("response", (h) => {
      status = Number(h[":status"]);
      headers = h;
    });
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      session.close();
      resolve({ status, body, headers });
    });
    req.on("error", (err: Error) => {
      session.close();
      reject(err);
    });
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), "metronome-probes-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ["HTTP/1.1", h1],
  ["HTTP/2 (h2c)", h2],
])("probes over %s", (_name, get) => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode(`sqlite:///${join(dir, `${_name.replace(/\W/g, "")}.db`)}`);
  });
  afterAll(async () => {
    await node.stop();
  });

  it("GET /healthz answers 200 ok", async () => {
    const res = await get(node.port, "/healthz");
    expect(res).toMatchObject({ status: 200, body: "ok\n" });
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("GET /readyz answers 200 ready (query strings are ignored)", async () => {
    expect(await get(node.port, "/readyz")).toMatchObject({ status: 200, body: "ready\n" });
    expect(await get(node.port, "/readyz?verbose")).toMatchObject({ status: 200 });
  });

  it("HEAD answers the status without a body; other methods get 405", async () => {
    const head = await get(node.port, "/readyz", "HEAD");
    expect(head).toMatchObject({ status: 200, body: "" });
    const post = await get(node.port, "/healthz", "POST");
    expect(post).toMatchObject({ status: 405 });
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("other paths still go to the API", async () => {
    expect((await get(node.port, "/health")).status).toBe(404);
    const res = await fetch(`${node.url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await res.json()).toEqual({ status: "SERVING" });
  });
});

describe("/readyz and migrations", () => {
  it("counts every migration as pending on an empty database", async () => {
    const store = SqliteStore.open(join(dir, "empty.db"));
    try {
      expect(await store.pendingMigrations()).toBeGreaterThanOrEqual(4);
      await store.migrate();
      expect(await store.pendingMigrations()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("is 503 while a migration of this build is not applied, 200 once it is", async () => {
    const file = join(dir, "behind.db");
    // Migrated by a first start, then made to look one migration behind.
    await (await startTestNode(`sqlite:///${file}`)).stop();
    const db = new Database(file);
    try {
      const last = db
        .prepare("SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at DESC")
        .get() as { hash: string; created_at: number };
      db.prepare("DELETE FROM __drizzle_migrations WHERE created_at = ?").run(last.created_at);
      const node = await startTestNode(`sqlite:///${file}`, {
        METRONOME_MIGRATE_ON_START: "false",
      });
      try {
        expect(await h1(node.port, "/readyz")).toEqual(
          expect.objectContaining({
            status: 503,
            body: "not ready: 1 database migration not applied (run metronome migrate)\n",
          }),
        );
        expect((await h1(node.port, "/healthz")).status).toBe(200);
        // `metronome migrate` recorded it (the schema itself was never changed here).
        db.prepare("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)").run(
          last.hash,
          last.created_at,
        );
        expect(await h1(node.port, "/readyz")).toMatchObject({ status: 200, body: "ready\n" });
      } finally {
        await node.stop();
      }
    } finally {
      db.close();
    }
  });
});

describeMysql("/readyz when the database goes away", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let node: TestNode;

  beforeAll(async () => {
    db = await createTestDatabase("metronome_probes");
    const target = new URL(MYSQL_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 3306) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    node = await startTestNode(viaProxy.toString());
  });
  afterAll(async () => {
    await node.stop();
    await proxy.close();
    await db.drop();
  });

  it("finds the MariaDB schema current (the node migrated it)", async () => {
    const store = MysqlStore.open(db.url);
    try {
      expect(await store.pendingMigrations()).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("is 503 while MariaDB is cut off and 200 once it is back; /healthz stays 200", async () => {
    for (const get of [h1, h2]) expect((await get(node.port, "/readyz")).status).toBe(200);
    proxy.cut();
    for (const get of [h1, h2]) {
      expect(await get(node.port, "/readyz")).toMatchObject({
        status: 503,
        body: "not ready: the job store is unavailable\n",
      });
      expect((await get(node.port, "/healthz")).status).toBe(200);
    }
    proxy.restore();
    for (const get of [h1, h2])
      expect(await get(node.port, "/readyz")).toMatchObject({ status: 200, body: "ready\n" });
  });

  it("/metrics still answers while MariaDB is cut off, counting the store's failures", async () => {
    const before = await h1(node.port, "/metrics");
    expect(before.status).toBe(200);
    expect(before.body).toMatch(/^# TYPE metronome_active_leases gauge$/m);
    proxy.cut();
    try {
      const during = await h1(node.port, "/metrics");
      expect(during.status).toBe(200);
      // The rest of the exposition is there (the gauges read from the store are left empty) ...
      expect(during.body).toMatch(/^# TYPE metronome_store_operation_errors_total counter$/m);
      expect(during.body).toMatch(/^# TYPE metronome_active_leases gauge$/m);
      // ... and the failed reads are counted, and scraped: that is where an outage shows. (The
      // first scrape's reads failed during that scrape, after their counter was written.)
      const next = await h1(node.port, "/metrics");
      expect(next.status).toBe(200);
      expect(next.body).toMatch(
        /^metronome_store_operation_errors_total\{operation="countActiveRuns"\} [1-9]\d*$/m,
      );
    } finally {
      proxy.restore();
    }
  });
});
