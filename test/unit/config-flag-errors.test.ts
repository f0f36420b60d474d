/**
 * An invalid configuration value names where the person wrote it: the command-line flag
 * (`--port: …`) when it came from `metronome serve`'s flags, the key (`METRONOME_PORT: …`) when it
 * came from the environment or `.env`. For every key that has a flag.
 */
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, type ConfigKey } from "../../server/src/config/keys.js";
import { ConfigError, loadConfig, type LoadConfigOptions } from "../../server/src/config/load.js";

function rejects(options: LoadConfigOptions): ConfigError {
  try {
    loadConfig({ defaultNodeId: "test-node", ...options });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

/** An invalid value of each key that has a flag (the TLS paths are any text: below). */
const INVALID: Partial<Record<ConfigKey, string>> = {
  SCHEDULER__ENABLED: "maybe",
  SCHEDULER__TIMEZONE: "Mars/Olympus",
  SCHEDULER__JOBSTORE_URL: "mongodb://localhost/jobs",
  METRONOME_HOST: "two words",
  METRONOME_PORT: "abc",
  METRONOME_LOG_LEVEL: "loud",
  METRONOME_EVENT_RETENTION: "0",
  METRONOME_MIGRATE_ON_START: "maybe",
  METRONOME_NODE_ID: "two words",
  METRONOME_AUTH_TOKENS: "bad token",
};

const flagged = CONFIG_KEYS.flatMap(({ key, flag }) =>
  flag === undefined ? [] : [[key, flag.split(" ")[0] ?? ""] as const],
);

describe("an invalid value names the flag or the key it came from", () => {
  it("every key with a flag, except the free-form TLS paths, has an invalid case", () => {
    expect(
      flagged.map(([key]) => key).filter((k) => !k.startsWith("METRONOME_TLS_") && !(k in INVALID)),
    ).toEqual([]);
  });

  it.each(flagged.filter(([key]) => key in INVALID))("%s (%s)", (key, flag) => {
    const value = INVALID[key] ?? "";
    const fromFlag = rejects({ env: {}, flags: { [key]: value } });
    const fromEnv = rejects({ env: { [key]: value } });
    const fromDotenv = rejects({ env: {}, dotenvText: `${key}=${value}\n` });
    // The same reason, named as the person wrote the value.
    const reason = fromEnv.message.slice(`${key}: `.length);
    expect(fromEnv.message).toBe(`${key}: ${reason}`);
    expect(fromDotenv.message).toBe(`${key}: ${reason}`);
    expect(fromFlag.message).toBe(`${flag}: ${reason}`);
    expect(fromFlag.message).not.toContain(key);
    // The issues still say which key, and where its value came from.
    expect(fromFlag.issues).toEqual([{ key, message: reason, source: "flags" }]);
  });

  it("--port abc names --port; METRONOME_PORT=abc names METRONOME_PORT", () => {
    const reason = 'expected a whole number from 0 to 65535, got "abc"';
    expect(
      rejects({ env: { METRONOME_PORT: "8080" }, flags: { METRONOME_PORT: "abc" } }).message,
    ).toBe(`--port: ${reason}`);
    expect(
      rejects({ env: { METRONOME_PORT: "abc" }, flags: { METRONOME_PORT: undefined } }).message,
    ).toBe(`METRONOME_PORT: ${reason}`);
  });

  it("several invalid values, each named as given", () => {
    expect(
      rejects({
        env: { METRONOME_PORT: "abc", SCHEDULER__MAX_INSTANCES: "0" },
        flags: { METRONOME_LOG_LEVEL: "loud", SCHEDULER__TIMEZONE: "Mars/Olympus" },
      }).message.split("\n"),
    ).toEqual([
      expect.stringMatching(/^--timezone: /),
      expect.stringMatching(/^SCHEDULER__MAX_INSTANCES: /),
      expect.stringMatching(/^METRONOME_PORT: /),
      expect.stringMatching(/^--log-level: /),
    ]);
  });

  it("a TLS file given by flag is named by its flag in the other key's message", () => {
    expect(rejects({ env: {}, flags: { METRONOME_TLS_CERT: "/tls/cert.pem" } }).message).toBe(
      "METRONOME_TLS_KEY: required when --tls-cert is set (TLS needs both a certificate and a key file)",
    );
    expect(rejects({ env: { METRONOME_TLS_CERT: "/tls/cert.pem" } }).message).toBe(
      "METRONOME_TLS_KEY: required when METRONOME_TLS_CERT is set (TLS needs both a certificate and a key file)",
    );
    expect(
      rejects({ env: {}, flags: { METRONOME_TLS_CLIENT_CA: "/tls/ca.pem" } }).message.split("\n"),
    ).toEqual([
      "--tls-client-ca: client certificates need TLS: set METRONOME_TLS_CERT and METRONOME_TLS_KEY too",
      "METRONOME_TLS_CLIENT_IDENTITIES: required when --tls-client-ca is set (the file that gives certificate identities their scopes)",
    ]);
  });
});
