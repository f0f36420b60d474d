/**
 * The parsers of configuration values. Each takes the (trimmed) string from the environment and
 * produces one issue at most, whose message says what was expected and, unless the value is a
 * secret, what was given.
 */
import { z } from "zod";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const got = (input: unknown): string => `got ${JSON.stringify(input)}`;

export const BOOLEAN = z.stringbool({
  truthy: ["true", "1", "yes"],
  falsy: ["false", "0", "no"],
  case: "insensitive",
  error: (issue) => `expected true or false (also 1/0, yes/no), ${got(issue.input)}`,
});

const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const expected =
    max === Number.MAX_SAFE_INTEGER
      ? `a whole number >= ${min}`
      : `a whole number from ${min} to ${max}`;
  return z
    .string()
    .refine((s) => WHOLE.test(s) && Number(s) >= min && Number(s) <= max, {
      error: (issue) => `expected ${expected}, ${got(issue.input)}`,
    })
    .transform(Number);
}

/** A non-negative number of seconds, fractions allowed. */
export const SECONDS = z
  .string()
  .refine((s) => DECIMAL.test(s), {
    error: (issue) => `expected a number of seconds >= 0, ${got(issue.input)}`,
  })
  .transform(Number);

/** Requests per second for a rate limit: a number >= 0, fractions allowed; 0 means no limit. */
export const RATE = z
  .string()
  .refine((s) => DECIMAL.test(s) && Number(s) <= 1_000_000, {
    error: (issue) =>
      `expected a number of requests per second from 0 to 1000000 (0 = no limit), ${got(issue.input)}`,
  })
  .transform(Number);

const NO_LIMIT = /^(?:none|null)?$/i;
export const GRACE_TIME = z
  .string()
  .refine(
    (s) => NO_LIMIT.test(s) || (DECIMAL.test(s) && Number(s) > 0 && Number(s) <= 31_536_000),
    {
      error: (issue) =>
        `expected a number of seconds > 0 and at most 365 days, or none for no limit, ${got(issue.input)}`,
    },
  )
  .transform((s) => (NO_LIMIT.test(s) ? null : Number(s)));

export const TIMEZONE = z
  .string()
  .refine(
    (zone) => {
      try {
        Intl.DateTimeFormat(undefined, { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    {
      error: (issue) =>
        `expected an IANA time zone such as UTC or Asia/Shanghai, ${got(issue.input)}`,
    },
  )
  // The canonical spelling: `asia/shanghai` -> `Asia/Shanghai`, `utc` -> `UTC`.
  .transform(
    (zone) => Intl.DateTimeFormat(undefined, { timeZone: zone }).resolvedOptions().timeZone,
  );

/** Printable ASCII without spaces: safe in logs, HTTP headers and gRPC metadata. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

export const HOST = z.string().refine((s) => VISIBLE_ASCII.test(s), {
  error: (issue) => `expected a host name or IP address, ${got(issue.input)}`,
});

export const NODE_ID = z.string().refine((s) => s.length <= 191 && VISIBLE_ASCII.test(s), {
  error: (issue) =>
    `expected at most 191 printable ASCII characters without spaces, ${got(issue.input)}`,
});

export const FILE_PATH = z.string();

/** Comma-separated bearer tokens. Tokens are secrets: messages never repeat them. */
export const AUTH_TOKENS = z
  .string()
  .transform((s) => [...new Set(s.split(",").map((t) => t.trim()))].filter((t) => t !== ""))
  .refine((tokens) => tokens.every((t) => VISIBLE_ASCII.test(t)), {
    error:
      "expected comma-separated tokens of printable ASCII characters without spaces " +
      "(value not shown)",
  });

export const LOG_LEVEL = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(
    z.enum(LOG_LEVELS, {
      error: (issue) => `expected one of ${LOG_LEVELS.join(", ")}, ${got(issue.input)}`,
    }),
  );
