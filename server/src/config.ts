/**
 * The configuration of a Metronome server node.
 *
 * Sources, lowest to highest precedence: built-in defaults, a `.env` file in the working
 * directory, the process environment, command-line flags. For each key the highest source that
 * sets it wins; a blank value (empty or only spaces) then means "use the default" — except for
 * `SCHEDULER__MISFIRE_GRACE_TIME`, where blank means "no limit", as `none` and `null` do.
 *
 * Every key is validated by one zod schema (`settingsSchema`); an invalid configuration throws a
 * single {@link ConfigError} that lists every invalid key. Unknown `SCHEDULER__*` and
 * `METRONOME_*` keys are ignored and reported in `Config.warnings`.
 *
 * `loadConfig` is pure (the environment, the `.env` text and the default node id are
 * parameters); `loadConfigFromProcess` is the thin wrapper the CLI uses.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the embedded SQLite store lives when `SCHEDULER__JOBSTORE_URL` is not set. */
export const DEFAULT_SQLITE_PATH = "./data/metronome.db";

export type StoreConfig =
  /** `url` always starts with `mysql://` (SQLAlchemy driver suffixes are removed). */
  | { readonly kind: "mysql"; readonly url: string }
  /** `path` is relative to the working directory, absolute, or `:memory:`. */
  | { readonly kind: "sqlite"; readonly path: string };

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface Config {
  /** This node's identity in leases, worker sessions and logs. */
  readonly nodeId: string;
  /** Server-wide scheduler defaults (overridable per scheduler and per job). */
  readonly scheduler: {
    /** Whether this node fires jobs; an API-only node sets false. */
    readonly enabled: boolean;
    /** A canonical IANA zone name, e.g. `UTC`, `Asia/Shanghai`. */
    readonly timezone: string;
    readonly coalesce: boolean;
    readonly maxInstances: number;
    /** Seconds; `null` = no limit. */
    readonly misfireGraceTimeSeconds: number | null;
  };
  readonly store: StoreConfig;
  /** Apply pending schema migrations at start-up (under a lock). */
  readonly migrateOnStart: boolean;
  readonly server: {
    readonly host: string;
    readonly port: number;
    /** `null` = plaintext. The files are not read or checked here. */
    readonly tls: TlsConfig | null;
    /** Accepted bearer tokens; empty = no authentication. */
    readonly authTokens: readonly string[];
    /** How long a stopping node waits for in-flight work before it exits. */
    readonly shutdownGraceSeconds: number;
  };
  readonly logLevel: LogLevel;
  readonly retention: {
    readonly eventsSeconds: number;
    readonly runsSeconds: number;
  };
  readonly events: {
    /** Recent events kept in memory per node. */
    readonly bufferEvents: number;
    /** Events queued per subscriber before it catches up by itself. */
    readonly subscriberQueue: number;
  };
  readonly engine: {
    /** How long a lease lasts after its assignment or last heartbeat. */
    readonly leaseMs: number;
    /** How often the node looks for work changed by other nodes. */
    readonly pollIntervalMs: number;
  };
  readonly limits: {
    /** Largest `args` + `kwargs` JSON accepted, in bytes. */
    readonly maxPayloadBytes: number;
    readonly maxPageSize: number;
  };
  /** Unknown `SCHEDULER__*` / `METRONOME_*` keys that were ignored, one sentence each. */
  readonly warnings: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Value schemas. Each takes the (trimmed) string from the environment and produces one issue at
// most, whose message says what was expected and, unless the value is a secret, what was given.

const got = (input: unknown): string => `got ${JSON.stringify(input)}`;

const BOOLEAN = z.stringbool({
  truthy: ["true", "1", "yes"],
  falsy: ["false", "0", "no"],
  case: "insensitive",
  error: (issue) => `expected true or false (also 1/0, yes/no), ${got(issue.input)}`,
});

const WHOLE = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
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
const SECONDS = z
  .string()
  .refine((s) => DECIMAL.test(s), {
    error: (issue) => `expected a number of seconds >= 0, ${got(issue.input)}`,
  })
  .transform(Number);

const NO_LIMIT = /^(?:none|null)?$/i;
const GRACE_TIME = z
  .string()
  .refine(
    (s) => NO_LIMIT.test(s) || (DECIMAL.test(s) && Number(s) > 0 && Number(s) <= 31_536_000),
    {
      error: (issue) =>
        `expected a number of seconds > 0 and at most 365 days, or none for no limit, ${got(issue.input)}`,
    },
  )
  .transform((s) => (NO_LIMIT.test(s) ? null : Number(s)));

const TIMEZONE = z
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

const HOST = z.string().refine((s) => VISIBLE_ASCII.test(s), {
  error: (issue) => `expected a host name or IP address, ${got(issue.input)}`,
});

const NODE_ID = z.string().refine((s) => s.length <= 191 && VISIBLE_ASCII.test(s), {
  error: (issue) =>
    `expected at most 191 printable ASCII characters without spaces, ${got(issue.input)}`,
});

const FILE_PATH = z.string();

/** Comma-separated bearer tokens. Tokens are secrets: messages never repeat them. */
const AUTH_TOKENS = z
  .string()
  .transform((s) => [...new Set(s.split(",").map((t) => t.trim()))].filter((t) => t !== ""))
  .refine((tokens) => tokens.every((t) => VISIBLE_ASCII.test(t)), {
    error:
      "expected comma-separated tokens of printable ASCII characters without spaces " +
      "(value not shown)",
  });

const LOG_LEVEL = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(
    z.enum(LOG_LEVELS, {
      error: (issue) => `expected one of ${LOG_LEVELS.join(", ")}, ${got(issue.input)}`,
    }),
  );

// ---------------------------------------------------------------------------------------------
// Store URLs: SQLAlchemy's forms, as the scheduling guide writes them.

const SUPPORTED_STORES = "use mysql://… or sqlite:///…";

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
    case "postgres":
      return { error: `PostgreSQL job stores are not supported yet; ${SUPPORTED_STORES}` };
    case "redis":
    case "rediss":
      return { error: `Redis job stores are not supported yet; ${SUPPORTED_STORES}` };
    default:
      return { error: `unsupported job store URL scheme "${scheme}"; ${SUPPORTED_STORES}` };
  }
}

