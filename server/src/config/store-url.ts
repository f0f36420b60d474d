/** Job store URLs: SQLAlchemy's forms, as the scheduling guide writes them. */
import { z } from "zod";
import { got } from "./values.js";

export type StoreConfig =
  /** `url` always starts with `mysql://` (SQLAlchemy driver suffixes are removed). */
  | { readonly kind: "mysql"; readonly url: string }
  /** `url` always starts with `postgres://` (SQLAlchemy driver suffixes are removed). */
  | { readonly kind: "postgres"; readonly url: string }
  /** `path` is relative to the working directory, absolute, or `:memory:`. */
  | { readonly kind: "sqlite"; readonly path: string }
  /** `url` starts with `redis://` or `rediss://` (TLS), as written. */
  | { readonly kind: "redis"; readonly url: string };

const SUPPORTED_STORES = "use redis://…, postgresql://…, mysql://… or sqlite:///…";

/** The URL with any password replaced, for messages. */
function redactUrl(url: string): string {
  return url.replace(/^([^:/?#]+:\/\/[^:/?#@]*):[^@/?#]*@/, "$1:***@");
}

function parseStoreUrl(url: string): { store: StoreConfig } | { error: string } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(url);
  if (match === null) {
    return { error: `expected a job store URL (${SUPPORTED_STORES}), ${got(redactUrl(url))}` };
  }
  const scheme = (match[1] ?? "").toLowerCase();
  const rest = match[2] ?? "";
  // `mysql+pymysql`, `mysql+aiomysql`, `sqlite+pysqlite`, …: the driver part means nothing here.
  const dialect = scheme.split("+")[0] ?? scheme;
  switch (dialect) {
    case "mysql":
    case "mariadb": {
      const normalised = `mysql://${rest}`;
      const parsed = URL.canParse(normalised) ? new URL(normalised) : null;
      if (parsed === null || parsed.hostname === "" || parsed.pathname.length <= 1) {
        return {
          error: `expected mysql://user:password@host[:port]/database, ${got(redactUrl(url))}`,
        };
      }
      return { store: { kind: "mysql", url: normalised } };
    }
    case "sqlite": {
      // sqlite://<host>/<database>; the host is empty; `sqlite://` alone is an in-memory database.
      if (rest === "") return { store: { kind: "sqlite", path: ":memory:" } };
      const expected =
        "expected sqlite:///relative/path.db (three slashes), sqlite:////absolute/path.db " +
        `(four) or sqlite:///:memory:, ${got(url)}`;
      if (!rest.startsWith("/") || rest.length === 1 || /[?#]/.test(rest))
        return { error: expected };
      return { store: { kind: "sqlite", path: rest.slice(1) } };
    }
    case "postgresql":
    case "postgres": {
      // `postgresql+psycopg2://…` and `postgres://…` alike.
      const normalised = `postgres://${rest}`;
      const parsed = URL.canParse(normalised) ? new URL(normalised) : null;
      if (parsed === null || parsed.hostname === "" || parsed.pathname.length <= 1) {
        return {
          error: `expected postgresql://user:password@host[:port]/database, ${got(redactUrl(url))}`,
        };
      }
      return { store: { kind: "postgres", url: normalised } };
    }
    case "redis":
    case "rediss": {
      // redis://[user:password@]host[:port][/db]: the database number, when given, is a number.
      const normalised = `${dialect}://${rest}`;
      const parsed = URL.canParse(normalised) ? new URL(normalised) : null;
      if (parsed === null || parsed.hostname === "" || !/^\/?(\d+)?\/?$/.test(parsed.pathname)) {
        return {
          error: `expected ${dialect}://[user:password@]host[:port][/db] (db a number), ${got(redactUrl(url))}`,
        };
      }
      return { store: { kind: "redis", url: normalised } };
    }
    default:
      return { error: `unsupported job store URL scheme "${scheme}"; ${SUPPORTED_STORES}` };
  }
}

export const JOBSTORE_URL = z.string().transform((url, ctx): StoreConfig => {
  const result = parseStoreUrl(url);
  if ("store" in result) return result.store;
  ctx.issues.push({ code: "custom", message: result.error, input: redactUrl(url) });
  return z.NEVER;
});
