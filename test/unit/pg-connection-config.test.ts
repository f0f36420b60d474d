/**
 * The PostgreSQL store's connection settings from its URL (store/postgres/store.ts): its own
 * session settings and TCP keepalive, with the URL's `options` added after them (node-postgres
 * would let the URL's replace them), and the rest of the URL as written.
 */
import { describe, expect, it } from "vitest";
import { connectionConfig } from "../../server/src/store/postgres/store.js";

const OURS = "-c plan_cache_mode=force_custom_plan -c idle_in_transaction_session_timeout=30000";

describe("the PostgreSQL store's connection settings", () => {
  it("set custom plans, a 30 s idle-in-transaction limit and keepalive after 10 s", () => {
    expect(connectionConfig("postgres://u@db:5432/metronome")).toEqual({
      connectionString: "postgres://u@db:5432/metronome",
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      options: OURS,
    });
  });

  it("the limit given when opened (0: none)", () => {
    expect(connectionConfig("postgres://db/m", { idleInTransactionTimeoutMs: 1500 }).options).toBe(
      "-c plan_cache_mode=force_custom_plan -c idle_in_transaction_session_timeout=1500",
    );
    expect(connectionConfig("postgres://db/m", { idleInTransactionTimeoutMs: 0 }).options).toBe(
      "-c plan_cache_mode=force_custom_plan -c idle_in_transaction_session_timeout=0",
    );
  });

  it("a URL's options come after the store's, out of the URL; its other parameters stay as written", () => {
    const config = connectionConfig(
      "postgres://u:p%40ss@db/m?sslmode=require&options=-c%20search_path%3Dtenant_a&application_name=a+b",
    );
    expect(config.connectionString).toBe(
      "postgres://u:p%40ss@db/m?sslmode=require&application_name=a+b",
    );
    expect(config.options).toBe(`${OURS} -c search_path=tenant_a`);
  });

  it("several options parameters, '+' for a space, and an empty one", () => {
    const config = connectionConfig(
      "postgres://db/m?options=-c+statement_timeout%3D5s&options=&options=-c%20idle_in_transaction_session_timeout%3D0",
    );
    expect(config.connectionString).toBe("postgres://db/m");
    expect(config.options).toBe(
      `${OURS} -c statement_timeout=5s -c idle_in_transaction_session_timeout=0`,
    );
  });
});
