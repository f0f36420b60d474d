/**
 * The Jobs page's refresh with many pages shown, in headless Chromium (Debian's `chromium`,
 * playwright-core) against a real node on the embedded store. The page's clock is Playwright's
 * (`page.clock`), paused before the page loads: the 5-second timer fires only when the test moves
 * the clock on by 5 s, and every ListJobs request the page makes is counted.
 *
 * - One refresh cycle costs one ListJobs call, not one per page shown (it used to be 25).
 * - Jobs added and removed among the first page's ids between two refreshes show up and go,
 *   and the job they push out of the first page is still shown, once.
 * - Rows past the first page are not read again by the timer; **Refresh** reads all 1,251 rows
 *   again in two calls (pages of up to 1,000).
 */
import { expect, it } from "vitest";
import { chromiumHere, dashboardPage, type Post } from "../support/dashboard-page.js";
import { describeIf } from "../support/requirements.js";

/** The page's page size, and the number of pages the test shows with More. */
const PAGE = 50;
const PAGES = 25;
const JOBS = PAGE * PAGES;
/** The page's refresh interval. */
const REFRESH_MS = 5000;
const jobId = (i: number) => `job-${String(i).padStart(4, "0")}`;

describeIf(chromiumHere, "the Jobs page's refresh with many pages shown, in Chromium", () => {
  const addJobs = (post: Post, ids: readonly string[]) =>
    post("JobService/AddJobs", {
      jobs: ids.map((id) => ({
        id,
        handler: "ops.backup",
        trigger: { crontab: { expression: "0 3 * * *" } },
      })),
    });
  const ui = dashboardPage(async (post) => {
    const ids = Array.from({ length: JOBS }, (_, i) => jobId(i));
    for (let i = 0; i < ids.length; i += 1000) await addJobs(post, ids.slice(i, i + 1000));
  });
  const { post, pollPaused } = ui;
  const listJobsCalls = () => ui.calls("JobService/ListJobs");

  const table = () => ui.page.getByTestId("jobs");
  const shownIds = () => table().locator("tbody tr td:first-child a").allTextContents();
  const row = (id: string) =>
    table().locator("tbody tr", { has: ui.page.getByRole("link", { name: id, exact: true }) });

  it("shows 25 pages with More", async () => {
    // The page's clock is paused before it loads: its timers fire only when the test moves it.
    const start = Date.now();
    await ui.page.clock.install({ time: start });
    await ui.page.clock.pauseAt(start + 1000);
    await ui.page.goto(`${ui.node.url}/ui/`);
    const rows = table().locator("tbody tr");
    await pollPaused(() => rows.count()).toBe(PAGE);
    const more = ui.page.getByRole("button", { name: "More" });
    for (let shown = PAGE; shown < JOBS; shown += PAGE) {
      await more.click();
      await pollPaused(() =>
        table()
          .getByRole("link", { name: jobId(shown + PAGE - 1), exact: true })
          .count(),
      ).toBe(1);
    }
    await pollPaused(() => more.count()).toBe(0);
    expect(await rows.count()).toBe(JOBS);
    expect(await shownIds()).toEqual(Array.from({ length: JOBS }, (_, i) => jobId(i)));
  }, 60_000);

  it("one refresh cycle reads the first page only, and rows are neither doubled nor lost", async () => {
    // Between two refreshes: two jobs sort before every other, one of the first page goes,
    // and one past the first page is paused. The first page now ends with job-0048:
    // job-0049 leaves it.
    await addJobs(post, ["aaa-1", "aaa-2"]);
    await post("JobService/RemoveJob", { jobId: jobId(20) });
    await post("JobService/PauseJob", { jobId: jobId(1000) });

    const before = listJobsCalls();
    await ui.page.clock.runFor(REFRESH_MS); // the timer fires once
    await pollPaused(() => row("aaa-2").count()).toBe(1);
    // A cycle is over once the page shows what it read: one call, whatever the pages shown.
    expect(listJobsCalls() - before).toBe(1);

    const ids = await shownIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(JOBS + 2 - 1);
    expect(ids.slice(0, 3)).toEqual(["aaa-1", "aaa-2", jobId(0)]);
    expect(ids).not.toContain(jobId(20));
    // Pushed out of the first page, still shown in its place.
    expect(ids.slice(PAGE - 1, PAGE + 2)).toEqual([jobId(48), jobId(49), jobId(50)]);
    // Past the first page, rows are as read until Refresh.
    expect(await row(jobId(1000)).textContent()).toMatch(/active$/);
  });

  it("Refresh reads every row shown again in pages of up to 1,000", async () => {
    const before = listJobsCalls();
    await ui.page.getByRole("button", { name: "Refresh" }).click();
    await pollPaused(() => row(jobId(1000)).textContent()).toMatch(/paused$/);
    await pollPaused(() => ui.page.getByRole("button", { name: "Refresh" }).isEnabled()).toBe(true);
    expect(listJobsCalls() - before).toBe(2);
    const ids = await shownIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(JOBS + 2 - 1);
    expect(ids.at(-1)).toBe(jobId(JOBS - 1));
  });
});
