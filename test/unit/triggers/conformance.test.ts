import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluateCase, parseConformanceFile } from "../../../server/src/conformance/conformance.js";
import { sharedTriggersFile } from "../../support/paths.js";

const { cases } = parseConformanceFile(readFileSync(sharedTriggersFile, "utf8"));

describe("shared trigger conformance vectors", () => {
  it("has cases to check", () => {
    expect(cases.length).toBeGreaterThan(200);
  });

  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const result = evaluateCase(c);
    expect(result.got).toEqual(c.expect);
    expect(result.passed).toBe(true);
  });
});
