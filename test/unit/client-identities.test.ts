/**
 * mTLS identities without a network (docs/security.md): how Node's subject alternative names are
 * read (quoted values included: a name cannot smuggle in another), the match order of a
 * certificate's identities, the identities file's checks (every message names the key, the file
 * and the entry), and the configuration keys that go together.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseSubjectAltNames } from "../../server/src/api/peer-certificate.js";
import { checkClientCa, parseClientIdentities } from "../../server/src/config/client-identities.js";
import { ConfigError, loadConfig } from "../../server/src/config/load.js";
import {
  certificateIdentities,
  parseIdentity,
  type PeerCertificate,
} from "../../server/src/domain/client-identities.js";
import { createLogger } from "../../server/src/logger.js";
import { KeyRing } from "../../server/src/management/key-ring.js";
import { openStore } from "../../server/src/store/open.js";
import { certificateFolder } from "../support/certificates.js";
import { ManualClock } from "../support/clock.js";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("Node's subjectaltname string", () => {
  it("reads plain entries, keeps the kinds that are identities", () => {
    expect(
      parseSubjectAltNames(
        "URI:spiffe://example.org/a, DNS:w1.internal, IP Address:127.0.0.1, email:a@b.org",
      ),
    ).toEqual([
      { kind: "uri", value: "spiffe://example.org/a" },
      { kind: "dns", value: "w1.internal" },
      { kind: "email", value: "a@b.org" },
    ]);
    expect(parseSubjectAltNames("")).toEqual([]);
  });

  it("a quoted value is one name, however it reads", () => {
    expect(
      parseSubjectAltNames('DNS:"evil.example, URI:spiffe://example.org/admin", DNS:"a\\"b"'),
    ).toEqual([
      { kind: "dns", value: "evil.example, URI:spiffe://example.org/admin" },
      { kind: "dns", value: 'a"b' },
    ]);
  });

  it("stops at what it cannot read, keeping the names before", () => {
    expect(parseSubjectAltNames('DNS:a.example, DNS:"unterminated, URI:x')).toEqual([
      { kind: "dns", value: "a.example" },
    ]);
  });
});

describe("identities", () => {
  it("in match order: URI, DNS (lower case), email, then the common name", () => {
    expect(
      certificateIdentities([
        { kind: "cn", value: "Billing Service" },
        { kind: "dns", value: "B.Internal" },
        { kind: "email", value: "ops@example.org" },
        { kind: "uri", value: "spiffe://example.org/b" },
        { kind: "uri", value: "spiffe://example.org/a" },
      ]),
    ).toEqual([
      "uri:spiffe://example.org/b",
      "uri:spiffe://example.org/a",
      "dns:b.internal",
      "email:ops@example.org",
      "cn:Billing Service",
    ]);
  });

  it("as configured: a known kind, a printable value, short enough for the actor columns", () => {
    expect(parseIdentity("dns:Worker.Internal")).toBe("dns:worker.internal");
    expect(parseIdentity("cn:Ops Team")).toBe("cn:Ops Team");
    expect(() => parseIdentity("ip:10.0.0.1")).toThrow(/expected uri:<URI>, dns:<name>/);
    expect(() => parseIdentity("cn:")).toThrow(/printable ASCII/);
    expect(() => parseIdentity("cn:caf\u00e9")).toThrow(/printable ASCII/);
    expect(() => parseIdentity(`uri:${"x".repeat(183)}`)).toThrow(/at most 186 characters/);
    expect(parseIdentity(`uri:${"x".repeat(182)}`)).toHaveLength(186);
  });
});

describe("the identities file", () => {
  const parse = (text: string) => parseClientIdentities(text, "/etc/ids.json");
  const message = (text: string) => configError(() => parse(text)).message;

  it("maps identities to their scopes; the first of a certificate's in the table decides", () => {
    const table = parse(
      JSON.stringify({ "cn:ops": ["admin"], "dns:W.Internal": ["worker:reports.*", "read:*"] }),
    );
    expect(table.match(["dns:w.internal", "cn:ops"])).toEqual({
      identity: "dns:w.internal",
      scopes: ["worker:reports.*", "read:*"],
    });
    expect(table.match(["uri:spiffe://x", "cn:ops"])?.identity).toBe("cn:ops");
    expect(table.match(["cn:nobody"])).toBeUndefined();
  });

  it("says what is wrong, naming the key, the file and the entry", () => {
    expect(message("{")).toMatch(/^METRONOME_TLS_CLIENT_IDENTITIES: \/etc\/ids\.json: not JSON/);
    expect(message("[]")).toBe(
      'METRONOME_TLS_CLIENT_IDENTITIES: /etc/ids.json: expected a JSON object from identity to scopes, e.g. {"cn:ops": ["admin"]}',
    );
    expect(message('{"cn:a": "admin"}')).toBe(
      'METRONOME_TLS_CLIENT_IDENTITIES: /etc/ids.json: "cn:a": expected a list of scopes',
    );
    expect(message('{"cn:a": ["admin", "root"]}')).toMatch(
      /^METRONOME_TLS_CLIENT_IDENTITIES: \/etc\/ids\.json: "cn:a"\[1\]: unknown scope "root"/,
    );
    expect(message('{"cn:a": []}')).toBe(
      'METRONOME_TLS_CLIENT_IDENTITIES: /etc/ids.json: "cn:a": give at least one scope',
    );
    expect(message('{"host:a": ["admin"]}')).toMatch(
      /^METRONOME_TLS_CLIENT_IDENTITIES: \/etc\/ids\.json: "host:a": expected uri:<URI>/,
    );
    expect(message('{"dns:a.example": ["admin"], "dns:A.example": ["read:*"]}')).toBe(
      'METRONOME_TLS_CLIENT_IDENTITIES: /etc/ids.json: "dns:A.example": the same identity as an entry before it',
    );
    expect(message("{}")).toBe(
      "METRONOME_TLS_CLIENT_IDENTITIES: /etc/ids.json: no identities: give at least one",
    );
  });
});

describe("the configuration keys", () => {
  const tls = { METRONOME_TLS_CERT: "/tls/cert.pem", METRONOME_TLS_KEY: "/tls/key.pem" };
  const load = (env: Record<string, string>) => loadConfig({ env, defaultNodeId: "n" });

  it("the client CA and the identities file, with TLS: mTLS", () => {
    expect(
      load({
        ...tls,
        METRONOME_TLS_CLIENT_CA: "/tls/clients.pem",
        METRONOME_TLS_CLIENT_IDENTITIES: "/tls/ids.json",
      }).server.tls,
    ).toEqual({
      ...{ certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" },
      client: { caFile: "/tls/clients.pem", identitiesFile: "/tls/ids.json" },
    });
    expect(load(tls).server.tls?.client).toBeUndefined();
  });

  it("each needs the other, and both need TLS", () => {
    expect(
      configError(() => load({ ...tls, METRONOME_TLS_CLIENT_CA: "/tls/clients.pem" })).message,
    ).toBe(
      "METRONOME_TLS_CLIENT_IDENTITIES: required when METRONOME_TLS_CLIENT_CA is set (the file that gives certificate identities their scopes)",
    );
    expect(
      configError(() => load({ ...tls, METRONOME_TLS_CLIENT_IDENTITIES: "/tls/ids.json" })).message,
    ).toBe(
      "METRONOME_TLS_CLIENT_CA: required when METRONOME_TLS_CLIENT_IDENTITIES is set (the CA that signs the client certificates)",
    );
    expect(
      configError(() =>
        load({
          METRONOME_TLS_CLIENT_CA: "/tls/clients.pem",
          METRONOME_TLS_CLIENT_IDENTITIES: "/tls/ids.json",
        }),
      ).message,
    ).toBe(
      "METRONOME_TLS_CLIENT_CA: client certificates need TLS: set METRONOME_TLS_CERT and METRONOME_TLS_KEY too",
    );
  });
});

describe("the client CA file", () => {
  it("must hold a CA certificate", () => {
    const certs = certificateFolder();
    try {
      const ca = certs.authority("clients");
      expect(() => {
        checkClientCa(ca.certFile);
      }).not.toThrow();
      const leaf = ca.client("leaf", "/CN=leaf");
      expect(
        configError(() => {
          checkClientCa(leaf.certFile);
        }).message,
      ).toBe(
        `METRONOME_TLS_CLIENT_CA: ${leaf.certFile}: CN=leaf is not a CA certificate (basicConstraints CA:TRUE)`,
      );
      const text = join(certs.dir, "text.pem");
      writeFileSync(text, "not a certificate\n");
      expect(
        configError(() => {
          checkClientCa(text);
        }).message,
      ).toBe(`METRONOME_TLS_CLIENT_CA: ${text}: no PEM certificate in it`);
      expect(
        configError(() => {
          checkClientCa(join(certs.dir, "missing.pem"));
        }).message,
      ).toMatch(/^METRONOME_TLS_CLIENT_CA: cannot read .*missing\.pem: ENOENT/);
    } finally {
      certs.remove();
    }
  });
});

describe("the key ring with client certificates", () => {
  const NOW = Date.parse("2026-06-01T00:00:00Z");
  const peer = (over: Partial<PeerCertificate> = {}): PeerCertificate => ({
    trusted: true,
    reason: null,
    identities: ["uri:spiffe://example.org/billing", "cn:billing-svc"],
    notAfter: NOW + 60_000,
    ...over,
  });

  it("no token: the certificate decides, its expiry checked on every call", async () => {
    const store = openStore({ kind: "sqlite", path: ":memory:" });
    const clock = new ManualClock(NOW);
    const ring = new KeyRing(store, clock, createLogger("silent"), {
      tokens: [],
      clientIdentities: parseClientIdentities(
        JSON.stringify({
          "cn:billing-svc": ["admin"],
          "uri:spiffe://example.org/billing": ["read:b"],
        }),
        "ids.json",
      ),
    });
    try {
      expect(ring.enabled).toBe(true);
      const p = await ring.authenticate(null, peer());
      expect([p.actor, p.keyId, p.scopes.list]).toEqual([
        "cert:uri:spiffe://example.org/billing",
        null,
        ["read:b"],
      ]);
      await expect(ring.authenticate(null, null)).rejects.toThrow(
        "no bearer token and no client certificate",
      );
      await expect(
        ring.authenticate(null, peer({ trusted: false, reason: "CERT_HAS_EXPIRED" })),
      ).rejects.toThrow("the client certificate is not trusted (CERT_HAS_EXPIRED)");
      await expect(ring.authenticate(null, peer({ identities: ["cn:x"] }))).rejects.toThrow(
        'the client certificate\'s identities ("cn:x") have no scopes',
      );
      // A token, even a wrong one, decides alone.
      await expect(ring.authenticate("Bearer nope", peer())).rejects.toThrow(
        "missing or invalid bearer token",
      );
      clock.set(NOW + 60_000);
      await expect(ring.authenticate(null, peer())).rejects.toThrow(
        "the client certificate expired at 2026-06-01T00:01:00.000Z",
      );
    } finally {
      await ring.stop();
      await store.close();
    }
  });
});
