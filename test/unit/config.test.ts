import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CONFIG_KEYS, type ConfigKey } from "../../server/src/config/keys.js";
import {
  ConfigError,
  type Config,
  type LoadConfigOptions,
  loadConfig,
  loadConfigFromProcess,
} from "../../server/src/config/load.js";
import { repoRoot } from "../support/paths.js";

const load = (env: Record<string, string | undefined>, more: Partial<LoadConfigOptions> = {}) =>
  loadConfig({ env, defaultNodeId: "test-node", ...more });

function rejects(options: LoadConfigOptions): ConfigError {
  try {
    loadConfig(options);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

/** Two encryption keys (32 bytes each, base64). */
const KEY_A = Buffer.alloc(32, 0xa1).toString("base64");
const KEY_B = Buffer.alloc(32, 0xb2).toString("base64");

const DEFAULTS: Config = {
  nodeId: "test-node",
  scheduler: {
    enabled: true,
    timezone: "UTC",
    coalesce: true,
    maxInstances: 1,
    misfireGraceTimeSeconds: 60,
  },
  store: { kind: "sqlite", path: "./data/metronome.db" },
  encryptionKeys: [],
  migrateOnStart: true,
  server: {
    host: "0.0.0.0",
    port: 8080,
    tls: null,
    authTokens: [],
    shutdownGraceSeconds: 10,
    transport: {
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 300_000,
      maxConcurrentStreams: 1000,
      maxResets: 200,
      maxInvalidFrames: 100,
    },
  },
  logLevel: "info",
  retention: { eventsSeconds: 604_800, runsSeconds: 2_592_000, idempotencySeconds: 86_400 },
  events: { bufferEvents: 20_000, subscriberQueue: 2_000 },
  engine: { leaseMs: 30_000, pollIntervalMs: 1000, nodeLeaseMs: 15_000 },
  limits: {
    maxPayloadBytes: 65_536,
    maxPageSize: 1000,
    storeTimeoutMs: 10_000,
    maxHealthWatches: 1000,
  },
  quotas: { perKey: null, perScheduler: null, subscribersPerKey: null, jobsPerScheduler: null },
  warnings: [],
};

describe("defaults", () => {
  it("with nothing set, every key has its documented default", () => {
    expect(load({})).toEqual(DEFAULTS);
  });

  it("the node id defaults to hostname-pid unless a default is injected", () => {
    expect(loadConfig({ env: {} }).nodeId).toBe(`${hostname()}-${process.pid}`);
    expect(loadConfig({ env: {}, defaultNodeId: "n1" }).nodeId).toBe("n1");
  });

  it("a blank value means the default", () => {
    expect(
      load({ METRONOME_PORT: "", SCHEDULER__TIMEZONE: "  ", METRONOME_LOG_LEVEL: "" }),
    ).toEqual(DEFAULTS);
  });

  it("unrelated environment variables change nothing and raise no warning", () => {
    expect(load({ PATH: "/usr/bin", HOME: "/root", SCHEDULER_TIMEZONE: "Asia/Tokyo" })).toEqual(
      DEFAULTS,
    );
  });
});

describe("each key", () => {
  // [key, value, read the setting, expected]
  const cases: [ConfigKey, string, (c: Config) => unknown, unknown][] = [
    ["SCHEDULER__ENABLED", "false", (c) => c.scheduler.enabled, false],
    ["SCHEDULER__TIMEZONE", "Asia/Shanghai", (c) => c.scheduler.timezone, "Asia/Shanghai"],
    ["SCHEDULER__TIMEZONE", "asia/shanghai", (c) => c.scheduler.timezone, "Asia/Shanghai"],
    ["SCHEDULER__TIMEZONE", "utc", (c) => c.scheduler.timezone, "UTC"],
    ["SCHEDULER__COALESCE", "no", (c) => c.scheduler.coalesce, false],
    ["SCHEDULER__MAX_INSTANCES", "3", (c) => c.scheduler.maxInstances, 3],
    ["SCHEDULER__MAX_INSTANCES", " 12 ", (c) => c.scheduler.maxInstances, 12],
    ["SCHEDULER__MAX_INSTANCES", "10000", (c) => c.scheduler.maxInstances, 10_000],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "2.5", (c) => c.scheduler.misfireGraceTimeSeconds, 2.5],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "3600", (c) => c.scheduler.misfireGraceTimeSeconds, 3600],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "none", (c) => c.scheduler.misfireGraceTimeSeconds, null],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "None", (c) => c.scheduler.misfireGraceTimeSeconds, null],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "null", (c) => c.scheduler.misfireGraceTimeSeconds, null],
    ["SCHEDULER__MISFIRE_GRACE_TIME", "", (c) => c.scheduler.misfireGraceTimeSeconds, null],
    [
      "SCHEDULER__JOBSTORE_URL",
      "mysql://root@127.0.0.1:3306/metronome",
      (c) => c.store,
      { kind: "mysql", url: "mysql://root@127.0.0.1:3306/metronome" },
    ],
    ["METRONOME_HOST", "127.0.0.1", (c) => c.server.host, "127.0.0.1"],
    ["METRONOME_HOST", "::", (c) => c.server.host, "::"],
    ["METRONOME_PORT", "9090", (c) => c.server.port, 9090],
    ["METRONOME_PORT", "0", (c) => c.server.port, 0],
    ["METRONOME_PORT", "65535", (c) => c.server.port, 65535],
    ["METRONOME_AUTH_TOKENS", "abc", (c) => c.server.authTokens, ["abc"]],
    ["METRONOME_AUTH_TOKENS", " a1 , b2,,a1, ", (c) => c.server.authTokens, ["a1", "b2"]],
    ["METRONOME_LOG_LEVEL", "debug", (c) => c.logLevel, "debug"],
    ["METRONOME_LOG_LEVEL", "WARN", (c) => c.logLevel, "warn"],
    ["METRONOME_LOG_LEVEL", "silent", (c) => c.logLevel, "silent"],
    ["METRONOME_EVENT_RETENTION", "86400", (c) => c.retention.eventsSeconds, 86_400],
    ["METRONOME_RUN_RETENTION", "172800", (c) => c.retention.runsSeconds, 172_800],
    ["METRONOME_IDEMPOTENCY_RETENTION", "3600", (c) => c.retention.idempotencySeconds, 3600],
    ["METRONOME_EVENT_BUFFER", "500", (c) => c.events.bufferEvents, 500],
    ["METRONOME_EVENT_SUBSCRIBER_QUEUE", "50", (c) => c.events.subscriberQueue, 50],
    ["METRONOME_MIGRATE_ON_START", "0", (c) => c.migrateOnStart, false],
    ["METRONOME_NODE_ID", "node-a.example", (c) => c.nodeId, "node-a.example"],
    ["METRONOME_SHUTDOWN_GRACE", "30", (c) => c.server.shutdownGraceSeconds, 30],
    ["METRONOME_SHUTDOWN_GRACE", "0.5", (c) => c.server.shutdownGraceSeconds, 0.5],
    ["METRONOME_MAX_PAYLOAD_BYTES", "1048576", (c) => c.limits.maxPayloadBytes, 1_048_576],
    ["METRONOME_MAX_PAGE_SIZE", "50", (c) => c.limits.maxPageSize, 50],
    ["METRONOME_RATE_PER_KEY", "2.5", (c) => c.quotas.perKey, { rate: 2.5, burst: 3 }],
    ["METRONOME_RATE_PER_KEY", "0", (c) => c.quotas.perKey, null],
    ["METRONOME_BURST_PER_KEY", "7", (c) => c.quotas.perKey, null],
    ["METRONOME_RATE_PER_SCHEDULER", "0.5", (c) => c.quotas.perScheduler, { rate: 0.5, burst: 1 }],
    ["METRONOME_BURST_PER_SCHEDULER", "9", (c) => c.quotas.perScheduler, null],
    ["METRONOME_MAX_SUBSCRIBERS_PER_KEY", "4", (c) => c.quotas.subscribersPerKey, 4],
    ["METRONOME_MAX_SUBSCRIBERS_PER_KEY", "0", (c) => c.quotas.subscribersPerKey, null],
    ["METRONOME_MAX_JOBS_PER_SCHEDULER", "10000", (c) => c.quotas.jobsPerScheduler, 10_000],
    ["METRONOME_LEASE_DURATION", "5", (c) => c.engine.leaseMs, 5000],
    ["METRONOME_LEASE_DURATION", "0.5", (c) => c.engine.leaseMs, 500],
    ["METRONOME_POLL_INTERVAL", "0.25", (c) => c.engine.pollIntervalMs, 250],
    ["METRONOME_STORE_TIMEOUT", "2", (c) => c.limits.storeTimeoutMs, 2000],
    ["METRONOME_HEADERS_TIMEOUT", "2.5", (c) => c.server.transport.headersTimeoutMs, 2500],
    ["METRONOME_REQUEST_TIMEOUT", "30", (c) => c.server.transport.requestTimeoutMs, 30_000],
    ["METRONOME_IDLE_TIMEOUT", "0.5", (c) => c.server.transport.idleTimeoutMs, 500],
    ["METRONOME_HTTP2_MAX_STREAMS", "64", (c) => c.server.transport.maxConcurrentStreams, 64],
    ["METRONOME_MAX_HEALTH_WATCHES", "5", (c) => c.limits.maxHealthWatches, 5],
    ["METRONOME_HTTP2_MAX_RESETS", "50", (c) => c.server.transport.maxResets, 50],
    ["METRONOME_HTTP2_MAX_INVALID_FRAMES", "10", (c) => c.server.transport.maxInvalidFrames, 10],
    ["METRONOME_NODE_LEASE", "2", (c) => c.engine.nodeLeaseMs, 2000],
    [
      "METRONOME_ENCRYPTION_KEYS",
      ` new:${KEY_A} , old-1:${KEY_B.replaceAll("=", "")}`,
      (c) => c.encryptionKeys.map((k) => [k.id, k.key.toString("base64")]),
      [
        ["new", KEY_A],
        ["old-1", KEY_B],
      ],
    ],
  ];

  it.each(cases)("%s=%j", (key, value, read, expected) => {
    const config = load({ [key]: value });
    expect(read(config)).toEqual(expected);
    expect(config.warnings).toEqual([]);
  });

  it("a burst applies with its rate: the bucket's size", () => {
    const c = load({
      METRONOME_RATE_PER_KEY: "10",
      METRONOME_BURST_PER_KEY: "40",
      METRONOME_RATE_PER_SCHEDULER: "100",
    });
    expect(c.quotas.perKey).toEqual({ rate: 10, burst: 40 });
    expect(c.quotas.perScheduler).toEqual({ rate: 100, burst: 100 });
  });

  it("every key has at least one parse case", () => {
    const covered = new Set(cases.map(([key]) => key));
    const untested = CONFIG_KEYS.map((k) => k.key).filter(
      (k) => !covered.has(k) && !k.startsWith("METRONOME_TLS_"), // TLS: its own tests below
    );
    expect(untested).toEqual([]);
  });

  const booleans: [string, boolean][] = [
    ["true", true],
    ["TRUE", true],
    ["True", true],
    ["1", true],
    ["yes", true],
    ["YES", true],
    ["false", false],
    ["False", false],
    ["0", false],
    ["no", false],
    ["No", false],
  ];
  it.each(booleans)("booleans: %j is %s for every boolean key", (value, expected) => {
    const config = load({
      SCHEDULER__ENABLED: value,
      SCHEDULER__COALESCE: value,
      METRONOME_MIGRATE_ON_START: value,
    });
    expect([config.scheduler.enabled, config.scheduler.coalesce, config.migrateOnStart]).toEqual([
      expected,
      expected,
      expected,
    ]);
  });

  it("reads the guide's .env block verbatim (comments included), apart from the store", () => {
    const guide = [
      "SCHEDULER__ENABLED=true                          # 是否启用",
      "SCHEDULER__TIMEZONE=Asia/Shanghai                # 时区",
      "SCHEDULER__COALESCE=true                         # 合并错过的任务执行",
      "SCHEDULER__MAX_INSTANCES=1                       # 同一任务最大并发实例数",
      "SCHEDULER__MISFIRE_GRACE_TIME=60                 # 任务错过容忍时间(秒)",
      "SCHEDULER__JOBSTORE_URL=sqlite:///jobs.db        # 存储",
    ].join("\n");
    const config = load({}, { dotenvText: guide });
    expect(config.scheduler).toEqual({
      enabled: true,
      timezone: "Asia/Shanghai",
      coalesce: true,
      maxInstances: 1,
      misfireGraceTimeSeconds: 60,
    });
    expect(config.store).toEqual({ kind: "sqlite", path: "jobs.db" });
  });
});

