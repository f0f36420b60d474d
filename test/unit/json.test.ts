/** JSON text for args, kwargs and results: integers exact or refused, nesting bounded. */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../server/src/domain/errors.js";
import {
  MAX_JSON_DEPTH,
  parseExactJson,
  parseJsonArray,
  parseJsonObject,
} from "../../server/src/domain/json.js";

const reason = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe("args_json");
    return (err as InvalidArgumentError).reason;
  }
  throw new Error("no error");
};

describe("exact JSON", () => {
  it("keeps every integer up to 2^53 - 1 and writes it back without a fraction", () => {
    const text =
      '[0,-0,1,2147483648,-2147483649,4294967296,9007199254740991,-9007199254740991,1.5,1e300,"9007199254740993"]';
    const value = parseJsonArray(text, "args_json");
    expect(value).toEqual([
      0,
      -0,
      1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      1.5,
      1e300,
      "9007199254740993",
    ]);
    expect(JSON.stringify(value)).toBe(
      '[0,0,1,2147483648,-2147483649,4294967296,9007199254740991,-9007199254740991,1.5,1e+300,"9007199254740993"]',
    );
  });

  it("refuses an integer literal a double cannot hold exactly, naming it", () => {
    for (const n of ["9007199254740992", "-9007199254740992", "123456789012345678901234567890"]) {
      expect(reason(() => parseExactJson(`{"id": ${n}}`, "args_json"))).toBe(
        `holds the integer ${n}, beyond ±(2^53 - 1): it cannot be kept exactly; send it as a string`,
      );
    }
  });

  it("refuses a number too large for a double (JSON.parse would make it Infinity)", () => {
    expect(reason(() => parseExactJson("[1e400]", "args_json"))).toBe(
      "holds the number 1e400, too large for a double",
    );
  });

  it("does not read numbers inside strings, escaped quotes included", () => {
    expect(
      parseJsonObject('{"a\\"99999999999999999999": "\\\\", "b": "x\\"1e999999999999999999"}', "k"),
    ).toEqual({ 'a"99999999999999999999': "\\", b: 'x"1e999999999999999999' });
  });

  it(`accepts ${String(MAX_JSON_DEPTH)} levels of nesting, not more`, () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(() => parseExactJson(nested(MAX_JSON_DEPTH), "args_json")).not.toThrow();
    expect(reason(() => parseExactJson(nested(MAX_JSON_DEPTH + 1), "args_json"))).toBe(
      `is nested more than ${String(MAX_JSON_DEPTH)} levels deep`,
    );
    // Closed levels do not count: siblings at depth 2 are fine.
    expect(() =>
      parseExactJson(`[${Array(200).fill("[1]").join(",")}]`, "args_json"),
    ).not.toThrow();
  });

  it("names the field for text that is not JSON or not the expected shape", () => {
    expect(reason(() => parseExactJson("[1,", "args_json"))).toMatch(/^is not JSON \(/);
    // Never the value sent: it may be a secret (JSON.parse quotes the input).
    for (const text of [
      '["s3cret-value", x]',
      `["s3cret-value", "${"more-s3cret-".repeat(5)}", x, ${"1,".repeat(30)}1]`,
      '{"password": "s3cret-value", "b": tru}',
      '["s3cret-value"',
    ]) {
      const r = reason(() => parseExactJson(text, "args_json"));
      expect(r).toMatch(/^is not JSON \((invalid|invalid at position \d+|it ends too soon)\)$/);
      expect(r).not.toContain("s3cret");
    }
    expect(reason(() => parseJsonArray('{"a": 1}', "args_json"))).toBe("must be a JSON array");
    expect(() => parseJsonObject("[]", "kwargs_json")).toThrow(
      "kwargs_json: must be a JSON object",
    );
    expect(() => parseJsonObject("null", "kwargs_json")).toThrow("must be a JSON object");
  });
});
