/**
 * Every configuration key, in one table: its default, how its value is parsed and checked, what
 * it means, and the `metronome serve` flag that sets it. Each default is written here once: the
 * loader applies it (through the same parser as a given value), `--help` and the README's table
 * show it (test/unit/config.test.ts checks that the README agrees).
 */
import type { z } from "zod";
import { DEFAULT_LIMITS } from "../domain/jobs.js";
import { ENCRYPTION_KEYS } from "./encryption-keys.js";
import { JOBSTORE_URL } from "./store-url.js";
import {
  AUTH_TOKENS,
  BOOLEAN,
  FILE_PATH,
  GRACE_TIME,
  HOST,
  LOG_LEVEL,
  LOG_LEVELS,
  NODE_ID,
  RATE,
  SECONDS,
  TIMEZONE,
  wholeNumber,
} from "./values.js";

/** A value as it is written in the environment, parsed into what the configuration holds. */
type Parser<T> = z.ZodType<T, string>;

export interface KeySpec<T> {
  /**
   * The value that applies when the key is not set, as it would be written in `.env`; it goes
   * through `parse` like a given value. Absent: the key has no value unless given.
   */
  readonly default?: string;
  /** What the docs say when the key has no default value (e.g. a computed one). */
  readonly unsetMeans?: string;
  readonly parse: Parser<T>;
  /** One line for `--help` and the docs. */
  readonly description: string;
  /** The `metronome serve` / `migrate` flag that sets it, as commander writes it. */
  readonly flag?: string;
  /**
   * What a blank value (empty or only spaces) means: `default` (as if unset; most keys), or
   * `value` (the parser reads the empty string).
   */
  readonly blank?: "default" | "value";
}

function secondsBetween(min: number, max: number) {
  return SECONDS.refine((s) => s >= min && s <= max, {
    error: min === 0 ? `expected at most ${max} seconds` : `expected from ${min} to ${max} seconds`,
  });
}

