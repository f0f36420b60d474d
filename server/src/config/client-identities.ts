/**
 * The files of mTLS, read and checked at start-up: the client CA (METRONOME_TLS_CLIENT_CA) must
 * hold a CA certificate (Node would take any text and then trust no client), and the file
 * METRONOME_TLS_CLIENT_IDENTITIES names: which client certificate identities get which
 * scopes (docs/security.md). Read once at start-up; a change needs a restart. A JSON object from
 * identity to scopes:
 *
 * ```json
 * {
 *   "uri:spiffe://example.org/ns/prod/sa/billing": ["write:billing", "events:billing"],
 *   "dns:reports-worker.internal": ["worker:reports.*"],
 *   "cn:ops-admin": ["admin"]
 * }
 * ```
 *
 * Everything wrong with it is one {@link ConfigError} naming the key, the file and the entry.
 */
import { X509Certificate } from "node:crypto";
import { z } from "zod";
import { ClientIdentities, parseIdentity } from "../domain/client-identities.js";
import { InvalidArgumentError } from "../domain/errors.js";
import { Scopes } from "../domain/keys.js";
import { readConfigFile } from "./files.js";
import { ConfigError } from "./load.js";

const KEY = "METRONOME_TLS_CLIENT_IDENTITIES";
const CA_KEY = "METRONOME_TLS_CLIENT_CA";

const FILE = z.record(z.string(), z.array(z.string(), { error: "expected a list of scopes" }), {
  error: 'expected a JSON object from identity to scopes, e.g. {"cn:ops": ["admin"]}',
});

/** The table in `text` (the contents of `file`). Throws ConfigError. */
export function parseClientIdentities(text: string, file: string): ClientIdentities {
  const fail = (message: string): never => {
    throw new ConfigError([{ key: KEY, message: `${file}: ${message}`, source: null }]);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = FILE.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? `${JSON.stringify(String(issue.path[0]))}: ` : "";
    return fail(`${at}${issue?.message ?? "invalid"}`);
  }
  const table = new Map<string, readonly string[]>();
  for (const [name, scopes] of Object.entries(parsed.data)) {
    const quoted = JSON.stringify(name.slice(0, 200));
    try {
      const identity = parseIdentity(name);
      if (table.has(identity)) fail(`${quoted}: the same identity as an entry before it`);
      table.set(identity, Scopes.parse(scopes, quoted).list);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      fail(err.field === "" ? `${quoted}: ${err.reason}` : err.message);
    }
  }
  if (table.size === 0) fail("no identities: give at least one");
  return new ClientIdentities(table);
}

/** Reads and checks the identities file at start-up. Throws ConfigError. */
export function readClientIdentities(file: string): ClientIdentities {
  return parseClientIdentities(readConfigFile(KEY, file), file);
}

/** Checks that the client CA file starts with a CA certificate (PEM). Throws ConfigError. */
export function checkClientCa(file: string): void {
  const text = readConfigFile(CA_KEY, file);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text);
  } catch {
    throw new ConfigError([
      { key: CA_KEY, message: `${file}: no PEM certificate in it`, source: null },
    ]);
  }
  if (!cert.ca)
    throw new ConfigError([
      {
        key: CA_KEY,
        message: `${file}: ${cert.subject.replaceAll("\n", ", ")} is not a CA certificate (basicConstraints CA:TRUE)`,
        source: null,
      },
    ]);
}
