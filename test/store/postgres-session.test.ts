/**
 * The settings of the PostgreSQL store's sessions: each plans its statements for their values
 * (plan_cache_mode) and is ended by the server once idle inside a transaction for 30 s
 * (idle_in_transaction_session_timeout, which frees the locks of a node cut off mid-transaction).
 * A store URL's own `options` add to them, and win where they set the same parameter.
 */
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { PostgresStore, type PostgresPools } from "../../server/src/store/postgres/store.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";

/** The session settings a store's pools' connections have (read on each of its three pools). */
async function settings(store: PostgresStore): Promise<Record<string, string>[]> {
  const { pools } = store as unknown as { pools: PostgresPools };
  return Promise.all(
    [pools.api, pools.engine, pools.events].map(async (pool) => {
      const { rows } = await pool.query<Record<string, string>>(
        `SELECT current_setting('plan_cache_mode') AS plan_cache_mode,
                current_setting('idle_in_transaction_session_timeout') AS idle,
                current_setting('statement_timeout') AS statement_timeout,
                current_setting('search_path') AS search_path,
                current_setting('application_name') AS application_name`,
      );
      return rows[0] ?? {};
    }),
  );
}

describePostgres("PostgreSQL: the store's session settings", () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let store: PostgresStore | undefined;

  beforeAll(async () => {
    db = await createPostgresDatabase();
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  afterAll(async () => {
    await db.drop();
  });

  it("by default: custom plans and a 30 s limit on a session idle in a transaction", async () => {
    store = PostgresStore.open(db.url);
    for (const s of await settings(store))
      expect(s).toMatchObject({ plan_cache_mode: "force_custom_plan", idle: "30s" });
  });

  it("a URL's options add to the store's settings (they used to replace them), and win on the same one", async () => {
    const url = new URL(db.url);
    url.searchParams.set("application_name", "metronome-session-test");
    url.searchParams.set(
      "options",
      "-c statement_timeout=12345 -c search_path=elsewhere,public -c idle_in_transaction_session_timeout=5000",
    );
    store = PostgresStore.open(url.toString());
    for (const s of await settings(store))
      expect(s).toEqual({
        plan_cache_mode: "force_custom_plan",
        idle: "5s",
        statement_timeout: "12345ms",
        search_path: "elsewhere,public",
        application_name: "metronome-session-test",
      });
  });

  it("the limit can be set when the store is opened, and the server ends a session idle in a transaction past it", async () => {
    store = PostgresStore.open(db.url, { idleInTransactionTimeoutMs: 200 });
    const { pools } = store as unknown as { pools: PostgresPools };
    const client = await pools.api.connect();
    const ended = new Promise<unknown>((resolve) => client.once("error", resolve));
    await client.query("BEGIN");
    await client.query("SELECT 1");
    // The server ends the session (FATAL 25P03) and closes it, without a statement from here.
    expect(await ended).toMatchObject({ code: "25P03" });
    client.release(true);
  });
});
