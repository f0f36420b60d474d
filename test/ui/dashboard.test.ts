/**
 * The web dashboard as a person uses it, in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a real node on port 0 (embedded SQLite, bearer tokens on) and a real
 * SDK worker: the page states the API's error until the token is given; a job added through the
 * SDK is listed with its trigger in words, its page shows the next fire times, it fires and its
 * runs appear with their status, duration, error or result; a run's page shows its result; the
 * live event feed (Subscribe over Connect) shows a run started from the page; the Workers page
 * lists the worker's session and the Nodes page the node, as ClusterService states them; pause,
 * resume and remove act on the server. Screenshots go to test-artifacts/dashboard/ (gitignored);
 * METRONOME_UPDATE_SCREENSHOTS=1 also writes the job page to docs/dashboard.png.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MetronomeClient, SDK_NAME, Worker, defineHandler, type Scheduler } from "@metronome/sdk";
import { startTestNode, type TestNode } from "../support/node.js";
import { repoRoot } from "../support/paths.js";
import { CHROMIUM, chromiumHere } from "../support/dashboard-page.js";
import { describeIf } from "../support/requirements.js";
import { createSqliteStore, type TestStore } from "../support/stores.js";

const TOKEN = "dashboard-test-token";
const NODE_ID = "ui-node-1";
const ARTIFACTS = join(repoRoot, "test-artifacts", "dashboard");
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Succeeds with a result, except every third call, which fails: a history with both. */
let calls = 0;
const sync = defineHandler("inventory.sync", (_args: [], _kwargs: Record<string, never>) => {
  calls++;
  if (calls % 3 === 0) throw new Error("warehouse API answered 503");
  return { synced: 120 + calls, warehouse: "north" };
});
const dailyReport = defineHandler("reports.daily", ([user]: [string]) => ({ user, rows: 42 }));

