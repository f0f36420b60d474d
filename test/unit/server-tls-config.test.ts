/**
 * The node's certificate and key are checked at start-up, before the store is opened: a file
 * that cannot be read, holds no certificate or key, or a key that is not the certificate's, stops
 * the start with a ConfigError naming the key (config/server-tls.ts). Real files made by openssl.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../server/src/config/load.js";
import { checkServerTls } from "../../server/src/config/server-tls.js";
import { certificateFolder } from "../support/certificates.js";
import { startTestNode } from "../support/node.js";

const certs = certificateFolder();
afterAll(() => {
  certs.remove();
});
const ca = certs.authority("tls-config-ca");
const server = ca.server();
const other = ca.client("other", "/CN=other");
const garbage = join(certs.dir, "garbage.pem");
writeFileSync(garbage, "not a PEM file\n");
const missing = join(certs.dir, "missing.pem");

const messageOf = (f: () => unknown): string => {
  try {
    f();
    return "accepted";
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
};

describe("checkServerTls", () => {
  it("accepts a certificate with its own key", () => {
    expect(
      messageOf(() => {
        checkServerTls(server.certFile, server.keyFile);
      }),
    ).toBe("accepted");
  });

  it.each([
    [
      "a missing certificate",
      missing,
      server.keyFile,
      `METRONOME_TLS_CERT: cannot read ${missing}`,
    ],
    ["a missing key", server.certFile, missing, `METRONOME_TLS_KEY: cannot read ${missing}`],
    [
      "a certificate file without a certificate",
      garbage,
      server.keyFile,
      `METRONOME_TLS_CERT: ${garbage}: no PEM certificate in it`,
    ],
    [
      "a key file without a key",
      server.certFile,
      garbage,
      `METRONOME_TLS_KEY: ${garbage}: no PEM private key in it`,
    ],
    [
      "another certificate's key",
      server.certFile,
      other.keyFile,
      `METRONOME_TLS_KEY: ${other.keyFile}: not the private key of the certificate in ${server.certFile}`,
    ],
  ])("names the key for %s", (_case, cert, key, message) => {
    expect(
      messageOf(() => {
        checkServerTls(cert, key);
      }),
    ).toContain(message);
  });
});

describe("a node with a bad certificate", () => {
  it("does not start, and does not open its store", async () => {
    const db = join(certs.dir, "never-opened.db");
    const started = startTestNode(`sqlite:///${db}`, {
      METRONOME_TLS_CERT: garbage,
      METRONOME_TLS_KEY: server.keyFile,
    });
    await expect(started).rejects.toThrow(
      `METRONOME_TLS_CERT: ${garbage}: no PEM certificate in it`,
    );
    expect(existsSync(db)).toBe(false);
  });
});
