/**
 * `exitOnError()`: an SDK error escaping a script prints one line naming the call that failed
 * and exits 1; any other error prints as Node prints it, with its stack. The script
 * (test/support/exit-on-error-main.ts) runs as a process against a real node on SQLite.
 */
import { once } from "node:events";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, type TestNode } from "../support/node.js";
import { runScript, type Ended } from "../support/script-process.js";

const TOKEN = "exit-on-error-token";

function script(mode: string, url: string): Promise<Ended> {
  return runScript("test/support/exit-on-error-main.ts", [mode], {
    METRONOME_URL: url,
    METRONOME_TOKEN: TOKEN,
  });
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const AT = String.raw` \(at test/support/exit-on-error-main\.ts:\d+\)`;

describe("exitOnError", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode("sqlite:///:memory:", { METRONOME_AUTH_TOKENS: TOKEN });
  });
  afterAll(async () => {
    await node.stop();
  });

  it("prints an AlreadyExistsError as one line with the hint and the call site", async () => {
    const ended = await script("duplicate", node.url);
    expect(ended).toEqual({ code: 1, stdout: "", stderr: expect.any(String) as string });
    expect(ended.stderr).toMatch(
      new RegExp(
        String.raw`^AlreadyExistsError: job "dup" in scheduler "exit-on-error" already exists; add it with replaceExisting: true to replace it${AT}\n$`,
      ),
    );
  });

  it("prints an InvalidArgumentError as one line naming the field", async () => {
    const ended = await script("invalid", node.url);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(
      new RegExp(String.raw`^InvalidArgumentError: job\.trigger\.cron\.hour: [^\n]+${AT}\n$`),
    );
  });

  it("prints no server at the address as one line saying so", async () => {
    const port = await freePort();
    const ended = await script("duplicate", `http://127.0.0.1:${String(port)}`);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(
      new RegExp(
        String.raw`^UnavailableError: connect ECONNREFUSED 127\.0\.0\.1:${String(port)}: is the Metronome server running at that address\?${AT}\n$`,
      ),
    );
  });

  it("prints a worker's rejected start() as one line (UnauthenticatedError)", async () => {
    const ended = await script("worker", node.url);
    expect(ended.code).toBe(1);
    // (No call site: the error arises in the worker's connection loop, not under start().)
    expect(ended.stderr).toBe("UnauthenticatedError: missing or invalid bearer token\n");
    // The worker's log line says the same, without a stack.
    expect(ended.stdout).toContain(
      '"reason":"UnauthenticatedError: missing or invalid bearer token"',
    );
    expect(ended.stdout).not.toMatch(/\bat .*:\d+:\d+/);
  });

  it("prints once when called twice", async () => {
    const ended = await script("twice", node.url);
    expect(ended.code).toBe(1);
    expect(ended.stderr.split("\n")).toHaveLength(2);
  });

  it("prints any other error as Node does, with its stack", async () => {
    const ended = await script("plain", node.url);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(
      /^Error: a bug in the script\n\s+at .*exit-on-error-main\.ts:\d+:\d+/,
    );
  });
});