const JOBSTORE_URL = z.string().transform((url, ctx): StoreConfig => {
  const result = parseStoreUrl(url);
  if ("store" in result) return result.store;
  ctx.issues.push({ code: "custom", message: result.error, input: redactUrl(url) });
  return z.NEVER;
});

// ---------------------------------------------------------------------------------------------
// The schema of all keys.

/** Trims strings; a blank value counts as unset, so the key's default applies. */
function blankIsUnset(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

function key<S extends z.ZodType>(schema: S) {
  return z.preprocess(blankIsUnset, schema);
}

const settingsSchema = z
  .object({
    SCHEDULER__ENABLED: key(BOOLEAN.default(true)),
    SCHEDULER__TIMEZONE: key(TIMEZONE.default("UTC")),
    SCHEDULER__COALESCE: key(BOOLEAN.default(true)),
    SCHEDULER__MAX_INSTANCES: key(wholeNumber(1, 10_000).default(1)),
    // Blank means "no limit" here, so this key is trimmed but not blank-is-unset.
    SCHEDULER__MISFIRE_GRACE_TIME: z.preprocess(
      (value) => (typeof value === "string" ? value.trim() : value),
      GRACE_TIME.default(60),
    ),
    SCHEDULER__JOBSTORE_URL: key(
      JOBSTORE_URL.default((): StoreConfig => ({ kind: "sqlite", path: DEFAULT_SQLITE_PATH })),
    ),
    METRONOME_HOST: key(HOST.default("0.0.0.0")),
    METRONOME_PORT: key(wholeNumber(0, 65535).default(8080)),
    METRONOME_TLS_CERT: key(FILE_PATH.optional()),
    METRONOME_TLS_KEY: key(FILE_PATH.optional()),
    METRONOME_AUTH_TOKENS: key(AUTH_TOKENS.default(() => [])),
    METRONOME_LOG_LEVEL: key(LOG_LEVEL.default("info")),
    METRONOME_EVENT_RETENTION: key(wholeNumber(1).default(604_800)),
    METRONOME_RUN_RETENTION: key(wholeNumber(1).default(2_592_000)),
    METRONOME_EVENT_BUFFER: key(wholeNumber(1).default(20_000)),
    METRONOME_EVENT_SUBSCRIBER_QUEUE: key(wholeNumber(1).default(2_000)),
    METRONOME_MIGRATE_ON_START: key(BOOLEAN.default(true)),
    METRONOME_NODE_ID: key(NODE_ID.optional()),
    METRONOME_SHUTDOWN_GRACE: key(
      SECONDS.refine((s) => s <= 3600, { error: "expected at most 3600 seconds" }).default(10),
    ),
    METRONOME_MAX_PAYLOAD_BYTES: key(wholeNumber(1).default(65_536)),
    METRONOME_MAX_PAGE_SIZE: key(wholeNumber(1).default(1000)),
    METRONOME_LEASE_DURATION: key(
      SECONDS.refine((s) => s >= 0.3 && s <= 3600, {
        error: "expected from 0.3 to 3600 seconds",
      }).default(30),
    ),
    METRONOME_POLL_INTERVAL: key(
      SECONDS.refine((s) => s >= 0.01 && s <= 60, {
        error: "expected from 0.01 to 60 seconds",
      }).default(1),
    ),
  })
  .superRefine(
    (settings, ctx) => {
      // TLS needs both files.
      const cert = settings.METRONOME_TLS_CERT;
      const tlsKey = settings.METRONOME_TLS_KEY;
      if ((cert === undefined) === (tlsKey === undefined)) return;
      const [missing, present] =
        cert === undefined
          ? (["METRONOME_TLS_CERT", "METRONOME_TLS_KEY"] as const)
          : (["METRONOME_TLS_KEY", "METRONOME_TLS_CERT"] as const);
      ctx.addIssue({
        code: "custom",
        path: [missing],
        input: undefined,
        message: `required when ${present} is set (TLS needs both a certificate and a key file)`,
      });
    },
    // Run even when other keys are invalid, so that every invalid key is reported at once. Only
    // the two TLS paths are read, and those are plain strings that cannot fail.
    { when: () => true },
  );

type Settings = z.output<typeof settingsSchema>;

/** A configuration key, e.g. `SCHEDULER__TIMEZONE` or `METRONOME_PORT`. */
export type ConfigKey = keyof Settings;

const KEY_DOCS = {
  SCHEDULER__ENABLED: {
    default: "true",
    description: "whether this node fires jobs (an API-only node sets false)",
  },
  SCHEDULER__TIMEZONE: {
    default: "UTC",
    description: "default time zone of schedulers and triggers (IANA name)",
  },
  SCHEDULER__COALESCE: {
    default: "true",
    description: "default coalesce: several overdue fire times of a job become one run",
  },
  SCHEDULER__MAX_INSTANCES: {
    default: "1",
    description: "default max_instances: concurrent runs of one job",
  },
  SCHEDULER__MISFIRE_GRACE_TIME: {
    default: "60",
    description: "default misfire grace time in seconds; none (or empty) = no limit",
  },
  SCHEDULER__JOBSTORE_URL: {
    default: `sqlite:///${DEFAULT_SQLITE_PATH}`,
    description:
      "the job store: mysql://user:password@host/database or sqlite:///path (unset: embedded SQLite)",
  },
  METRONOME_HOST: { default: "0.0.0.0", description: "address to listen on" },
  METRONOME_PORT: { default: "8080", description: "port to listen on (0 = any free port)" },
  METRONOME_TLS_CERT: {
    default: "",
    description: "TLS certificate file (PEM); set together with METRONOME_TLS_KEY",
  },
  METRONOME_TLS_KEY: {
    default: "",
    description: "TLS private key file (PEM); set together with METRONOME_TLS_CERT",
  },
  METRONOME_AUTH_TOKENS: {
    default: "",
    description: "comma-separated bearer tokens clients must present (empty = no auth)",
  },
  METRONOME_LOG_LEVEL: { default: "info", description: `log level: ${LOG_LEVELS.join(", ")}` },
  METRONOME_EVENT_RETENTION: {
    default: "604800",
    description: "how long events are kept, in seconds (default 7 days)",
  },
  METRONOME_RUN_RETENTION: {
    default: "2592000",
    description: "how long finished runs are kept, in seconds (default 30 days)",
  },
  METRONOME_EVENT_BUFFER: {
    default: "20000",
    description: "recent events each node keeps in memory for subscribers catching up",
  },
  METRONOME_EVENT_SUBSCRIBER_QUEUE: {
    default: "2000",
    description:
      "events queued for one subscriber before it is left to catch up from memory or the store",
  },
  METRONOME_MIGRATE_ON_START: {
    default: "true",
    description: "apply pending database migrations at start-up",
  },
  METRONOME_NODE_ID: {
    default: "<hostname>-<pid>",
    description: "this node's identity in leases and logs",
  },
  METRONOME_SHUTDOWN_GRACE: {
    default: "10",
    description: "seconds a stopping node waits for in-flight work",
  },
  METRONOME_MAX_PAYLOAD_BYTES: {
    default: "65536",
    description: "largest args + kwargs JSON of a job, in bytes",
  },
  METRONOME_MAX_PAGE_SIZE: { default: "1000", description: "largest page size of list calls" },
  METRONOME_LEASE_DURATION: {
    default: "30",
    description:
      "seconds a worker holds a run without a heartbeat before it is retried or failed (workers heartbeat every third of it)",
  },
  METRONOME_POLL_INTERVAL: {
    default: "1",
    description:
      "seconds between this node's checks for due jobs and runs changed by other nodes (its own changes wake it at once)",
  },
} as const satisfies Record<ConfigKey, { default: string; description: string }>;

export interface ConfigKeyInfo {
  readonly key: ConfigKey;
  /** The default as it would be written in `.env`; empty = unset. */
  readonly default: string;
  readonly description: string;
}

/** Every key, in documentation order: for docs and `--help`. */
export const CONFIG_KEYS: readonly ConfigKeyInfo[] = (Object.keys(KEY_DOCS) as ConfigKey[]).map(
  (k) => ({ key: k, ...KEY_DOCS[k] }),
);

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(KEY_DOCS));

