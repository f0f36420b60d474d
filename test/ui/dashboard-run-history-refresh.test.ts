/**
 * A job's run history (the Job page) with many pages shown, in headless Chromium (Debian's
 * `chromium`, playwright-core) against a real node on the embedded store. The page's clock is
 * Playwright's (`page.clock`), paused before the page loads: the 2-second timer fires only when
 * the test moves the clock on by 2 s, and every ListRuns request the page makes is counted.
 *
 * - One refresh cycle costs one ListRuns call, not one per page shown (it used to be 4 here).
 * - Runs started between two refreshes appear at the top; the runs they push past the first page
 *   are still shown, once: the history is the API's, run for run, in its order.
 * - A run past the first page keeps its status as read until **Refresh**, which reads all the
 *   runs shown again in one call; a run on the first page shows its new status at the next cycle.
 */
import { expect, it } from "vitest";
import { chromiumHere, dashboardPage, type Post } from "../support/dashboard-page.js";
import { describeIf } from "../support/requirements.js";

const JOB = "nightly_export";
/** The history's page size, and the number of pages the test shows with More. */
const PAGE = 25;
const PAGES = 4;
const RUNS = PAGE * PAGES;
/** The history's refresh interval. */
const REFRESH_MS = 2000;

interface RunJson {
  readonly runId: string;
  readonly status: string;
}

describeIf(chromiumHere, "a job's run history with many pages shown, in Chromium", () => {
  const ui = dashboardPage(async (post) => {
    await post("JobService/AddJob", {
      job: { id: JOB, handler: "ops.export", trigger: { crontab: { expression: "0 3 * * *" } } },
    });
    for (let i = 0; i < RUNS; i++) await runNow(post);
  });
  const { post, pollPaused } = ui;
  const listRunsCalls = () => ui.calls("RunService/ListRuns");

  /** Manual runs stay pending: no worker serves them. */
  const runNow = async (post: Post): Promise<string> => {
    const res = (await post("JobService/RunJobNow", { jobId: JOB })) as { run: RunJson };
    return res.run.runId;
  };
  /** The job's whole history as the API lists it, newest first. */
  const apiHistory = async (): Promise<RunJson[]> => {
    const res = (await post("RunService/ListRuns", { jobId: JOB, pageSize: 1000 })) as {
      runs?: RunJson[];
      nextPageToken?: string;
    };
    expect(res.nextPageToken ?? "").toBe("");
    return res.runs ?? [];
  };

  const table = () => ui.page.getByTestId("runs");
  const shownIds = () => table().locator("tbody tr td:first-child code").allTextContents();
  const row = (runId: string) =>
    table().locator("tbody tr", { has: ui.page.getByRole("link", { name: runId, exact: true }) });
  const statusOf = (runId: string) => row(runId).locator(".status").textContent();
  it("shows 4 pages of runs with More", async () => {
    const start = Date.now();
    await ui.page.clock.install({ time: start });
    await ui.page.clock.pauseAt(start + 1000);
    await ui.page.goto(`${ui.node.url}/ui/jobs/default/${JOB}`);
    const rows = table().locator("tbody tr");
    await pollPaused(() => rows.count()).toBe(PAGE);
    const more = ui.page.getByRole("button", { name: "More" });
    for (let shown = PAGE; shown < RUNS; shown += PAGE) {
      await pollPaused(() => more.isEnabled()).toBe(true);
      await more.click();
      await pollPaused(() => rows.count()).toBe(shown + PAGE);
    }
    await pollPaused(() => more.count()).toBe(0);
    expect(await shownIds()).toEqual((await apiHistory()).map((r) => r.runId));
  }, 60_000);

  it("one refresh cycle reads the first page only; new runs come at the top, none doubled or lost", async () => {
    const shown = await shownIds();
    const third = shown[2] ?? "";
    const past = shown[PAGE * 2 + 3] ?? "";
    // Between two refreshes: two runs start, a run of the first page and one of the third
    // page are cancelled. The two new runs push two runs past the first page.
    const added = [await runNow(post), await runNow(post)];
    await post("RunService/CancelRun", { runId: third, reason: "test" });
    await post("RunService/CancelRun", { runId: past, reason: "test" });

    const before = listRunsCalls();
    await ui.page.clock.runFor(REFRESH_MS); // the timer fires once
    for (const id of added) await pollPaused(() => row(id).count()).toBe(1);
    // A cycle is over once the page shows what it read: one call, whatever the pages shown.
    expect(listRunsCalls() - before).toBe(1);

    const ids = await shownIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(RUNS + 2);
    // Run for run the API's history, in its order: the new runs first.
    expect(ids).toEqual((await apiHistory()).map((r) => r.runId));
    expect(new Set(ids.slice(0, 2))).toEqual(new Set(added));
    // On the first page, the new status; past it, the status as read until Refresh.
    expect(await statusOf(third)).toBe("cancelled");
    expect(await statusOf(past)).toBe("pending");
    expect(await ui.page.getByTestId("runs-rest-read-at").textContent()).toContain(
      "the others as read at",
    );
  });

  it("Refresh reads every run shown again", async () => {
    const before = listRunsCalls();
    await ui.page.getByRole("button", { name: "Refresh" }).click();
    await pollPaused(async () => {
      const statuses = await table().locator("tbody tr .status").allTextContents();
      return statuses.filter((s) => s === "cancelled").length;
    }).toBe(2);
    await pollPaused(() => ui.page.getByRole("button", { name: "Refresh" }).isEnabled()).toBe(true);
    // 102 runs shown: one page of up to 1,000.
    expect(listRunsCalls() - before).toBe(1);
    expect(await shownIds()).toEqual((await apiHistory()).map((r) => r.runId));
  });
});
