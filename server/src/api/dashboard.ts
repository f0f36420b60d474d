/**
 * The web dashboard's files, served on the service port at `/ui/` (built from `server/ui/` into
 * `server/dist/ui` by `npm run build`, or by `npm start` when missing or stale). Hashed assets
 * (`/ui/assets/…`) are cached for a year; another file of the build is served as it is, and any
 * other path under `/ui/` is a page of the single-page app and gets `index.html` (job ids may
 * hold dots: `/ui/jobs/default/backup.daily` is a page). A missing file under `/ui/assets/` is
 * 404 (a broken or stale build shows), a path that would leave the folder is 400, a method
 * other than GET and HEAD is 405. Every other request goes to the API. The files need no token:
 * they hold no data, and the page sends the token with its API calls.
 */
import { createReadStream, statSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { extname, join, resolve, sep } from "node:path";
import type { RequestHandler } from "./listen.js";

export const DASHBOARD_PATH = "/ui";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Hashed file names never change content: cached for a year. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** index.html names the current hashed assets: always revalidated. */
const REVALIDATE = "no-cache";

type Response = http.ServerResponse | http2.Http2ServerResponse;

/** `next` with the dashboard's files in `dir` served at `/ui`. */
export function withDashboard(next: RequestHandler, dir: string): RequestHandler {
  const root = resolve(dir);
  return (req, res) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`)) {
      next(req, res);
      return;
    }
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      text(res, 405, "use GET\n", head, { allow: "GET, HEAD" });
      return;
    }
    if (path === DASHBOARD_PATH) {
      // Relative links of the app resolve against /ui/.
      text(res, 308, `see ${DASHBOARD_PATH}/\n`, head, {
        location: `${DASHBOARD_PATH}/${q === -1 ? "" : url.slice(q)}`,
      });
      return;
    }
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(DASHBOARD_PATH.length + 1));
    } catch {
      text(res, 400, "malformed path\n", head);
      return;
    }
    const segments = relative.split(/[/\\]/);
    if (relative.includes("\0") || segments.some((s) => s === "..")) {
      text(res, 400, "path leaves the dashboard's folder\n", head);
      return;
    }
    const file = resolve(root, ...segments);
    if (file !== root && !file.startsWith(root + sep)) {
      text(res, 400, "path leaves the dashboard's folder\n", head);
      return;
    }
    if (segments[0] === "assets") {
      // A missing hashed asset is a broken or stale build: 404, never the app.
      serveFile(res, file, head, IMMUTABLE, () => {
        text(res, 404, "no such file\n", head);
      });
      return;
    }
    // A file of the build (favicon.svg), else a page of the app (/ui/, /ui/jobs/default/x, and
    // ids with a dot such as /ui/jobs/default/backup.daily): the app's router reads the path.
    const index = join(root, "index.html");
    serveFile(res, file, head, REVALIDATE, () => {
      serveFile(res, index, head, REVALIDATE, () => {
        text(
          res,
          503,
          "the dashboard is not built: run `npm run build` (or `npm start`, which builds it)\n",
          head,
        );
      });
    });
  };
}

function serveFile(
  res: Response,
  file: string,
  head: boolean,
  cacheControl: string,
  missing: () => void,
): void {
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) {
      missing();
      return;
    }
    size = stat.size;
  } catch {
    missing();
    return;
  }
  const r = res as http.ServerResponse;
  if (r.destroyed || r.writableEnded) return;
  r.writeHead(200, {
    "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "content-length": String(size),
    "cache-control": cacheControl,
    "x-content-type-options": "nosniff",
  });
  if (head) {
    r.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on("error", () => {
    r.destroy();
  });
  stream.pipe(r);
}

function text(
  res: Response,
  status: number,
  body: string,
  head: boolean,
  headers: Record<string, string> = {},
): void {
  const r = res as http.ServerResponse;
  if (r.destroyed || r.writableEnded) return;
  r.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(Buffer.byteLength(body)),
    "cache-control": "no-store",
    ...headers,
  });
  r.end(head ? undefined : body);
}