// ---------------------------------------------------------------------------------------------
// Errors.

export type ConfigSource = ".env" | "environment" | "flags";

export interface ConfigIssue {
  /** The key, or `.env` when the file itself cannot be read. */
  readonly key: string;
  /** What is wrong, without the key. */
  readonly message: string;
  /** Where the offending value came from; `null` when the key is not set at all. */
  readonly source: ConfigSource | null;
}

/** An invalid configuration. The message has one `KEY: reason` line per invalid key. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${i.key}: ${i.message}`).join("\n"));
    this.name = "ConfigError";
    this.issues = issues;
  }
}

// ---------------------------------------------------------------------------------------------
// Loading.

/** Overrides from command-line flags, keyed by config key; `undefined` = flag not given. */
export type ConfigFlags = { readonly [K in ConfigKey]?: string | number | boolean | undefined };

export interface LoadConfigOptions {
  /** The environment, e.g. `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The text of a `.env` file, if there is one. */
  readonly dotenvText?: string | undefined;
  readonly flags?: ConfigFlags | undefined;
  /** The node id used when `METRONOME_NODE_ID` is not set; default `${hostname}-${pid}`. */
  readonly defaultNodeId?: string | undefined;
}

/** Builds and validates the configuration. Throws {@link ConfigError}. */
export function loadConfig(options: LoadConfigOptions): Config {
  const dotenv = options.dotenvText === undefined ? {} : parseDotenv(options.dotenvText);
  const flags: Readonly<Record<string, string | number | boolean | undefined>> =
    options.flags ?? {};
  const layers: readonly [ConfigSource, Readonly<Record<string, unknown>>][] = [
    [".env", dotenv],
    ["environment", options.env],
    ["flags", flags],
  ];

  const raw: Record<string, string> = {};
  const sourceOf = new Map<string, ConfigSource>();
  for (const [source, values] of layers) {
    for (const k of KNOWN_KEYS) {
      const value = values[k];
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        raw[k] = String(value);
        sourceOf.set(k, source);
      }
    }
  }

  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    const byKey = new Map<string, ConfigIssue>();
    for (const issue of result.error.issues) {
      const k = typeof issue.path[0] === "string" ? issue.path[0] : "configuration";
      if (!byKey.has(k)) {
        byKey.set(k, { key: k, message: issue.message, source: sourceOf.get(k) ?? null });
      }
    }
    const order = (k: string) => CONFIG_KEYS.findIndex((info) => info.key === k);
    throw new ConfigError([...byKey.values()].sort((a, b) => order(a.key) - order(b.key)));
  }

  const s = result.data;
  return {
    nodeId: s.METRONOME_NODE_ID ?? options.defaultNodeId ?? `${hostname()}-${process.pid}`,
    scheduler: {
      enabled: s.SCHEDULER__ENABLED,
      timezone: s.SCHEDULER__TIMEZONE,
      coalesce: s.SCHEDULER__COALESCE,
      maxInstances: s.SCHEDULER__MAX_INSTANCES,
      misfireGraceTimeSeconds: s.SCHEDULER__MISFIRE_GRACE_TIME,
    },
    store: s.SCHEDULER__JOBSTORE_URL,
    migrateOnStart: s.METRONOME_MIGRATE_ON_START,
    server: {
      host: s.METRONOME_HOST,
      port: s.METRONOME_PORT,
      tls:
        s.METRONOME_TLS_CERT !== undefined && s.METRONOME_TLS_KEY !== undefined
          ? { certFile: s.METRONOME_TLS_CERT, keyFile: s.METRONOME_TLS_KEY }
          : null,
      authTokens: s.METRONOME_AUTH_TOKENS,
      shutdownGraceSeconds: s.METRONOME_SHUTDOWN_GRACE,
    },
    logLevel: s.METRONOME_LOG_LEVEL,
    retention: {
      eventsSeconds: s.METRONOME_EVENT_RETENTION,
      runsSeconds: s.METRONOME_RUN_RETENTION,
    },
    events: {
      bufferEvents: s.METRONOME_EVENT_BUFFER,
      subscriberQueue: s.METRONOME_EVENT_SUBSCRIBER_QUEUE,
    },
    engine: {
      leaseMs: Math.round(s.METRONOME_LEASE_DURATION * 1000),
      pollIntervalMs: Math.round(s.METRONOME_POLL_INTERVAL * 1000),
    },
    limits: {
      maxPayloadBytes: s.METRONOME_MAX_PAYLOAD_BYTES,
      maxPageSize: s.METRONOME_MAX_PAGE_SIZE,
    },
    warnings: unknownKeyWarnings(dotenv, options.env),
  };
}