describeIf(chromiumHere, "the dashboard in Chromium", () => {
  let db: TestStore;
  let node: TestNode;
  let client: MetronomeClient;
  let scheduler: Scheduler;
  let worker: Worker;
  let browser: Browser;
  let page: Page;
  let shot = 0;

  const screenshot = async (name: string): Promise<string> => {
    shot++;
    const file = join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    db = await createSqliteStore();
    node = await startTestNode(db.url, {
      METRONOME_AUTH_TOKENS: TOKEN,
      METRONOME_NODE_ID: NODE_ID,
    });
    client = new MetronomeClient({ baseUrl: node.url, token: TOKEN, logger: quiet });
    scheduler = client.scheduler("default");
    worker = new Worker({ baseUrl: node.url, token: TOKEN, logger: quiet, workerId: "ui-test" });
    worker.register(sync).register(dailyReport);
    await worker.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root (CI) Chromium's sandbox cannot start.
      args: ["--no-sandbox"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await scheduler.shutdown();
    client.close();
    await worker.stop({ graceMs: 1000 });
    await node.stop();
    await db.drop();
  });

  it("shows the API's error until the token is given, then the jobs", async () => {
    await scheduler.addJob(dailyReport, "cron", {
      hour: 2,
      minute: 30,
      id: "daily_report",
      args: ["user123"],
    });
    await page.goto(`${node.url}/ui/`);
    await expect
      .poll(() => page.getByRole("alert").first().textContent())
      .toBe("Unauthenticated: missing or invalid bearer token");
    await screenshot("no-token");

    await page.getByLabel("Token").fill(TOKEN);
    await page.getByRole("button", { name: "Use" }).click();
    const row = page.getByTestId("jobs").getByRole("row", { name: /daily_report/ });
    await row.waitFor();
    expect(await row.textContent()).toContain("every day at 02:30");
  });

  it("lists a job added through the SDK, finds it by search, and opens its page", async () => {
    await scheduler.addJob(sync, "interval", { seconds: 2, id: "inventory_sync" });
    const jobs = page.getByTestId("jobs");
    await jobs.getByRole("link", { name: "inventory_sync" }).waitFor();
    await page.getByLabel("Id starts with").fill("inv");
    await expect.poll(() => jobs.getByRole("row").count()).toBe(2); // the header and the job
    await screenshot("jobs-search");
    await jobs.getByRole("link", { name: "inventory_sync" }).click();
    await page.waitForURL(/\/ui\/jobs\/default\/inventory_sync$/);
    // The server stores the interval's start (the time it was added) and zone.
    expect(await page.getByTestId("trigger-words").textContent()).toMatch(
      /^every 2 seconds, from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );
    await expect.poll(() => page.getByTestId("fire-times").getByRole("listitem").count()).toBe(5);
  });

  it("shows the job firing: its runs with status, duration, error and result", async () => {
    const runs = page.getByTestId("runs");
    // The page refreshes its history on its own: wait for a success and a failure to show.
    await runs.getByText("succeeded").first().waitFor({ timeout: 30_000 });
    await runs.getByText("failed").first().waitFor({ timeout: 30_000 });
    const failed = runs.getByRole("row", { name: /failed/ }).first();
    expect(await failed.textContent()).toContain("warehouse API answered 503");
    const succeeded = runs.getByRole("row", { name: /succeeded/ }).first();
    expect(await succeeded.textContent()).toMatch(/"synced":\d+/);
    expect(await succeeded.textContent()).toMatch(/\d+ ms|\d+\.\d s/);
    const file = await screenshot("job-page");
    if (process.env.METRONOME_UPDATE_SCREENSHOTS === "1")
      copyFileSync(file, join(repoRoot, "docs", "dashboard.png"));
  });

  it("opens a run and shows its result", async () => {
    const runs = page.getByTestId("runs");
    await runs
      .getByRole("row", { name: /succeeded/ })
      .first()
      .getByRole("link")
      .first()
      .click();
    await page.waitForURL(/\/ui\/runs\/[^/]+$/);
    const runId = decodeURIComponent(page.url().split("/").pop() ?? "");
    const stored = await client.runs.getRun({ runId }, { headers: client.headers });
    const result = await page.getByTestId("result").textContent();
    expect(JSON.parse(result ?? "")).toEqual(JSON.parse(stored.run?.resultJson ?? ""));
    expect(await page.getByText("succeeded").first().isVisible()).toBe(true);
    await screenshot("run-page");
  });

  it("pauses and resumes the job from its page", async () => {
    await page.getByRole("link", { name: "inventory_sync" }).click();
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("button", { name: "Resume" }).waitFor();
    expect((await scheduler.getJob("inventory_sync"))?.paused).toBe(true);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("paused");
    // The audit: the change is the bootstrap token's, as the page says.
    expect(await page.getByTestId("modified-by").textContent()).toBe("env:1");
    await screenshot("job-paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("button", { name: "Pause" }).waitFor();
    expect((await scheduler.getJob("inventory_sync"))?.paused).toBe(false);
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("button", { name: "Resume" }).waitFor();
  });

  it("streams events live: a run started from the page appears in the feed", async () => {
    // The feed and the job page in two tabs, as a person would keep them.
    const feed = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    try {
      await feed.goto(`${node.url}/ui/events?job=daily_report`);
      // The token is kept per tab (sessionStorage): a new tab asks for it again.
      await feed.getByRole("alert").waitFor();
      await feed.getByLabel("Token").fill(TOKEN);
      await feed.getByRole("button", { name: "Use" }).click();
      await feed.getByText("live", { exact: true }).waitFor();
      await page.getByRole("link", { name: "default" }).click();
      await page.getByRole("link", { name: "daily_report" }).click();
      await page.getByRole("button", { name: "Run now" }).click();
      const started = page.getByText(/^started /);
      await started.waitFor();
      await started.getByRole("link").click();
      expect(await page.getByTestId("triggered-by").textContent()).toBe("env:1");
      await page.goBack();
      const events = feed.getByTestId("events");
      await events.getByRole("row", { name: /job executed/ }).waitFor({ timeout: 30_000 });
      const text = (await events.textContent()) ?? "";
      expect(text).toContain("daily_report");
      expect(text).toContain('"rows":42');
      expect(text).not.toContain("inventory_sync"); // filtered on the server
      await feed.screenshot({ path: join(ARTIFACTS, "events.png"), fullPage: true });
    } finally {
      await feed.close();
    }
  });

  it("lists the schedulers", async () => {
    await page.getByRole("link", { name: "Schedulers" }).click();
    const row = page.getByTestId("schedulers").getByRole("row", { name: /^default / });
    await row.waitFor();
    expect(await row.textContent()).toContain("running");
    await screenshot("schedulers");
  });

  it("lists the worker's session with its handlers, on its node", async () => {
    // What the node recorded last, as the API states it: the page must show the same.
    const recorded = async () => {
      const { workers } = await client.cluster.listWorkers({}, { headers: client.headers });
      return workers.find((w) => w.worker?.workerId === "ui-test");
    };
    // The node records its sessions every third of its lease: wait for the first record.
    await expect.poll(recorded, { timeout: 30_000 }).toBeDefined();
    const mine = await recorded();
    expect(mine?.nodeId).toBe(NODE_ID);
    expect(mine?.sdk).toBe(SDK_NAME); // the SDK's `sdk` label
    const sessionId = mine?.worker?.sessionId ?? "";
    expect(sessionId).not.toBe("");

    await page.getByRole("link", { name: "Workers", exact: true }).click();
    await page.waitForURL(/\/ui\/workers$/);
    const row = page.getByTestId("workers").getByRole("row", { name: new RegExp(sessionId) });
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("worker ui-test");
    expect(text).toContain(NODE_ID);
    // Each handler with its limit, as registered.
    const handlers = mine?.worker?.handlers ?? [];
    expect(handlers.map((h) => h.handler).sort()).toEqual(["inventory.sync", "reports.daily"]);
    for (const h of handlers) {
      const limit = h.maxConcurrency === 0 ? "no limit" : String(h.maxConcurrency);
      expect(text).toContain(`${h.handler} (${limit})`);
    }
    expect(text).toContain(SDK_NAME);
    await screenshot("workers");

    // Filtered on the server: a handler no worker serves lists no session.
    await page.goto(`${node.url}/ui/workers?handler=nobody.serves.this`);
    await page.getByText("No worker session matches.").waitFor();
    expect(await page.getByTestId("workers").getByRole("row").count()).toBe(1); // the header
  });

  it("lists the node with its role, state and sessions", async () => {
    await page.getByRole("link", { name: "Nodes", exact: true }).click();
    const row = page.getByTestId("nodes").getByRole("row", { name: new RegExp(`^${NODE_ID} `) });
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    expect(text).toContain("scheduler");
    expect(text).toContain("serving");
    expect(text).toContain(`127.0.0.1:`);
    await screenshot("nodes");
    // Its sessions link to the workers of that node.
    await row.getByRole("link").click();
    await page.waitForURL(new RegExp(`/ui/workers\\?node=${NODE_ID}$`));
    await page
      .getByTestId("workers")
      .getByRole("row", { name: /worker ui-test/ })
      .waitFor();
  });

  it("removes a job after a confirmation, and says so when it is gone", async () => {
    await page.goto(`${node.url}/ui/jobs/default/inventory_sync`);

    await page.getByRole("button", { name: "Remove", exact: true }).click();
    await page.getByRole("button", { name: "Remove inventory_sync for good" }).click();
    await page.waitForURL(/\/ui\/?\?scheduler=default$/);
    await expect.poll(() => page.getByRole("link", { name: "inventory_sync" }).count()).toBe(0);
    await expect(scheduler.getJob("inventory_sync")).resolves.toBeNull();
    await page.goto(`${node.url}/ui/jobs/default/inventory_sync`);
    const alert = await page.getByRole("alert").first().textContent();
    expect(alert).toBe('NotFound: job "inventory_sync" in scheduler "default" not found');
  });
});