describe("precedence: defaults < .env < environment < flags", () => {
  const dotenvText =
    "METRONOME_PORT=1001\nMETRONOME_HOST=10.0.0.1\nSCHEDULER__TIMEZONE=Europe/Paris\n";

  it(".env overrides the defaults", () => {
    const config = load({}, { dotenvText });
    expect(config.server.port).toBe(1001);
    expect(config.server.host).toBe("10.0.0.1");
    expect(config.scheduler.timezone).toBe("Europe/Paris");
    expect(config.scheduler.maxInstances).toBe(1); // not in .env: default
  });

  it("the environment overrides .env", () => {
    const config = load({ METRONOME_PORT: "2002" }, { dotenvText });
    expect(config.server.port).toBe(2002);
    expect(config.server.host).toBe("10.0.0.1");
  });

  it("flags override the environment and .env", () => {
    const config = load(
      { METRONOME_PORT: "2002", METRONOME_HOST: "10.0.0.2" },
      { dotenvText, flags: { METRONOME_PORT: "3003" } },
    );
    expect(config.server.port).toBe(3003);
    expect(config.server.host).toBe("10.0.0.2");
    expect(config.scheduler.timezone).toBe("Europe/Paris");
  });

  it("flags may be numbers and booleans; an undefined flag overrides nothing", () => {
    const config = load(
      { METRONOME_PORT: "2002", SCHEDULER__ENABLED: "true" },
      {
        dotenvText,
        flags: { METRONOME_PORT: 4004, SCHEDULER__ENABLED: false, METRONOME_HOST: undefined },
      },
    );
    expect(config.server.port).toBe(4004);
    expect(config.scheduler.enabled).toBe(false);
    expect(config.server.host).toBe("10.0.0.1");
  });

  it("an undefined environment value overrides nothing", () => {
    expect(load({ METRONOME_PORT: undefined }, { dotenvText }).server.port).toBe(1001);
  });

  it("a blank value in a higher source resets the key to its default", () => {
    expect(load({ METRONOME_PORT: "" }, { dotenvText }).server.port).toBe(8080);
    expect(
      load(
        {},
        {
          dotenvText: "SCHEDULER__MISFIRE_GRACE_TIME=5",
          flags: { SCHEDULER__MISFIRE_GRACE_TIME: "" },
        },
      ).scheduler.misfireGraceTimeSeconds,
    ).toBeNull();
  });

  it("an invalid value is reported with the source it came from", () => {
    const err = rejects({
      env: { METRONOME_PORT: "x" },
      dotenvText: "METRONOME_LOG_LEVEL=loud",
      flags: { SCHEDULER__MAX_INSTANCES: 0 },
    });
    expect(err.issues.map((i) => [i.key, i.source])).toEqual([
      ["SCHEDULER__MAX_INSTANCES", "flags"],
      ["METRONOME_PORT", "environment"],
      ["METRONOME_LOG_LEVEL", ".env"],
    ]);
  });

  it("a valid higher source hides an invalid lower one", () => {
    expect(
      load({ METRONOME_PORT: "5005" }, { dotenvText: "METRONOME_PORT=nope" }).server.port,
    ).toBe(5005);
  });

  it("does not touch process.env", () => {
    const before = { ...process.env };
    load({}, { dotenvText: "METRONOME_SOMETHING_NEW=1\nMETRONOME_PORT=1234" });
    expect(process.env).toEqual(before);
  });
});

