/**
 * The configuration of a Metronome server node, loaded.
 *
 * Sources, lowest to highest precedence: the defaults (keys.ts), a `.env` file in the working
 * directory, the process environment, command-line flags. For each key the highest source that
 * sets it wins; a blank value (empty or only spaces) then means "use the default" — except for
 * `SCHEDULER__MISFIRE_GRACE_TIME`, where blank means "no limit", as `none` and `null` do.
 *
 * Every key is validated by its parser (keys.ts); an invalid configuration throws a single
 * {@link ConfigError} that lists every invalid key. Unknown `SCHEDULER__*` and `METRONOME_*`
 * keys are ignored and reported in `Config.warnings`.
 *
 * `loadConfig` is pure (the environment, the `.env` text and the default node id are
 * parameters); `loadConfigFromProcess` is the thin wrapper the CLI uses.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { z } from "zod";
import { CONFIG_KEYS, KEYS, type ConfigKey, type KeySpec } from "./keys.js";
import type { EnvelopeKey } from "../lib/envelope.js";
import type { StoreConfig } from "./store-url.js";
import { unknownKeyWarnings } from "./suggest.js";
import type { LogLevel } from "./values.js";

/** Bounds on one connection: see api/listen.ts, which takes them as they are. */
export interface TransportLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConcurrentStreams: number;
  readonly maxResets: number;
  readonly maxInvalidFrames: number;
}

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** mTLS: present only when a client CA is configured. The files are not read here. */
  readonly client?: ClientTlsConfig;
}

export interface ClientTlsConfig {
  /** CA certificates (PEM) that sign the client certificates accepted as identities. */
  readonly caFile: string;
  /** The JSON file of identities and their scopes (config/client-identities.ts reads it). */
  readonly identitiesFile: string;
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
  /**
   * The keys that seal job data at rest (store/sealing.ts): the first seals, all open; empty =
   * job data is stored in clear. Secrets: never logged.
   */
  readonly encryptionKeys: readonly EnvelopeKey[];
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
    /** Bounds on what one connection may cost (api/listen.ts). */
    readonly transport: TransportLimits;
  };
  readonly logLevel: LogLevel;
  readonly retention: {
    readonly eventsSeconds: number;
    readonly runsSeconds: number;
    /** How long an idempotency key's record (and answer) is kept. */
    readonly idempotencySeconds: number;
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
    /** How long a node's record in the cluster registry outlives its last refresh. */
    readonly nodeLeaseMs: number;
  };
  readonly limits: {
    /** Largest `args` + `kwargs` JSON accepted, in bytes. */
    readonly maxPayloadBytes: number;
    readonly maxPageSize: number;
    /** The longest a unary call's store work may take. */
    readonly storeTimeoutMs: number;
    /** Health/Watch streams open at once on the node. */
    readonly maxHealthWatches: number;
  };
  /** Quotas and rate limits (docs/security.md); null: no limit. */
  readonly quotas: {
    readonly perKey: RateLimit | null;
    readonly perScheduler: RateLimit | null;
    readonly subscribersPerKey: number | null;
    readonly jobsPerScheduler: number | null;
  };
  /** Unknown `SCHEDULER__*` / `METRONOME_*` keys that were ignored, one sentence each. */
  readonly warnings: readonly string[];
}

/** A token bucket's refill rate (requests per second) and size. */
export interface RateLimit {
  readonly rate: number;
  readonly burst: number;
}

/** A rate of 0 is no limit; a burst of 0 is the rate rounded up (at least 1). */
function rateLimit(rate: number, burst: number): RateLimit | null {
  return rate === 0 ? null : { rate, burst: burst === 0 ? Math.max(1, Math.ceil(rate)) : burst };
}

// ---------------------------------------------------------------------------------------------
// The schema of all keys, made from the table.

