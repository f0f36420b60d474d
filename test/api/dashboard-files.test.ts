/**
 * The dashboard's files on the service port (server/src/api/dashboard.ts), over real HTTP/1.1
 * and h2c connections to the one listener: content types, cache headers (hashed assets for a
 * year, pages revalidated), the single-page fallback to index.html, 404 for unknown assets, paths
 * that would leave the folder refused, other methods refused, everything else left to the API,
 * and a clear answer when the dashboard is not built.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDashboard } from "../../server/src/api/dashboard.js";
import { listen, type Listener, type RequestHandler } from "../../server/src/api/listen.js";
import { loadConfig } from "../../server/src/config/load.js";

/** The transport limits a node gets by default. */
const limits = loadConfig({ env: {}, defaultNodeId: "dashboard-files" }).server.transport;

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A raw HTTP/1.1 request: the path is sent as written (fetch would normalise `..`). */
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

function h2(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${String(port)}`);
    session.on("error", reject);
    const req = session.request({ ":path": path });
    let body = "";
    let headers: http2.IncomingHttpHeaders = {};
    req.setEncoding("utf8");
    req.on("response", (h) => (headers = h));
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), body, headers });
    });
    req.on("error", reject);
    req.end();
  });
}

const INDEX = '<!doctype html><script type="module" src="/ui/assets/index-AbC123.js"></script>';
const SCRIPT = "console.log('dashboard');";
const SECRET = "not for the browser";

const root = mkdtempSync(join(tmpdir(), "metronome-dashboard-"));
const built = join(root, "ui");
/** What the API would answer: every request the dashboard leaves alone comes here. */
const api: RequestHandler = (_req, res) => {
  const r = res as http.ServerResponse;
  r.writeHead(418, { "content-type": "text/plain" });
  r.end("api");
};
let listener: Listener;
let missing: Listener;
let port: number;

beforeAll(async () => {
  mkdirSync(join(built, "assets"), { recursive: true });
  writeFileSync(join(built, "index.html"), INDEX);
  writeFileSync(join(built, "assets", "index-AbC123.js"), SCRIPT);
  writeFileSync(join(built, "assets", "index-XyZ789.css"), "body{}");
  writeFileSync(join(built, "favicon.svg"), "<svg/>");
  writeFileSync(join(root, "secret.txt"), SECRET);
  listener = await listen(withDashboard(api, built), { host: "127.0.0.1", port: 0, limits });
  missing = await listen(withDashboard(api, join(root, "not-built")), {
    host: "127.0.0.1",
    port: 0,
    limits,
  });
  port = listener.address.port;
});

afterAll(async () => {
  await listener.close(100);
  await missing.close(100);
  rmSync(root, { recursive: true, force: true });
});

describe("the dashboard's files", () => {
  it("serves index.html at /ui/, revalidated on every load", async () => {
    const a = await h1(port, "/ui/");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(a.headers["cache-control"]).toBe("no-cache");
    expect(a.headers["content-length"]).toBe(String(Buffer.byteLength(INDEX)));
    expect(a.body).toBe(INDEX);
  });

  it("redirects /ui to /ui/, keeping the query", async () => {
    const a = await h1(port, "/ui?scheduler=report");
    expect(a.status).toBe(308);
    expect(a.headers.location).toBe("/ui/?scheduler=report");
  });

  it("falls back to index.html for the app's pages", async () => {
    for (const path of [
      "/ui/jobs/default/daily_report",
      "/ui/jobs/default/backup.daily",
      "/ui/events?job=x",
      "/ui/runs/abc",
    ]) {
      const a = await h1(port, path);
      expect(a.status, path).toBe(200);
      expect(a.headers["content-type"], path).toBe("text/html; charset=utf-8");
      expect(a.body, path).toBe(INDEX);
    }
  });

  it("serves hashed assets with their content type, cached for a year", async () => {
    const js = await h1(port, "/ui/assets/index-AbC123.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.headers["x-content-type-options"]).toBe("nosniff");
    expect(js.body).toBe(SCRIPT);
    const css = await h1(port, "/ui/assets/index-XyZ789.css");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    const svg = await h1(port, "/ui/favicon.svg");
    expect(svg.headers["content-type"]).toBe("image/svg+xml");
    expect(svg.headers["cache-control"]).toBe("no-cache");
  });

  it("answers HEAD with the headers and no body", async () => {
    const a = await h1(port, "/ui/assets/index-AbC123.js", "HEAD");
    expect(a.status).toBe(200);
    expect(a.headers["content-length"]).toBe(String(Buffer.byteLength(SCRIPT)));
    expect(a.body).toBe("");
  });

  it("answers 404 for an asset that does not exist, not the app", async () => {
    for (const path of ["/ui/assets/index-old.js", "/ui/assets/missing.png"]) {
      const a = await h1(port, path);
      expect(a.status, path).toBe(404);
      expect(a.body, path).not.toContain("<!doctype");
    }
  });

  it("refuses paths that would leave the folder", async () => {
    for (const path of [
      "/ui/../secret.txt",
      "/ui/%2e%2e/secret.txt",
      "/ui/assets/..%2f..%2fsecret.txt",
      "/ui/..%5csecret.txt",
      "/ui/assets/%2E%2E/%2E%2E/secret.txt",
      "/ui/index.html%00.js",
      "/ui/%E0%A4%A",
    ]) {
      const a = await h1(port, path);
      expect(a.status, path).toBe(400);
      expect(a.body, path).not.toContain(SECRET);
    }
  });

  it("refuses methods other than GET and HEAD", async () => {
    const a = await h1(port, "/ui/", "POST");
    expect(a.status).toBe(405);
    expect(a.headers.allow).toBe("GET, HEAD");
  });

  it("leaves every other path to the API", async () => {
    for (const path of ["/", "/uix", "/metronome.v1.JobService/ListJobs", "/healthz"]) {
      const a = await h1(port, path);
      expect(a.status, path).toBe(418);
      expect(a.body, path).toBe("api");
    }
  });

  it("serves over HTTP/2 too, on the same port", async () => {
    const a = await h2(port, "/ui/assets/index-AbC123.js");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(a.body).toBe(SCRIPT);
  });

  it("says how to build the dashboard when it is not built", async () => {
    const a = await h1(missing.address.port, "/ui/");
    expect(a.status).toBe(503);
    expect(a.body).toContain("npm run build");
    const asset = await h1(missing.address.port, "/ui/assets/index-AbC123.js");
    expect(asset.status).toBe(404);
  });
});
