/**
 * `metronome health --local`: the URL of the node this machine runs, from the configuration that
 * node reads — `.env` in the working directory, the environment, and the flags of its `serve`
 * command line — instead of `--url`. The Docker image's HEALTHCHECK uses it, so that it probes the
 * port the node listens on however that port was given (`-e METRONOME_PORT`, a `.env` mounted in
 * /app, `docker run … serve --port 9090`).
 */
import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import { ConfigError, type Config } from "../config/load.js";
import { configFlagsOf, configFrom } from "./config-flags.js";
import { CliError, EXIT } from "./exit.js";

/** The process whose `serve` flags count by default: a container's main process. */
export const DEFAULT_SERVE_PID = 1;

/**
 * The arguments after `serve` in process `pid`'s command line (Linux: /proc/PID/cmdline); null
 * when it cannot be read or runs no `serve`.
 */
function serveArgsOf(pid: number): readonly string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${String(pid)}/cmdline`, "utf8");
  } catch {
    return null;
  }
  const args = text.split("\0");
  if (args.at(-1) === "") args.pop();
  // The first `serve` after the program (`node server/dist/cli.js serve …`, or behind an init).
  const at = args.indexOf("serve", 1);
  return at < 0 ? null : args.slice(at + 1);
}

/**
 * Where a node with this configuration answers on this machine: its host, or the loopback
 * address when it listens on every address; `https` with TLS.
 */
export function nodeUrl(config: Config): string {
  const { host, port, tls } = config.server;
  if (port === 0)
    throw new CliError(
      "the node's port is 0 (any free port), so it cannot be known here: give --url",
    );
  const wildcard = host === "" || host === "0.0.0.0" || host === "::" || host === "[::]";
  const name = wildcard ? "127.0.0.1" : host;
  const bracketed = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  return `${tls === null ? "http" : "https"}://${bracketed}:${String(port)}`;
}

/**
 * The URL of the local node: the configuration of `.env` in the working directory and the
 * environment, with the flags of the `serve` process `pid` over them. `pid` undefined: process 1
 * when it runs `serve` (in a container), else no flags. A given `pid` must run `serve`.
 */
export function localNodeUrl(pid: number | undefined): string {
  const args = serveArgsOf(pid ?? DEFAULT_SERVE_PID);
  if (args === null && pid !== undefined)
    throw new CliError(`--pid: process ${String(pid)} is not a running \`metronome serve\``);
  let config: Config;
  try {
    config = configFrom(args === null ? {} : configFlagsOf(args));
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliError(`invalid configuration\n${err.message}`, EXIT.usage);
    if (err instanceof CommanderError)
      throw new CliError(
        `the serve command line of process ${String(pid ?? DEFAULT_SERVE_PID)}: ${err.message}`,
      );
    throw err;
  }
  return nodeUrl(config);
}