describe("invalid values name their key", () => {
  // [key, value, the whole message]
  const cases: [ConfigKey, string, string][] = [
    [
      "SCHEDULER__ENABLED",
      "maybe",
      'SCHEDULER__ENABLED: expected true or false (also 1/0, yes/no), got "maybe"',
    ],
    [
      "SCHEDULER__TIMEZONE",
      "Mars/Olympus_Mons",
      'SCHEDULER__TIMEZONE: expected an IANA time zone such as UTC or Asia/Shanghai, got "Mars/Olympus_Mons"',
    ],
    [
      "SCHEDULER__COALESCE",
      "2",
      'SCHEDULER__COALESCE: expected true or false (also 1/0, yes/no), got "2"',
    ],
    [
      "SCHEDULER__MAX_INSTANCES",
      "zero",
      'SCHEDULER__MAX_INSTANCES: expected a whole number from 1 to 10000, got "zero"',
    ],
    [
      "SCHEDULER__MAX_INSTANCES",
      "0",
      'SCHEDULER__MAX_INSTANCES: expected a whole number from 1 to 10000, got "0"',
    ],
    [
      "SCHEDULER__MAX_INSTANCES",
      "1.5",
      'SCHEDULER__MAX_INSTANCES: expected a whole number from 1 to 10000, got "1.5"',
    ],
    [
      "SCHEDULER__MISFIRE_GRACE_TIME",
      "-1",
      'SCHEDULER__MISFIRE_GRACE_TIME: expected a number of seconds > 0 and at most 365 days, or none for no limit, got "-1"',
    ],
    [
      "SCHEDULER__MISFIRE_GRACE_TIME",
      "0",
      'SCHEDULER__MISFIRE_GRACE_TIME: expected a number of seconds > 0 and at most 365 days, or none for no limit, got "0"',
    ],
    [
      "SCHEDULER__MAX_INSTANCES",
      "20000",
      'SCHEDULER__MAX_INSTANCES: expected a whole number from 1 to 10000, got "20000"',
    ],
    [
      "SCHEDULER__MISFIRE_GRACE_TIME",
      "1m",
      'SCHEDULER__MISFIRE_GRACE_TIME: expected a number of seconds > 0 and at most 365 days, or none for no limit, got "1m"',
    ],
    [
      "SCHEDULER__JOBSTORE_URL",
      "jobs.db",
      'SCHEDULER__JOBSTORE_URL: expected a job store URL (use redis://…, redis+cluster://…, postgresql://…, mysql://… or sqlite:///…), got "jobs.db"',
    ],
    [
      "METRONOME_HOST",
      "my host",
      'METRONOME_HOST: expected a host name or IP address, got "my host"',
    ],
    [
      "METRONOME_PORT",
      "70000",
      'METRONOME_PORT: expected a whole number from 0 to 65535, got "70000"',
    ],
    ["METRONOME_PORT", "-1", 'METRONOME_PORT: expected a whole number from 0 to 65535, got "-1"'],
    [
      "METRONOME_PORT",
      "0x50",
      'METRONOME_PORT: expected a whole number from 0 to 65535, got "0x50"',
    ],
    [
      "METRONOME_AUTH_TOKENS",
      "good,with space",
      "METRONOME_AUTH_TOKENS: expected comma-separated tokens of printable ASCII characters " +
        "without spaces (value not shown)",
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      `k1:${KEY_A},k1:${KEY_B}`,
      'METRONOME_ENCRYPTION_KEYS: key id "k1" appears twice',
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      `short:${Buffer.alloc(16, 7).toString("base64")}`,
      'METRONOME_ENCRYPTION_KEYS: key "short" decodes to 16 bytes; AES-256 needs 32 (e.g. `openssl rand -base64 32`)',
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      `k1:${KEY_A},k2:not base64!`,
      'METRONOME_ENCRYPTION_KEYS: key "k2" is not base64 (value not shown)',
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      KEY_A,
      "METRONOME_ENCRYPTION_KEYS: entry 1 is not <key id>:<base64 key> (value not shown)",
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      `k1:${KEY_A},,k2:${KEY_B}`,
      "METRONOME_ENCRYPTION_KEYS: entry 2 is empty",
    ],
    [
      "METRONOME_ENCRYPTION_KEYS",
      `bad id:${KEY_A}`,
      "METRONOME_ENCRYPTION_KEYS: entry 1: the key id must be 1 to 64 of A-Z a-z 0-9 _ . - (value not shown)",
    ],
    [
      "METRONOME_LOG_LEVEL",
      "verbose",
      'METRONOME_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [
      "METRONOME_EVENT_RETENTION",
      "7d",
      'METRONOME_EVENT_RETENTION: expected a whole number >= 1, got "7d"',
    ],
    [
      "METRONOME_RUN_RETENTION",
      "0",
      'METRONOME_RUN_RETENTION: expected a whole number >= 1, got "0"',
    ],
    [
      "METRONOME_IDEMPOTENCY_RETENTION",
      "1d",
      'METRONOME_IDEMPOTENCY_RETENTION: expected a whole number >= 1, got "1d"',
    ],
    [
      "METRONOME_EVENT_BUFFER",
      "-1",
      'METRONOME_EVENT_BUFFER: expected a whole number >= 1, got "-1"',
    ],
    [
      "METRONOME_EVENT_SUBSCRIBER_QUEUE",
      "many",
      'METRONOME_EVENT_SUBSCRIBER_QUEUE: expected a whole number >= 1, got "many"',
    ],
    [
      "METRONOME_MIGRATE_ON_START",
      "sometimes",
      'METRONOME_MIGRATE_ON_START: expected true or false (also 1/0, yes/no), got "sometimes"',
    ],
    [
      "METRONOME_NODE_ID",
      "node one",
      'METRONOME_NODE_ID: expected at most 191 printable ASCII characters without spaces, got "node one"',
    ],
    [
      "METRONOME_NODE_ID",
      "n".repeat(192),
      `METRONOME_NODE_ID: expected at most 191 printable ASCII characters without spaces, got "${"n".repeat(192)}"`,
    ],
    [
      "METRONOME_SHUTDOWN_GRACE",
      "soon",
      'METRONOME_SHUTDOWN_GRACE: expected a number of seconds >= 0, got "soon"',
    ],
    [
      "METRONOME_LEASE_DURATION",
      "0.1",
      "METRONOME_LEASE_DURATION: expected from 0.3 to 3600 seconds",
    ],
    ["METRONOME_POLL_INTERVAL", "120", "METRONOME_POLL_INTERVAL: expected from 0.01 to 60 seconds"],
    ["METRONOME_STORE_TIMEOUT", "0", "METRONOME_STORE_TIMEOUT: expected from 0.1 to 3600 seconds"],
    [
      "METRONOME_HEADERS_TIMEOUT",
      "0",
      "METRONOME_HEADERS_TIMEOUT: expected from 0.1 to 3600 seconds",
    ],
    [
      "METRONOME_REQUEST_TIMEOUT",
      "forever",
      'METRONOME_REQUEST_TIMEOUT: expected a number of seconds >= 0, got "forever"',
    ],
    [
      "METRONOME_IDLE_TIMEOUT",
      "100000",
      "METRONOME_IDLE_TIMEOUT: expected from 0.1 to 86400 seconds",
    ],
    [
      "METRONOME_MAX_HEALTH_WATCHES",
      "0",
      'METRONOME_MAX_HEALTH_WATCHES: expected a whole number from 1 to 1000000, got "0"',
    ],
    [
      "METRONOME_HTTP2_MAX_STREAMS",
      "0",
      'METRONOME_HTTP2_MAX_STREAMS: expected a whole number from 1 to 1000000, got "0"',
    ],
    [
      "METRONOME_HTTP2_MAX_RESETS",
      "-1",
      'METRONOME_HTTP2_MAX_RESETS: expected a whole number from 1 to 1000000, got "-1"',
    ],
    [
      "METRONOME_HTTP2_MAX_INVALID_FRAMES",
      "1.5",
      'METRONOME_HTTP2_MAX_INVALID_FRAMES: expected a whole number from 1 to 1000000, got "1.5"',
    ],
    ["METRONOME_NODE_LEASE", "0.1", "METRONOME_NODE_LEASE: expected from 0.3 to 3600 seconds"],
    [
      "METRONOME_MAX_PAYLOAD_BYTES",
      "64KiB",
      'METRONOME_MAX_PAYLOAD_BYTES: expected a whole number >= 1, got "64KiB"',
    ],
    [
      "METRONOME_RATE_PER_KEY",
      "-1",
      'METRONOME_RATE_PER_KEY: expected a number of requests per second from 0 to 1000000 (0 = no limit), got "-1"',
    ],
    [
      "METRONOME_RATE_PER_SCHEDULER",
      "fast",
      'METRONOME_RATE_PER_SCHEDULER: expected a number of requests per second from 0 to 1000000 (0 = no limit), got "fast"',
    ],
    [
      "METRONOME_BURST_PER_KEY",
      "2.5",
      'METRONOME_BURST_PER_KEY: expected a whole number from 0 to 1000000, got "2.5"',
    ],
    [
      "METRONOME_BURST_PER_SCHEDULER",
      "-3",
      'METRONOME_BURST_PER_SCHEDULER: expected a whole number from 0 to 1000000, got "-3"',
    ],
    [
      "METRONOME_MAX_SUBSCRIBERS_PER_KEY",
      "many",
      'METRONOME_MAX_SUBSCRIBERS_PER_KEY: expected a whole number from 0 to 1000000, got "many"',
    ],
    [
      "METRONOME_MAX_JOBS_PER_SCHEDULER",
      "1e6",
      'METRONOME_MAX_JOBS_PER_SCHEDULER: expected a whole number >= 0, got "1e6"',
    ],
    [
      "METRONOME_MAX_PAGE_SIZE",
      "0",
      'METRONOME_MAX_PAGE_SIZE: expected a whole number >= 1, got "0"',
    ],
  ];

  it.each(cases)("%s=%j", (key, value, message) => {
    const err = rejects({ env: { [key]: value } });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("ConfigError");
    expect(err.message).toBe(message);
    expect(err.issues).toEqual([
      { key, message: message.slice(key.length + 2), source: "environment" },
    ]);
  });

  it("every key except the free-form TLS paths has an invalid case", () => {
    const covered = new Set(cases.map(([key]) => key));
    const untested = CONFIG_KEYS.map((k) => k.key).filter(
      (k) => !covered.has(k) && !k.startsWith("METRONOME_TLS_"),
    );
    expect(untested).toEqual([]);
  });

  it("several invalid keys are reported together, one line each, in table order", () => {
    const err = rejects({
      env: {
        METRONOME_PORT: "eighty",
        SCHEDULER__MAX_INSTANCES: "zero",
        SCHEDULER__JOBSTORE_URL: "postgresql://u:p@db",
        METRONOME_TLS_CERT: "/etc/tls/cert.pem",
        SCHEDULER__TIMEZONE: "Nowhere/Land",
      },
    });
    expect(err.issues.map((i) => i.key)).toEqual([
      "SCHEDULER__TIMEZONE",
      "SCHEDULER__MAX_INSTANCES",
      "SCHEDULER__JOBSTORE_URL",
      "METRONOME_PORT",
      "METRONOME_TLS_KEY",
    ]);
    const lines = err.message.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.map((line) => line.split(":")[0])).toEqual(err.issues.map((i) => i.key));
  });
});

