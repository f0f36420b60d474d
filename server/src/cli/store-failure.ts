/**
 * The line `metronome serve` (or `migrate`, `reseal`) prints when the job store cannot be
 * reached: which store, by its URL without the password, and why, as the driver said it
 * (`connect ECONNREFUSED 127.0.0.1:1`, an access refused, an unknown host).
 */
import { HIDDEN_PASSWORD as HIDDEN, redactUrl, type StoreConfig } from "../config/store-url.js";

/** `the job store is unavailable (mysql://root:***@127.0.0.1:1/x): connect ECONNREFUSED …`. */
export function storeFailure(
  err: Error & { readonly cause?: unknown },
  store: StoreConfig,
): string {
  const { where, password } = describeStore(store);
  let why = causeText(err.cause);
  // A driver's message should never hold the password; if one does, it is hidden too.
  if (password !== undefined && password.length >= 4) why = why.split(password).join(HIDDEN);
  return `${err.message} (${where})${why === "" ? "" : `: ${why}`}`;
}

/** The store as its URL (or file) without a password, and that password. */
function describeStore(store: StoreConfig): { where: string; password?: string | undefined } {
  switch (store.kind) {
    case "sqlite":
      return { where: store.path === ":memory:" ? "sqlite://" : `sqlite:///${store.path}` };
    case "redis-cluster": {
      const c = store.connection;
      const user =
        c.username === undefined && c.password === undefined
          ? ""
          : `${encodeURIComponent(c.username ?? "")}${c.password === undefined ? "" : `:${HIDDEN}`}@`;
      const hosts = c.nodes
        .map((n) => `${n.host.includes(":") ? `[${n.host}]` : n.host}:${String(n.port)}`)
        .join(",");
      return {
        where: `${c.tls ? "rediss" : "redis"}+cluster://${user}${hosts}`,
        password: c.password,
      };
    }
    default: {
      const { url, password } = redactUrl(store.url);
      return { where: url, password };
    }
  }
}

/** The cause's message, with the causes under it (an AggregateError's errors: each address). */
function causeText(cause: unknown, depth = 0): string {
  if (cause === undefined || cause === null || depth > 4) return "";
  if (!(cause instanceof Error)) return typeof cause === "string" ? cause : "";
  const parts: string[] = [];
  const code = (cause as { code?: unknown }).code;
  const own = cause.message !== "" ? cause.message : typeof code === "string" ? code : "";
  if (own !== "") parts.push(own);
  if (cause instanceof AggregateError) {
    const each = [...new Set(cause.errors.map((e: unknown) => causeText(e, depth + 1)))];
    const others = each.filter((t) => t !== "" && t !== own);
    if (others.length > 0) parts.push(others.join("; "));
  }
  const under = causeText((cause as { cause?: unknown }).cause, depth + 1);
  if (under !== "" && !parts.includes(under)) parts.push(under);
  return parts.join(": ");
}
