/**
 * The dashboard in headless Chromium (Debian's `chromium`, playwright-core) against a real node
 * on the embedded store, where the first page of a list is not all of it: a job whose id holds a
 * dot opens on a direct visit (a bookmark, a reload); a job's history shows the 25 newest of its
 * 30 runs and **More** shows the rest; the Schedulers page and the Jobs page's scheduler list show
 * all of 1,025 schedulers (ListSchedulers page after page).
 */
import { expect, it } from "vitest";
import { chromiumHere, dashboardPage } from "../support/dashboard-page.js";
import { describeIf } from "../support/requirements.js";

const JOB = "backup.daily";
/** A job with many runs (its id without a dot: this test is about the history alone). */
const BUSY = "nightly_export";
const RUNS = 30;
const SCHEDULERS = 1025;
const schedulerName = (i: number) => `sched-${String(i).padStart(4, "0")}`;

describeIf(chromiumHere, "the dashboard's lists past their first page, in Chromium", () => {
  const ui = dashboardPage(
    async (post) => {
      for (const id of [JOB, BUSY])
        await post("JobService/AddJob", {
          job: { id, handler: "ops.backup", trigger: { crontab: { expression: "0 3 * * *" } } },
        });
      // Manual runs stay pending (no worker serves them): a history of 30.
      for (let i = 0; i < RUNS; i++) await post("JobService/RunJobNow", { jobId: BUSY });
      // `default` holds the job; 1,024 more, a few calls at a time.
      const names = Array.from({ length: SCHEDULERS - 1 }, (_, i) => schedulerName(i));
      for (let i = 0; i < names.length; i += 16)
        await Promise.all(
          names
            .slice(i, i + 16)
            .map((name) => post("SchedulerService/ConfigureScheduler", { name, timezone: "UTC" })),
        );
    },
    { timeoutMs: 120_000 },
  );

  it("opens a job whose id holds a dot on a direct visit (a bookmark, a reload)", async () => {
    const response = await ui.page.goto(`${ui.node.url}/ui/jobs/default/${JOB}`);
    expect(response?.status()).toBe(200);
    await expect.poll(() => ui.page.getByTestId("trigger-words").textContent()).toMatch(/03:00/);
    expect(await ui.page.getByRole("heading", { level: 1 }).textContent()).toContain(JOB);
  });

  it("shows a job's 25 newest runs, and More shows the older ones", async () => {
    await ui.page.goto(`${ui.node.url}/ui/jobs/default/${BUSY}`);
    const runs = ui.page.getByTestId("runs");
    // The header and the 25 newest runs, then More for the next page.
    await expect.poll(() => runs.getByRole("row").count()).toBe(1 + 25);
    const more = ui.page.getByRole("button", { name: "More" });
    await expect.poll(() => more.count()).toBe(1);
    await more.click();
    await expect.poll(() => runs.getByRole("row").count()).toBe(1 + RUNS);
    await expect.poll(() => more.count()).toBe(0);
    const ids = await runs.locator("tbody tr td:first-child code").allTextContents();
    expect(new Set(ids).size).toBe(RUNS);
  });

  it("the Schedulers page lists every scheduler, past the first page", async () => {
    await ui.page.goto(`${ui.node.url}/ui/schedulers`);
    const table = ui.page.getByTestId("schedulers");
    await expect
      .poll(() => table.locator("tbody tr").count(), { timeout: 20_000 })
      .toBe(SCHEDULERS);
    await table.getByRole("link", { name: schedulerName(SCHEDULERS - 2), exact: true }).waitFor();
  });

  it("the Jobs page's scheduler list holds every scheduler", async () => {
    await ui.page.goto(`${ui.node.url}/ui/`);
    const select = ui.page.locator('select[name="scheduler"]');
    await expect.poll(() => select.locator("option").count(), { timeout: 20_000 }).toBe(SCHEDULERS);
    await select.selectOption(schedulerName(SCHEDULERS - 2));
    await ui.page.waitForURL(new RegExp(`scheduler=${schedulerName(SCHEDULERS - 2)}$`));
  });
});
