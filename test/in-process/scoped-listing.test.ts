/**
 * ListSchedulers with a key scoped to some schedulers: only those are listed, and paged — each
 * page is full, and no page token names a scheduler the key may not read (the token is the
 * last name of its page, readable by anyone who holds it).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { SchedulerService } from "../../server/src/gen/metronome/v1/scheduler_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const ADMIN_TOKEN = "scoped-listing-admin";
const NAMES = ["alpha", "billing-secret", "payroll", "zzz"];

describe("ListSchedulers with a scoped key", () => {
  let n: InProcessNode;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: ADMIN_TOKEN } });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const schedulers = n.client(SchedulerService, admin);
    for (const name of NAMES) await schedulers.configureScheduler({ name, timezone: "UTC" });
    const keys = n.client(KeyService, admin);
    for (const [name, scopes] of [
      ["last", ["read:zzz"]],
      ["two", ["read:alpha", "read:payroll"]],
    ] as const)
      secrets.set(name, (await keys.createKey({ name, scopes: [...scopes] })).secret);
  });
  afterAll(async () => {
    await n.stop();
  });

  /** Every page of the listing as `key` sees it: each page's names and its token. */
  async function pages(key: string, pageSize: number) {
    const client = n.client(SchedulerService, {
      authorization: `Bearer ${secrets.get(key) ?? ""}`,
    });
    const seen: { names: string[]; token: string }[] = [];
    let pageToken = "";
    do {
      const res = await client.listSchedulers({ pageSize, pageToken });
      pageToken = res.nextPageToken;
      seen.push({ names: res.schedulers.map((s) => s.name), token: pageToken });
    } while (pageToken !== "" && seen.length < 10);
    return seen;
  }

  const tokenNames = (token: string): string =>
    token === "" ? "" : Buffer.from(token, "base64url").toString("utf8");

  it("lists only the readable schedulers, in full pages, with tokens naming only them", async () => {
    expect(await pages("last", 1)).toEqual([{ names: ["zzz"], token: "" }]);
    const two = await pages("two", 1);
    expect(two.map((p) => p.names)).toEqual([["alpha"], ["payroll"]]);
    for (const p of two) {
      expect(tokenNames(p.token)).not.toMatch(/billing|zzz|default/);
    }
    expect((await pages("two", 10)).map((p) => p.names)).toEqual([["alpha", "payroll"]]);
  });
});