describe("store URL", () => {
  const store = (url: string) => load({ SCHEDULER__JOBSTORE_URL: url }).store;

  const accepted: [string, Config["store"]][] = [
    [
      "mysql://root@localhost/metronome",
      { kind: "mysql", url: "mysql://root@localhost/metronome" },
    ],
    [
      "mysql://user:pa%40ss@db.example:3307/jobs?charset=utf8mb4",
      { kind: "mysql", url: "mysql://user:pa%40ss@db.example:3307/jobs?charset=utf8mb4" },
    ],
    ["mysql+pymysql://u:p@h/db", { kind: "mysql", url: "mysql://u:p@h/db" }],
    ["mysql+aiomysql://u:p@h:3306/db", { kind: "mysql", url: "mysql://u:p@h:3306/db" }],
    ["MySQL://u@h/db", { kind: "mysql", url: "mysql://u@h/db" }],
    ["mariadb://u@h/db", { kind: "mysql", url: "mysql://u@h/db" }],
    ["sqlite:///jobs.db", { kind: "sqlite", path: "jobs.db" }],
    ["sqlite:///relative/path.db", { kind: "sqlite", path: "relative/path.db" }],
    ["sqlite:///./data/x.db", { kind: "sqlite", path: "./data/x.db" }],
    [
      "sqlite:////var/lib/metronome/jobs.db",
      { kind: "sqlite", path: "/var/lib/metronome/jobs.db" },
    ],
    ["sqlite:///:memory:", { kind: "sqlite", path: ":memory:" }],
    ["sqlite://", { kind: "sqlite", path: ":memory:" }],
    ["sqlite+pysqlite:///jobs.db", { kind: "sqlite", path: "jobs.db" }],
    ["postgresql://user:pass@host/db", { kind: "postgres", url: "postgres://user:pass@host/db" }],
    ["postgres://user:pass@host/db", { kind: "postgres", url: "postgres://user:pass@host/db" }],
    [
      "postgresql+psycopg2://u:p%40ss@db.example:5433/jobs?sslmode=require",
      { kind: "postgres", url: "postgres://u:p%40ss@db.example:5433/jobs?sslmode=require" },
    ],
    ["PostgreSQL://u@h/db", { kind: "postgres", url: "postgres://u@h/db" }],
    ["redis://localhost:6379/0", { kind: "redis", url: "redis://localhost:6379/0" }],
    ["rediss://localhost:6380/0", { kind: "redis", url: "rediss://localhost:6380/0" }],
    ["redis://:secret@cache.example", { kind: "redis", url: "redis://:secret@cache.example" }],
    ["Redis://u:p@h:6379/15", { kind: "redis", url: "redis://u:p@h:6379/15" }],
    [
      "redis+cluster://10.0.0.1:7000,10.0.0.2:7001",
      {
        kind: "redis-cluster",
        connection: {
          nodes: [
            { host: "10.0.0.1", port: 7000 },
            { host: "10.0.0.2", port: 7001 },
          ],
          username: undefined,
          password: undefined,
          tls: false,
          prefix: "metronome:",
          shards: 16,
        },
      },
    ],
    [
      "rediss+cluster://u:p%40ss@a.example:7000,b.example,[::1]:7002/?prefix=jobs:&shards=32",
      {
        kind: "redis-cluster",
        connection: {
          nodes: [
            { host: "a.example", port: 7000 },
            { host: "b.example", port: 6379 },
            { host: "::1", port: 7002 },
          ],
          username: "u",
          password: "p@ss",
          tls: true,
          prefix: "jobs:",
          shards: 32,
        },
      },
    ],
  ];
  it.each(accepted)("%s", (url, expected) => {
    expect(store(url)).toEqual(expected);
  });

  const rejected: [string, string][] = [
    [
      "postgresql://u:secret@host",
      'SCHEDULER__JOBSTORE_URL: expected postgresql://user:password@host[:port]/database, got "postgresql://u:***@host"',
    ],
    [
      "redis://u:secret@localhost:6379/zero",
      'SCHEDULER__JOBSTORE_URL: expected redis://[user:password@]host[:port][/db] (db a number), got "redis://u:***@localhost:6379/zero"',
    ],
    [
      "redis+cluster://",
      'SCHEDULER__JOBSTORE_URL: expected redis+cluster://[user:password@]host:port[,host:port…][?prefix=…&shards=N], got "redis+cluster://"',
    ],
    [
      "redis+cluster://u:secret@h:7000,h:70000",
      'SCHEDULER__JOBSTORE_URL: expected redis+cluster://[user:password@]host:port[,host:port…][?prefix=…&shards=N], got "redis+cluster://u:***@h:7000,h:70000"',
    ],
    [
      "redis+cluster://h:7000?shards=0",
      'SCHEDULER__JOBSTORE_URL: shards= in the store URL must be a whole number from 1 to 256, got "0"',
    ],
    [
      "redis+cluster://h:7000?db=1",
      'SCHEDULER__JOBSTORE_URL: unknown parameter "db" in the store URL; expected redis+cluster://[user:password@]host:port[,host:port…][?prefix=…&shards=N], got "redis+cluster://h:7000?db=1"',
    ],
    [
      "mongodb://localhost/jobs",
      'SCHEDULER__JOBSTORE_URL: unsupported job store URL scheme "mongodb"; use redis://…, redis+cluster://…, postgresql://…, mysql://… or sqlite:///…',
    ],
    [
      "mysql://localhost",
      'SCHEDULER__JOBSTORE_URL: expected mysql://user:password@host[:port]/database, got "mysql://localhost"',
    ],
    [
      "sqlite://jobs.db",
      "SCHEDULER__JOBSTORE_URL: expected sqlite:///relative/path.db (three slashes), " +
        'sqlite:////absolute/path.db (four) or sqlite:///:memory:, got "sqlite://jobs.db"',
    ],
    [
      "sqlite:///",
      "SCHEDULER__JOBSTORE_URL: expected sqlite:///relative/path.db (three slashes), " +
        'sqlite:////absolute/path.db (four) or sqlite:///:memory:, got "sqlite:///"',
    ],
    [
      "sqlite:///jobs.db?mode=ro",
      "SCHEDULER__JOBSTORE_URL: expected sqlite:///relative/path.db (three slashes), " +
        'sqlite:////absolute/path.db (four) or sqlite:///:memory:, got "sqlite:///jobs.db?mode=ro"',
    ],
  ];
  it.each(rejected)("%s is rejected", (url, message) => {
    expect(rejects({ env: { SCHEDULER__JOBSTORE_URL: url } }).message).toBe(message);
  });

  it("the guide's example (a Redis URL) names the Redis store", () => {
    const config = load(
      {},
      { dotenvText: "SCHEDULER__JOBSTORE_URL=redis://localhost:6379/0 # 分布式存储（可选）" },
    );
    expect(config.store).toEqual({ kind: "redis", url: "redis://localhost:6379/0" });
  });

  it("an error message never shows the database password", () => {
    const err = rejects({ env: { SCHEDULER__JOBSTORE_URL: "mysql://root:s3cret@dbhost" } });
    expect(err.message).toContain("mysql://root:***@dbhost");
    expect(err.message).not.toContain("s3cret");
  });

  it("an error message never shows an auth token", () => {
    const err = rejects({ env: { METRONOME_AUTH_TOKENS: "hunter2,bad token" } });
    expect(err.message).toMatch(/^METRONOME_AUTH_TOKENS: /);
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("bad token");
  });
});