/**
 * Reads `process.env` and `.env` in `cwd` (if the file exists), then applies `flags`.
 * Throws {@link ConfigError}, also when `.env` exists but cannot be read.
 */
export function loadConfigFromProcess(
  flags: ConfigFlags = {},
  cwd: string = process.cwd(),
): Config {
  const file = join(cwd, ".env");
  let dotenvText: string | undefined;
  try {
    dotenvText = readFileSync(file, "utf8");
  } catch (err) {
    if (!(err instanceof Error && "code" in err && err.code === "ENOENT")) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new ConfigError([
        { key: ".env", message: `cannot read ${file}: ${reason}`, source: ".env" },
      ]);
    }
  }
  return loadConfig({ env: process.env, dotenvText, flags });
}

// ---------------------------------------------------------------------------------------------
// Unknown keys.

const OUR_PREFIX = /^(?:SCHEDULER__|METRONOME_)/i;
/** Used by the test harness, never by a server (see README). */
const RESERVED_PREFIX = /^METRONOME_TEST_/;

function unknownKeyWarnings(
  dotenv: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const sources = new Map<string, string[]>();
  const collect = (names: Iterable<string>, where: string) => {
    for (const name of names) {
      if (!OUR_PREFIX.test(name) || RESERVED_PREFIX.test(name) || KNOWN_KEYS.has(name)) continue;
      sources.set(name, [...(sources.get(name) ?? []), where]);
    }
  };
  collect(Object.keys(dotenv), ".env");
  collect(
    Object.keys(env).filter((name) => env[name] !== undefined),
    "the environment",
  );
  return [...sources].map(([name, where]) => {
    const suggestion = closestKey(name);
    const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
    return `unknown setting ${name} in ${where.join(" and ")} is ignored${hint}`;
  });
}

/** The known key nearest to `name` (case-insensitive edit distance <= 3), if any. */
function closestKey(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(name.toUpperCase(), known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
