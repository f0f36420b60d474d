import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluateCase, parseConformanceFile } from "../../../server/src/conformance/conformance.js";
import { triggersFile } from "../../support/paths.js";

const { cases } = parseConformanceFile(readFileSync(triggersFile, "utf8"));

describe("trigger conformance vectors (test/conformance/triggers.json)", () => {
  it("has cases to check", () => {
    expect(cases.length).toBeGreaterThan(200);
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const result = evaluateCase(c);
    expect(result.got).toEqual(c.expect);
    expect(result.passed).toBe(true);
  });
});
