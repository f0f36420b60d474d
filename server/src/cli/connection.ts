/**
 * The options every operator command takes — where the server is (`--url`, METRONOME_URL), the
 * bearer token (`--token`, METRONOME_TOKEN), `--json` — and the SDK client they make.
 */
import { type Command, Option } from "commander";
import { DEFAULT_URL, MetronomeClient, toMetronomeError } from "@metronome/sdk";
import { CliError, EXIT } from "./exit.js";

export interface ClientFlags {
  readonly url: string;
  readonly token?: string | undefined;
  readonly json?: boolean | undefined;
}

/** Adds --url, --token and --json to a command. */
export function withClientFlags(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--url <url>", "the Metronome server").env("METRONOME_URL").default(DEFAULT_URL),
    )
    .addOption(
      new Option("--token <token>", "bearer token, when the server requires one").env(
        "METRONOME_TOKEN",
      ),
    )
    .option("--json", "print JSON (the API's JSON form) instead of a table");
}

/** Log lines of the SDK are not the command's output. */
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The SDK client for a command's flags; closed by `withClient`. */
export async function withClient<T>(
  flags: ClientFlags,
  body: (client: MetronomeClient) => Promise<T>,
): Promise<T> {
  let url: URL;
  try {
    url = new URL(flags.url);
  } catch {
    throw new CliError(`--url: not a URL: ${flags.url}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`--url: expected http:// or https://, got ${flags.url}`);
  const client = new MetronomeClient({
    baseUrl: flags.url,
    ...(flags.token === undefined || flags.token === "" ? {} : { token: flags.token }),
    logger: silent,
  });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** Awaits a call of the SDK's typed clients, turning its error into the SDK's typed error. */
export async function sdk<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toMetronomeError(err);
  }
}

/**
 * The server's readiness probe (`GET /readyz`, no token needed): its status and body. No answer
 * at the URL within 10 s is exit code 4 (unavailable), saying so.
 */
export async function readiness(url: string): Promise<{ status: number; body: string }> {
  const base = url.replace(/\/+$/, "");
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.text()).trim() };
  } catch (err) {
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    throw new CliError(
      `no answer from ${url}${typeof cause === "string" ? ` (${cause})` : ""}: is the Metronome server running at that address?`,
      EXIT.unavailable,
    );
  }
}