/** The keys, in documentation order. */
export const KEYS = {
  SCHEDULER__ENABLED: {
    default: "true",
    parse: BOOLEAN,
    description: "whether this node fires jobs (an API-only node sets false)",
    flag: "--scheduler-enabled <bool>",
  },
  SCHEDULER__TIMEZONE: {
    default: "UTC",
    parse: TIMEZONE,
    description: "default time zone of schedulers and triggers (IANA name)",
    flag: "--timezone <zone>",
  },
  SCHEDULER__COALESCE: {
    default: "true",
    parse: BOOLEAN,
    description: "default coalesce: several overdue fire times of a job become one run",
  },
  SCHEDULER__MAX_INSTANCES: {
    default: "1",
    parse: wholeNumber(1, 10_000),
    description: "default max_instances: concurrent runs of one job",
  },
  SCHEDULER__MISFIRE_GRACE_TIME: {
    default: "60",
    parse: GRACE_TIME,
    // Blank means "no limit" here, as `none` and `null` do.
    blank: "value",
    description: "default misfire grace time in seconds; none (or empty) = no limit",
  },
  SCHEDULER__JOBSTORE_URL: {
    default: "sqlite:///./data/metronome.db",
    parse: JOBSTORE_URL,
    description:
      "the job store: postgresql://user:password@host/database, mysql://user:password@host/database or sqlite:///path (unset: embedded SQLite)",
    flag: "--store <url>",
  },
  METRONOME_HOST: {
    default: "0.0.0.0",
    parse: HOST,
    description: "address to listen on",
    flag: "--host <host>",
  },
  METRONOME_PORT: {
    default: "8080",
    parse: wholeNumber(0, 65535),
    description: "port to listen on (0 = any free port)",
    flag: "--port <port>",
  },
  METRONOME_TLS_CERT: {
    parse: FILE_PATH,
    description: "TLS certificate file (PEM); set together with METRONOME_TLS_KEY",
    flag: "--tls-cert <file>",
  },
  METRONOME_TLS_KEY: {
    parse: FILE_PATH,
    description: "TLS private key file (PEM); set together with METRONOME_TLS_CERT",
    flag: "--tls-key <file>",
  },
  METRONOME_TLS_CLIENT_CA: {
    parse: FILE_PATH,
    description:
      "CA certificates (PEM) whose client certificates identify callers (mTLS); needs TLS and METRONOME_TLS_CLIENT_IDENTITIES",
    flag: "--tls-client-ca <file>",
  },
  METRONOME_TLS_CLIENT_IDENTITIES: {
    parse: FILE_PATH,
    description:
      "JSON file giving client certificate identities (uri:, dns:, email:, cn:) their scopes; set with METRONOME_TLS_CLIENT_CA",
    flag: "--tls-client-identities <file>",
  },
  METRONOME_AUTH_TOKENS: {
    default: "",
    parse: AUTH_TOKENS,
    description:
      "comma-separated bootstrap admin tokens; with them set, scoped API keys work too (empty = no auth). As a flag they are visible to other users of the machine (ps): prefer the environment or .env",
    flag: "--auth-tokens <tokens>",
  },
  METRONOME_ENCRYPTION_KEYS: {
    default: "",
    parse: ENCRYPTION_KEYS,
    description:
      "comma-separated <key id>:<base64 of 32 bytes>: job args, kwargs and results sealed at rest with AES-256-GCM; the first key seals, all open (empty = stored in clear)",
  },
  METRONOME_LOG_LEVEL: {
    default: "info",
    parse: LOG_LEVEL,
    description: `log level: ${LOG_LEVELS.join(", ")}`,
    flag: "--log-level <level>",
  },
  METRONOME_EVENT_RETENTION: {
    default: "604800",
    parse: wholeNumber(1),
    description: "how long events are kept, in seconds (default 7 days)",
    flag: "--event-retention <seconds>",
  },
  METRONOME_RUN_RETENTION: {
    default: "2592000",
    parse: wholeNumber(1),
    description: "how long finished runs are kept, in seconds (default 30 days)",
  },
  METRONOME_IDEMPOTENCY_RETENTION: {
    default: "86400",
    parse: wholeNumber(1),
    description:
      "how long the answer of a call sent with an idempotency-key is kept for its repeats, in seconds (default 1 day)",
  },
  METRONOME_EVENT_BUFFER: {
    default: "20000",
    parse: wholeNumber(1),
    description: "recent events each node keeps in memory for subscribers catching up",
  },
  METRONOME_EVENT_SUBSCRIBER_QUEUE: {
    default: "2000",
    parse: wholeNumber(1),
    description:
      "events queued for one subscriber before it is left to catch up from memory or the store",
  },
  METRONOME_MIGRATE_ON_START: {
    default: "true",
    parse: BOOLEAN,
    description: "apply pending database migrations at start-up",
    flag: "--migrate-on-start <bool>",
  },
  METRONOME_NODE_ID: {
    unsetMeans: "<hostname>-<pid>",
    parse: NODE_ID,
    description: "this node's identity in leases and logs",
    flag: "--node-id <id>",
  },
  METRONOME_SHUTDOWN_GRACE: {
    default: "10",
    parse: secondsBetween(0, 3600),
    description: "seconds a stopping node waits for in-flight work",
  },
  METRONOME_MAX_PAYLOAD_BYTES: {
    default: String(DEFAULT_LIMITS.maxPayloadBytes),
    parse: wholeNumber(1),
    description: "largest args + kwargs JSON of a job, in bytes",
  },
  METRONOME_RATE_PER_KEY: {
    default: "0",
    parse: RATE,
    description:
      "requests per second one API key, bootstrap token or anonymous caller may make to one node (token bucket); 0 = no limit",
  },
  METRONOME_BURST_PER_KEY: {
    default: "0",
    parse: wholeNumber(0, 1_000_000),
    description:
      "requests one key may make at once after a quiet time (the bucket's size); 0 = the rate, rounded up",
  },
  METRONOME_RATE_PER_SCHEDULER: {
    default: "0",
    parse: RATE,
    description:
      "requests per second naming one scheduler that one node accepts, from all keys together; 0 = no limit",
  },
  METRONOME_BURST_PER_SCHEDULER: {
    default: "0",
    parse: wholeNumber(0, 1_000_000),
    description:
      "requests naming one scheduler accepted at once after a quiet time; 0 = the rate, rounded up",
  },
  METRONOME_MAX_SUBSCRIBERS_PER_KEY: {
    default: "0",
    parse: wholeNumber(0, 1_000_000),
    description: "event subscriptions one key may hold open on one node; 0 = no limit",
  },
  METRONOME_MAX_JOBS_PER_SCHEDULER: {
    default: "0",
    parse: wholeNumber(0),
    description:
      "jobs one scheduler may hold; AddJob and AddJobs past it answer RESOURCE_EXHAUSTED; 0 = no limit",
  },
  METRONOME_MAX_PAGE_SIZE: {
    default: String(DEFAULT_LIMITS.maxPageSize),
    parse: wholeNumber(1),
    description: "largest page size of list calls",
  },
  METRONOME_LEASE_DURATION: {
    default: "30",
    parse: secondsBetween(0.3, 3600),
    description:
      "seconds a worker holds a run without a heartbeat before it is retried or failed (workers heartbeat every third of it)",
  },
  METRONOME_POLL_INTERVAL: {
    default: "1",
    parse: secondsBetween(0.01, 60),
    description:
      "seconds between this node's checks for due jobs and runs changed by other nodes (its own changes wake it at once)",
  },
  METRONOME_STORE_TIMEOUT: {
    default: "10",
    parse: secondsBetween(0.1, 3600),
    description:
      "seconds an API call's store work may take (less when the client's deadline is sooner); past it the transaction is rolled back and the call answers UNAVAILABLE",
  },
  METRONOME_HEADERS_TIMEOUT: {
    default: "10",
    parse: secondsBetween(0.1, 3600),
    description:
      "seconds a connection has to say which protocol it speaks, send an HTTP/1.1 request's headers, or open its first HTTP/2 stream",
  },
  METRONOME_REQUEST_TIMEOUT: {
    default: "60",
    parse: secondsBetween(0.1, 3600),
    description: "seconds an HTTP/1.1 client has to send a whole request, body included",
  },
  METRONOME_IDLE_TIMEOUT: {
    default: "300",
    parse: secondsBetween(0.1, 86_400),
    description:
      "seconds an HTTP/2 connection may have no open stream before it is closed (clients reconnect)",
  },
  METRONOME_MAX_HEALTH_WATCHES: {
    default: "1000",
    parse: wholeNumber(1, 1_000_000),
    description:
      "grpc.health.v1.Health/Watch streams open at once on one node, from all clients (Watch needs no key); past it Watch answers RESOURCE_EXHAUSTED",
  },
  METRONOME_HTTP2_MAX_STREAMS: {
    default: "1000",
    parse: wholeNumber(1, 1_000_000),
    description: "concurrent streams one HTTP/2 connection may open",
  },
  METRONOME_HTTP2_MAX_RESETS: {
    default: "200",
    parse: wholeNumber(1, 1_000_000),
    description:
      "streams a client may reset within 10 s before its HTTP/2 connection is closed (rapid reset)",
  },
  METRONOME_HTTP2_MAX_INVALID_FRAMES: {
    default: "100",
    parse: wholeNumber(1, 1_000_000),
    description:
      "invalid frames (or streams refused past the limit) one HTTP/2 connection may send before it is closed",
  },
  METRONOME_NODE_LEASE: {
    default: "15",
    parse: secondsBetween(0.3, 3600),
    description:
      "seconds a node's record (ListNodes, ListWorkers) outlives its last refresh; nodes refresh every third of it",
  },
} satisfies Record<string, KeySpec<unknown>>;

/** A configuration key, e.g. `SCHEDULER__TIMEZONE` or `METRONOME_PORT`. */
export type ConfigKey = keyof typeof KEYS;

export interface ConfigKeyInfo {
  readonly key: ConfigKey;
  /** The default as it would be written in `.env` (or what an unset key means); empty = unset. */
  readonly default: string;
  readonly description: string;
  /** The command-line flag, e.g. `--port <port>`. */
  readonly flag?: string | undefined;
}

/** Every key, in documentation order: for docs and `--help`. */
export const CONFIG_KEYS: readonly ConfigKeyInfo[] = (
  Object.entries(KEYS) as [ConfigKey, KeySpec<unknown>][]
).map(([k, spec]) => ({
  key: k,
  default: spec.default ?? spec.unsetMeans ?? "",
  description: spec.description,
  flag: spec.flag,
}));