type Keys = typeof KEYS;
/** Each key's value: what its parser gives, or undefined for a key without a default. */
type Settings = {
  readonly [K in ConfigKey]: Keys[K] extends { readonly default: string }
    ? z.output<Keys[K]["parse"]>
    : z.output<Keys[K]["parse"]> | undefined;
};

/** One key's schema: trimmed; blank and unset values take the default (see KeySpec.blank). */
function keySchema(spec: KeySpec<unknown>): z.ZodType {
  const parse = spec.default === undefined ? spec.parse.optional() : spec.parse;
  return z.preprocess((value) => {
    if (typeof value !== "string") return spec.default;
    const trimmed = value.trim();
    if (trimmed === "" && spec.blank !== "value") return spec.default;
    return trimmed;
  }, parse);
}

const settingsSchema = z
  .object(
    Object.fromEntries(
      (Object.entries(KEYS) as [ConfigKey, KeySpec<unknown>][]).map(([k, spec]) => [
        k,
        keySchema(spec),
      ]),
    ),
  )
  .superRefine(
    (settings, ctx) => {
      clientTlsIssues(settings, ctx);
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

/**
 * mTLS needs TLS, and the client CA and the identities file go together: a CA without a table
 * would accept certificates that identify no one, a table without a CA names identities no one
 * can prove. (Only the paths are read: plain strings, valid or not as the rest of the keys are.)
 */
function clientTlsIssues(settings: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const ca = settings.METRONOME_TLS_CLIENT_CA;
  const identities = settings.METRONOME_TLS_CLIENT_IDENTITIES;
  if (ca !== undefined && identities === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["METRONOME_TLS_CLIENT_IDENTITIES"],
      input: undefined,
      message:
        "required when METRONOME_TLS_CLIENT_CA is set (the file that gives certificate identities their scopes)",
    });
  if (identities !== undefined && ca === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["METRONOME_TLS_CLIENT_CA"],
      input: undefined,
      message:
        "required when METRONOME_TLS_CLIENT_IDENTITIES is set (the CA that signs the client certificates)",
    });
  if (
    ca !== undefined &&
    (settings.METRONOME_TLS_CERT === undefined || settings.METRONOME_TLS_KEY === undefined)
  )
    ctx.addIssue({
      code: "custom",
      path: ["METRONOME_TLS_CLIENT_CA"],
      input: ca,
      message: "client certificates need TLS: set METRONOME_TLS_CERT and METRONOME_TLS_KEY too",
    });
}

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

/**
 * What a message calls the key of an issue: the command-line flag (`--port`) when the value came
 * from one, the key (`METRONOME_PORT`) otherwise, as the person wrote it.
 */
function issueName(issue: ConfigIssue): string {
  return issue.source === "flags" ? (flagOf(issue.key) ?? issue.key) : issue.key;
}

/** The command-line flag that sets a key (`--port` for METRONOME_PORT), if it has one. */
function flagOf(key: string): string | undefined {
  const spec: KeySpec<unknown> | undefined = Object.hasOwn(KEYS, key)
    ? KEYS[key as ConfigKey]
    : undefined;
  return spec?.flag?.split(" ")[0];
}

