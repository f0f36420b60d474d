/** Scopes (domain/keys.ts): what each scope string allows, and which strings are refused. */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../server/src/domain/errors.js";
import { Scopes, keyActive, type ApiKeyRecord } from "../../server/src/domain/keys.js";

describe("scopes", () => {
  it("write implies read on the same scheduler only; * is every scheduler", () => {
    const s = Scopes.parse(["write:reports", "events:*"], "scopes");
    expect([s.may("read", "reports"), s.may("write", "reports")]).toEqual([true, true]);
    expect([s.may("read", "billing"), s.may("write", "billing")]).toEqual([false, false]);
    expect([s.may("events", "billing"), s.may("events", "*")]).toEqual([true, true]);
    expect([s.mayAny("read"), s.mayAny("write"), s.admin, s.worker]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    const r = Scopes.parse(["read:reports"], "scopes");
    expect([r.may("write", "reports"), r.may("events", "reports"), r.mayAny("write")]).toEqual([
      false,
      false,
      false,
    ]);
  });

  it("worker scopes: a handler, a prefix, or every handler", () => {
    const s = Scopes.parse(["worker:reports.daily", "worker:billing.*"], "scopes");
    expect(
      ["reports.daily", "reports.weekly", "billing.run", "billing.", "other"].map((h) =>
        s.mayServe(h),
      ),
    ).toEqual([true, false, true, true, false]);
    expect(Scopes.parse(["worker:*"], "scopes").mayServe("anything")).toBe(true);
    expect(s.may("read", "reports")).toBe(false);
  });

  it("admin allows everything", () => {
    const a = Scopes.parse(["admin"], "scopes");
    expect([a.may("write", "x"), a.may("events", "*"), a.mayServe("h"), a.worker]).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it("refuses unknown, empty and too many scopes, naming the item", () => {
    const fail = (list: string[]) => {
      try {
        Scopes.parse(list, "scopes");
      } catch (err) {
        return err instanceof InvalidArgumentError ? err.field : "other";
      }
      return "accepted";
    };
    expect(fail([])).toBe("scopes");
    expect(fail(["read:a", "root"])).toBe("scopes[1]");
    expect(fail(["read:"])).toBe("scopes[0]");
    expect(fail(["write:a b"])).toBe("scopes[0]");
    expect(fail(["worker:a*b"])).toBe("scopes[0]");
    expect(fail(Array.from({ length: 101 }, (_, i) => `read:s${String(i)}`))).toBe("scopes");
    expect(fail(["read:a", "read:a"])).toBe("accepted");
  });

  it("a key is active until revoked or expired", () => {
    const k: ApiKeyRecord = {
      id: "0123456789abcdef",
      name: "k",
      scopes: ["admin"],
      hash: "",
      salt: "",
      createdAt: 0,
      createdBy: "env:1",
      expiresAt: 1000,
      revokedAt: null,
      revokedBy: null,
    };
    expect([keyActive(k, 999), keyActive(k, 1000)]).toEqual([true, false]);
    expect(keyActive({ ...k, expiresAt: null, revokedAt: 5, revokedBy: "env:1" }, 0)).toBe(false);
  });
});
