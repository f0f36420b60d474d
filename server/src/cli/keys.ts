/**
 * `metronome keys create|list|revoke` (the SDK's KeyService client; needs an admin key or a
 * bootstrap token). `create` prints the secret once: the server keeps only its hash.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { ApiKeySchema, type ApiKey } from "@metronome/sdk/api";
import { sdk, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError, EXIT } from "./exit.js";
import { fields, json, table, when, type Out } from "./output.js";
import { parseDuration, parseInstant } from "./values.js";

const ms = (t: Parameters<typeof timestampMs>[0] | undefined): number | null =>
  t === undefined ? null : timestampMs(t);

function state(k: ApiKey): string {
  if (k.revokedAt !== undefined) return `revoked by ${k.revokedBy}`;
  const expires = ms(k.expiresAt);
  if (expires !== null && expires <= Date.now()) return "expired";
  return "active";
}

/**
 * `--expires-in <duration>` or `--expires-at <time>`, read as every command reads durations and
 * times (docs/cli.md, "Values"): epoch milliseconds.
 */
function expiry(o: { expiresIn?: string; expiresAt?: string }): number | undefined {
  if (o.expiresIn !== undefined && o.expiresAt !== undefined)
    throw new CliError("give --expires-in or --expires-at, not both", EXIT.usage);
  if (o.expiresIn !== undefined) return Date.now() + parseDuration("--expires-in", o.expiresIn);
  if (o.expiresAt !== undefined) return parseInstant("--expires-at", o.expiresAt);
  return undefined;
}

export function keysCommand(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  const keys = program.command("keys").description("scoped API keys (needs the admin scope)");

  withClientFlags(
    keys
      .command("create")
      .description("create a key and print its secret (shown only once)")
      .requiredOption("--name <text>", "what the key is for")
      .requiredOption(
        "--scope <scope...>",
        "admin, read:<scheduler>, write:<scheduler>, events:<scheduler> (<scheduler> may be *), worker:<handler> or worker:<prefix>*",
      )
      .option("--expires-in <duration>", "e.g. 30d, 12h, 1w")
      .option("--expires-at <time>", "ISO 8601 with an offset, or +DURATION from now"),
  ).action(
    (o: ClientFlags & { name: string; scope: string[]; expiresIn?: string; expiresAt?: string }) =>
      run(() =>
        withClient(o, async (c) => {
          const at = expiry(o);
          const made = await sdk(
            c.keys.createKey(
              {
                name: o.name,
                scopes: o.scope,
                ...(at === undefined ? {} : { expiresAt: timestampFromMs(at) }),
              },
              { headers: c.headers },
            ),
          );
          if (o.json === true) {
            out.line(
              json({
                key: made.key === undefined ? null : toJson(ApiKeySchema, made.key),
                secret: made.secret,
              }),
            );
            return;
          }
          fields(out, [
            ["key", made.key?.keyId],
            ["name", made.key?.name],
            ["scopes", made.key?.scopes.join(" ")],
            ["expires", when(ms(made.key?.expiresAt))],
            ["secret", made.secret],
          ]);
          out.line("");
          out.line("The secret is shown only now: store it (the server keeps only its hash).");
        }),
      ),
  );

  withClientFlags(keys.command("list").description("list the keys, newest first")).action(
    (o: ClientFlags) =>
      run(() =>
        withClient(o, async (c) => {
          const { keys: list } = await sdk(c.keys.listKeys({}, { headers: c.headers }));
          if (o.json === true) {
            out.line(json(list.map((k) => toJson(ApiKeySchema, k))));
            return;
          }
          table(
            out,
            ["key", "name", "scopes", "created", "by", "expires", "state"],
            list.map((k) => [
              k.keyId,
              k.name,
              k.scopes.join(" "),
              when(ms(k.createdAt)),
              k.createdBy,
              when(ms(k.expiresAt)),
              state(k),
            ]),
          );
        }),
      ),
  );

  withClientFlags(
    keys
      .command("revoke")
      .description("revoke a key: every node refuses it within 5 s, open streams included")
      .argument("<key-id>"),
  ).action((keyId: string, o: ClientFlags) =>
    run(() =>
      withClient(o, async (c) => {
        const { key } = await sdk(c.keys.revokeKey({ keyId }, { headers: c.headers }));
        if (o.json === true) {
          out.line(json(key === undefined ? null : toJson(ApiKeySchema, key)));
          return;
        }
        out.line(`revoked ${keyId} (${key === undefined ? "" : state(key)})`);
      }),
    ),
  );
}