/**
 * An invalid configuration. The message has one `KEY: reason` line per invalid key, or
 * `--flag: reason` where the value came from the command line.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map((i) => `${issueName(i)}: ${i.message}`).join("\n"));
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
    for (const k of Object.keys(KEYS)) {
      const value = values[k];
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
        raw[k] = String(value);
        sourceOf.set(k, source);
      }
    }
  }

  const result = settingsSchema.safeParse(raw);
  if (!result.success) {
    // A message about another key (TLS needs both files) names it as it was given, too.
    const asGiven = (message: string) =>
      message.replace(/\b(?:SCHEDULER__|METRONOME_)[A-Z0-9_]+\b/g, (k) =>
        sourceOf.get(k) === "flags" ? (flagOf(k) ?? k) : k,
      );
    const byKey = new Map<string, ConfigIssue>();
    for (const issue of result.error.issues) {
      const k = typeof issue.path[0] === "string" ? issue.path[0] : "configuration";
      if (!byKey.has(k)) {
        byKey.set(k, { key: k, message: asGiven(issue.message), source: sourceOf.get(k) ?? null });
      }
    }
    const order = (k: string) => CONFIG_KEYS.findIndex((info) => info.key === k);
    throw new ConfigError([...byKey.values()].sort((a, b) => order(a.key) - order(b.key)));
  }

  // The schema is built from KEYS, so its output has the type the table gives each key.
  const s = result.data as Settings;
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
    encryptionKeys: s.METRONOME_ENCRYPTION_KEYS,
    migrateOnStart: s.METRONOME_MIGRATE_ON_START,
    server: {
      host: s.METRONOME_HOST,
      port: s.METRONOME_PORT,
      tls:
        s.METRONOME_TLS_CERT !== undefined && s.METRONOME_TLS_KEY !== undefined
          ? {
              certFile: s.METRONOME_TLS_CERT,
              keyFile: s.METRONOME_TLS_KEY,
              ...(s.METRONOME_TLS_CLIENT_CA !== undefined &&
              s.METRONOME_TLS_CLIENT_IDENTITIES !== undefined
                ? {
                    client: {
                      caFile: s.METRONOME_TLS_CLIENT_CA,
                      identitiesFile: s.METRONOME_TLS_CLIENT_IDENTITIES,
                    },
                  }
                : {}),
            }
          : null,
      authTokens: s.METRONOME_AUTH_TOKENS,
      shutdownGraceSeconds: s.METRONOME_SHUTDOWN_GRACE,
      transport: {
        headersTimeoutMs: Math.round(s.METRONOME_HEADERS_TIMEOUT * 1000),
        requestTimeoutMs: Math.round(s.METRONOME_REQUEST_TIMEOUT * 1000),
        idleTimeoutMs: Math.round(s.METRONOME_IDLE_TIMEOUT * 1000),
        maxConcurrentStreams: s.METRONOME_HTTP2_MAX_STREAMS,
        maxResets: s.METRONOME_HTTP2_MAX_RESETS,
        maxInvalidFrames: s.METRONOME_HTTP2_MAX_INVALID_FRAMES,
      },
    },
    logLevel: s.METRONOME_LOG_LEVEL,
    retention: {
      eventsSeconds: s.METRONOME_EVENT_RETENTION,
      runsSeconds: s.METRONOME_RUN_RETENTION,
      idempotencySeconds: s.METRONOME_IDEMPOTENCY_RETENTION,
    },
    events: {
      bufferEvents: s.METRONOME_EVENT_BUFFER,
      subscriberQueue: s.METRONOME_EVENT_SUBSCRIBER_QUEUE,
    },
    engine: {
      leaseMs: Math.round(s.METRONOME_LEASE_DURATION * 1000),
      pollIntervalMs: Math.round(s.METRONOME_POLL_INTERVAL * 1000),
      nodeLeaseMs: Math.round(s.METRONOME_NODE_LEASE * 1000),
    },
    limits: {
      maxPayloadBytes: s.METRONOME_MAX_PAYLOAD_BYTES,
      maxPageSize: s.METRONOME_MAX_PAGE_SIZE,
      storeTimeoutMs: Math.round(s.METRONOME_STORE_TIMEOUT * 1000),
      maxHealthWatches: s.METRONOME_MAX_HEALTH_WATCHES,
    },
    quotas: {
      perKey: rateLimit(s.METRONOME_RATE_PER_KEY, s.METRONOME_BURST_PER_KEY),
      perScheduler: rateLimit(s.METRONOME_RATE_PER_SCHEDULER, s.METRONOME_BURST_PER_SCHEDULER),
      subscribersPerKey: s.METRONOME_MAX_SUBSCRIBERS_PER_KEY || null,
      jobsPerScheduler: s.METRONOME_MAX_JOBS_PER_SCHEDULER || null,
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
