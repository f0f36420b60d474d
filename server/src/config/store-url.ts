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
  | { readonly kind: "redis"; readonly url: string }
  /** `redis+cluster://` (or `rediss+cluster://`, TLS): a Redis Cluster, by some of its masters. */
  | { readonly kind: "redis-cluster"; readonly connection: ClusterConnection };

/** How to reach a Redis Cluster, and the store's place on it (store/redis/cluster.ts). */
export interface ClusterConnection {
  /** Some of the cluster's nodes; the client learns the rest from them. */
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly tls: boolean;
  /** Every key's prefix (`?prefix=`, default `metronome:`). */
  readonly prefix: string;
  /** The store's number of shards (`?shards=`, default 16), fixed once the store exists. */
  readonly shards: number;
}

/** Shards of a cluster store whose URL names none, and the most it may have. */
export const DEFAULT_CLUSTER_SHARDS = 16;
export const MAX_CLUSTER_SHARDS = 256;

const SUPPORTED_STORES =
  "use redis://…, redis+cluster://…, postgresql://…, mysql://… or sqlite:///…";

/**
 * `redis+cluster://[user:password@]host:port[,host:port…][?prefix=…&shards=N]`: the URL of one
 * node with more nodes after commas, which URL parsers do not take, so it is read here.
 */
function parseClusterUrl(
  scheme: string,
  rest: string,
  url: string,
): { store: StoreConfig } | { error: string } {
  const expected = `expected ${scheme}://[user:password@]host:port[,host:port…][?prefix=…&shards=N], ${got(redactUrl(url).url)}`;
  const [authority = "", query = ""] = rest.split("?", 2);
  const at = authority.lastIndexOf("@");
  const userinfo = at < 0 ? "" : authority.slice(0, at);
  const hosts = (at < 0 ? authority : authority.slice(at + 1)).replace(/\/$/, "");
  const nodes: { host: string; port: number }[] = [];
  for (const hostPort of hosts.split(",")) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+)(?::(\d{1,5}))?$/.exec(hostPort);
    if (m === null) return { error: expected };
    const port = Number(m[2] ?? "6379");
    if (port < 1 || port > 65535) return { error: expected };
    nodes.push({ host: (m[1] ?? "").replace(/^\[|\]$/g, ""), port });
  }
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== "prefix" && name !== "shards")
      return { error: `unknown parameter "${name}" in the store URL; ${expected}` };
  }
  const shardsText = params.get("shards") ?? String(DEFAULT_CLUSTER_SHARDS);
  const shards = Number(shardsText);
  if (!/^\d+$/.test(shardsText) || shards < 1 || shards > MAX_CLUSTER_SHARDS) {
    return {
      error: `shards= in the store URL must be a whole number from 1 to ${String(MAX_CLUSTER_SHARDS)}, ${got(shardsText)}`,
    };
  }
  const colon = userinfo.indexOf(":");
  const username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  return {
    store: {
      kind: "redis-cluster",
      connection: {
        nodes,
        username: username === "" ? undefined : username,
        password,
        tls: scheme === "rediss+cluster",
        prefix: params.get("prefix") ?? "metronome:",
        shards,
      },
    },
  };
}

/** What a URL's password is replaced with in messages. */
export const HIDDEN_PASSWORD = "***";

/** A URL fit for messages, and the password it hid. */
export interface RedactedUrl {
  /** The URL as written, its password (if any) replaced by `***`; the user name is kept. */
  readonly url: string;
  /**
   * The password, decoded (`p%40ss` is `p@ss`), to hide it elsewhere too (a driver's message);
   * undefined when the URL holds none.
   */
  readonly password: string | undefined;
}

/**
 * The URL with its password replaced, for messages: `mysql://root:***@host/db`. Any text works,
 * valid URL or not (an invalid store URL is shown in its error). The user information ends at the
 * last `@` before the host's end (the first `/`, `?` or `#` after it); in a URL that does not
 * parse, at the last `@` of all, so that a password holding one of those characters unencoded is
 * hidden whole rather than in part.
 */
export function redactUrl(url: string): RedactedUrl {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (scheme === undefined) return { url, password: undefined };
  const rest = url.slice(scheme.length);
  const authorityEnd = rest.search(/[/?#]|$/);
  let at = rest.lastIndexOf("@", authorityEnd - 1);
  if (at < 0 && !URL.canParse(url)) at = rest.lastIndexOf("@");
  const colon = at < 0 ? -1 : rest.slice(0, at).indexOf(":");
  if (colon < 0) return { url, password: undefined };
  const raw = rest.slice(colon + 1, at);
  let password = raw;
  try {
    password = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded as a URL would be: the password is the text as written.
  }
  return {
    url: `${scheme}${rest.slice(0, colon)}:${HIDDEN_PASSWORD}@${rest.slice(at + 1)}`,
    password,
  };
}

function parseStoreUrl(url: string): { store: StoreConfig } | { error: string } {
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(url);
  if (match === null) {
    return { error: `expected a job store URL (${SUPPORTED_STORES}), ${got(redactUrl(url).url)}` };
  }
  const scheme = (match[1] ?? "").toLowerCase();
  const rest = match[2] ?? "";
  if (scheme === "redis+cluster" || scheme === "rediss+cluster")
    return parseClusterUrl(scheme, rest, url);
  // `mysql+pymysql`, `mysql+aiomysql`, `sqlite+pysqlite`, …: the driver part means nothing here.
  const dialect = scheme.split("+")[0] ?? scheme;
  switch (dialect) {
    case "mysql":
    case "mariadb": {
      const normalised = `mysql://${rest}`;
      const parsed = URL.canParse(normalised) ? new URL(normalised) : null;
      if (parsed === null || parsed.hostname === "" || parsed.pathname.length <= 1) {
        return {
          error: `expected mysql://user:password@host[:port]/database, ${got(redactUrl(url).url)}`,
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
          error: `expected postgresql://user:password@host[:port]/database, ${got(redactUrl(url).url)}`,
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
          error: `expected ${dialect}://[user:password@]host[:port][/db] (db a number), ${got(redactUrl(url).url)}`,
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
  ctx.issues.push({ code: "custom", message: result.error, input: redactUrl(url).url });
  return z.NEVER;
});