describe("TLS: both files or neither", () => {
  it("neither: plaintext", () => {
    expect(load({}).server.tls).toBeNull();
  });

  it("both: TLS with those files", () => {
    expect(
      load({ METRONOME_TLS_CERT: "/tls/cert.pem", METRONOME_TLS_KEY: "/tls/key.pem" }).server.tls,
    ).toEqual({ certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" });
  });

  it("both, from different sources", () => {
    expect(
      load({ METRONOME_TLS_KEY: "k.pem" }, { dotenvText: "METRONOME_TLS_CERT=c.pem" }).server.tls,
    ).toEqual({ certFile: "c.pem", keyFile: "k.pem" });
  });

  it("only the certificate: the key is named as missing", () => {
    const err = rejects({ env: { METRONOME_TLS_CERT: "/tls/cert.pem" } });
    expect(err.message).toBe(
      "METRONOME_TLS_KEY: required when METRONOME_TLS_CERT is set (TLS needs both a certificate and a key file)",
    );
    expect(err.issues[0]?.source).toBeNull();
  });

  it("only the key: the certificate is named as missing", () => {
    const err = rejects({ env: { METRONOME_TLS_KEY: "/tls/key.pem" } });
    expect(err.message).toBe(
      "METRONOME_TLS_CERT: required when METRONOME_TLS_KEY is set (TLS needs both a certificate and a key file)",
    );
  });

  it("a blank certificate counts as unset", () => {
    expect(
      rejects({ env: { METRONOME_TLS_CERT: " ", METRONOME_TLS_KEY: "k.pem" } }).issues,
    ).toEqual([expect.objectContaining({ key: "METRONOME_TLS_CERT" })]);
  });
});

describe("unknown keys", () => {
  it("a typo in the environment is ignored and reported with a suggestion", () => {
    const config = load({ SCHEDULER__TIMEZON: "Asia/Shanghai" });
    expect(config.scheduler.timezone).toBe("UTC");
    expect(config.warnings).toEqual([
      "unknown setting SCHEDULER__TIMEZON in the environment is ignored (did you mean SCHEDULER__TIMEZONE?)",
    ]);
  });

  it("a key in .env and the environment is reported once, naming both", () => {
    const config = load({ METRONOME_PORTT: "1" }, { dotenvText: "METRONOME_PORTT=2" });
    expect(config.warnings).toEqual([
      "unknown setting METRONOME_PORTT in .env and the environment is ignored (did you mean METRONOME_PORT?)",
    ]);
  });

  it("a key with no close match gets no suggestion; wrong case is suggested", () => {
    const config = load({ METRONOME_FEATURE_FLAGS: "x", metronome_port: "9" });
    expect(config.warnings).toEqual([
      "unknown setting METRONOME_FEATURE_FLAGS in the environment is ignored",
      "unknown setting metronome_port in the environment is ignored (did you mean METRONOME_PORT?)",
    ]);
    expect(config.server.port).toBe(8080);
  });

  it("the test harness's METRONOME_TEST_* variables are not reported", () => {
    expect(load({ METRONOME_TEST_MYSQL_URL: "mysql://root@127.0.0.1/test" }).warnings).toEqual([]);
  });
});

describe("CONFIG_KEYS", () => {
  it("lists each key once with a description", () => {
    const keys = CONFIG_KEYS.map((k) => k.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(42);
    expect(keys.slice(0, 6)).toEqual([
      "SCHEDULER__ENABLED",
      "SCHEDULER__TIMEZONE",
      "SCHEDULER__COALESCE",
      "SCHEDULER__MAX_INSTANCES",
      "SCHEDULER__MISFIRE_GRACE_TIME",
      "SCHEDULER__JOBSTORE_URL",
    ]);
    for (const info of CONFIG_KEYS) expect(info.description.length).toBeGreaterThan(10);
  });

  it("every documented default, written out, gives the same configuration as leaving it unset", () => {
    const env: Record<string, string> = {};
    for (const info of CONFIG_KEYS) {
      if (info.default !== "" && info.key !== "METRONOME_NODE_ID") env[info.key] = info.default;
    }
    expect(Object.keys(env)).toHaveLength(35);
    expect(load(env)).toEqual(DEFAULTS);
  });
});

describe("the README's configuration table", () => {
  /** The rows of the table under `## Configuration`: cells without their backticks. */
  function readmeRows(): string[][] {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## Configuration\n"));
    const table = section.slice(section.indexOf("\n|")).split("\n\n")[0] ?? "";
    return table
      .trim()
      .split("\n")
      .slice(2) // header and rule
      .map((line) =>
        line
          .slice(1, -1)
          .split("|")
          .map((cell) => cell.trim().replaceAll("`", "")),
      );
  }

  it("lists every key, with the default and the flag of the table of keys", () => {
    const documented = new Map<string, { default: string; flag: string }>();
    for (const [keys = "", defaultCell = "", , flags = ""] of readmeRows()) {
      // One row may document two keys (`A` / `B`), with a flag each.
      const names = keys.split(" / ");
      const flagNames = flags === "" ? [] : flags.split(" / ");
      names.forEach((name, i) => {
        documented.set(name, { default: defaultCell, flag: flagNames[i] ?? "" });
      });
    }
    expect([...documented.keys()].sort()).toEqual(CONFIG_KEYS.map((k) => k.key).sort());
    for (const info of CONFIG_KEYS) {
      expect({ key: info.key, ...documented.get(info.key) }).toEqual({
        key: info.key,
        default: info.default,
        flag: info.flag?.split(" ")[0] ?? "",
      });
    }
  });
});

describe("loadConfigFromProcess", () => {
  let dir: string | undefined;
  afterEach(() => {
    vi.unstubAllEnvs();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("reads .env from the directory, the environment over it, flags over both", () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-config-"));
    writeFileSync(
      join(dir, ".env"),
      "METRONOME_PORT=1111\nMETRONOME_MAX_PAGE_SIZE=7\nSCHEDULER__MAX_INSTANCES=2\n",
    );
    vi.stubEnv("METRONOME_PORT", "2222");
    vi.stubEnv("METRONOME_MAX_PAGE_SIZE", undefined);
    vi.stubEnv("SCHEDULER__MAX_INSTANCES", undefined);
    const config = loadConfigFromProcess({ SCHEDULER__MAX_INSTANCES: "5" }, dir);
    expect(config.server.port).toBe(2222);
    expect(config.limits.maxPageSize).toBe(7);
    expect(config.scheduler.maxInstances).toBe(5);
    expect(process.env.METRONOME_MAX_PAGE_SIZE).toBeUndefined();
  });

  it("a missing .env is fine", () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-config-"));
    vi.stubEnv("METRONOME_PORT", "3333");
    expect(loadConfigFromProcess({}, dir).server.port).toBe(3333);
  });

  it("an unreadable .env is a ConfigError naming the file", () => {
    dir = mkdtempSync(join(tmpdir(), "metronome-config-"));
    mkdirSync(join(dir, ".env"));
    let caught: unknown;
    try {
      loadConfigFromProcess({}, dir);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toMatch(/^\.env: cannot read .*\.env: /);
  });
});
