/**
 * The dashboard tests' set-up: headless Chromium (Debian's `chromium`, driven by playwright-core)
 * and a real node on the embedded store, seeded through the node's Connect JSON API before the
 * browser opens. `dashboardPage` registers the beforeAll/afterAll that start and stop both (and
 * drop the store); read the node and the page through what it answers once the tests run.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { startTestNode, type TestNode } from "./node.js";
import { requireUnderCi, type Requirement } from "./requirements.js";
import { createSqliteStore, type TestStore } from "./stores.js";

export const CHROMIUM = "/usr/bin/chromium";

/** What the browser tests need; under CI=true a file that needs it fails without it. */
export const chromiumHere: Requirement = {
  met: existsSync(CHROMIUM),
  needs: `needs Debian's chromium at ${CHROMIUM} (apt-get update && apt-get install -y chromium)`,
};
requireUnderCi(chromiumHere);

/** A Connect JSON call to the node: `path` is `Service/Method`, e.g. `JobService/AddJob`. */
export type Post = (path: string, body: unknown) => Promise<unknown>;

export interface DashboardPage {
  readonly node: TestNode;
  readonly page: Page;
  readonly post: Post;
  /** How many requests the page has made to `method` (`Service/Method`) so far. */
  readonly calls: (method: string) => number;
  /**
   * Waits for the page to show what `read` expects while the page's clock is paused (see
   * `page.clock`): each look moves it on by one millisecond, so the page's zero-delay timeouts
   * (how the query library hands its results to React) run, and its refresh timers do not.
   */
  readonly pollPaused: <T>(read: () => Promise<T>) => ReturnType<typeof expect.poll<T>>;
}

export function dashboardPage(
  seed: (post: Post) => Promise<void>,
  options: { readonly timeoutMs?: number } = {},
): DashboardPage {
  let db: TestStore | undefined;
  let node: TestNode | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const counts = new Map<string, number>();

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the dashboard page is not open (use it in a test)");
    return value;
  };

  const post: Post = async (path, body) => {
    const res = await fetch(`${started(node).url}/metronome.v1.${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${String(res.status)} ${await res.text()}`);
    return res.json();
  };

  beforeAll(async () => {
    db = await createSqliteStore();
    node = await startTestNode(db.url);
    await seed(post);
    // As root (CI) Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on("request", (request) => {
      const method = /\/metronome\.v1\.(\w+\/\w+)$/.exec(request.url())?.[1];
      if (method !== undefined) counts.set(method, (counts.get(method) ?? 0) + 1);
    });
  }, options.timeoutMs ?? 60_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop();
    await db?.drop();
  });

  return {
    get node() {
      return started(node);
    },
    get page() {
      return started(page);
    },
    post,
    calls: (method) => counts.get(method) ?? 0,
    pollPaused: (read) =>
      expect.poll(async () => {
        await started(page).clock.runFor(1);
        return read();
      }),
  };
}
