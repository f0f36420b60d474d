/**
 * Plain HTTP probes on the service port, for load balancers and Kubernetes, over HTTP/1.1 and
 * HTTP/2 alike: `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness:
 * the job store answers and its schema is this build's). Every other request goes to the API.
 * Probes need no token and tell nothing beyond ready or not, and why. `GET /metrics` serves the
 * node's Prometheus metrics (no token either: keep the port off the internet, or scrape through
 * a proxy that adds auth).
 */
import type http from "node:http";
import type http2 from "node:http2";
import type { RequestHandler } from "./listen.js";

/** Null when ready; otherwise why not, in a few words. */
export type Readiness = () => Promise<string | null>;

/** The Prometheus text of the node's metrics (`GET /metrics`). */
export type Scrape = () => Promise<{ readonly body: string; readonly contentType: string }>;

const PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

export function withProbes(
  api: RequestHandler,
  readiness: Readiness,
  metrics?: Scrape,
): RequestHandler {
  return (req, res) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (!PATHS.has(path)) {
      api(req, res);
      return;
    }
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      answer(res, 405, "use GET\n", head, { allow: "GET, HEAD" });
      return;
    }
    if (path === "/healthz") {
      answer(res, 200, "ok\n", head);
      return;
    }
    if (path === "/metrics") {
      if (metrics === undefined) {
        api(req, res);
        return;
      }
      metrics().then(
        ({ body, contentType }) => {
          answer(res, 200, body, head, { "content-type": contentType });
        },
        (err: unknown) => {
          answer(
            res,
            503,
            `metrics unavailable: ${err instanceof Error ? err.message : String(err)}\n`,
            head,
          );
        },
      );
      return;
    }
    readiness().then(
      (reason) => {
        if (reason === null) answer(res, 200, "ready\n", head);
        else answer(res, 503, `not ready: ${reason}\n`, head);
      },
      (err: unknown) => {
        answer(res, 503, `not ready: ${err instanceof Error ? err.message : String(err)}\n`, head);
      },
    );
  };
}

function answer(
  res: http.ServerResponse | http2.Http2ServerResponse,
  status: number,
  body: string,
  head: boolean,
  headers: Record<string, string> = {},
): void {
  const all = {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    "cache-control": "no-store",
    ...headers,
  };
  // The two response classes share this API but not a type TypeScript can call through.
  const r = res as http.ServerResponse;
  if (r.destroyed || r.writableEnded) return; // the client went away meanwhile
  r.writeHead(status, all);
  r.end(head ? undefined : body);
}
