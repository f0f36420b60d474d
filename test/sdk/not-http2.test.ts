/**
 * A client pointed at a port that answers with something other than HTTP/2 (another service's
 * port): its call fails with UnavailableError saying so (Connect's INTERNAL "Protocol error" told
 * nothing), and closing the client right after leaves nothing that crashes the process. (With
 * connect-node 2.1 the HTTP/2 session's error came after the manager had dropped its listener:
 * "Unhandled 'error' event", exit code 1, in the service that had handled the call's error;
 * `metronome jobs list --url` at MariaDB's port printed a stack.) The CLI there exits with code 4
 * (unavailable), as when nothing answers, in one line.
 */
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScript } from "../support/script-process.js";

describe("the SDK's client at a port that does not speak HTTP/2", () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let url = "";

  beforeAll(async () => {
    // Answers every connection as an HTTP/1.1 server refusing the request would.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `http://127.0.0.1:${String(address.port)}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, "close");
  });

  const HINT =
    "Protocol error: the address does not answer in HTTP/2; is the Metronome server running at that address?";

  it("fails the call with UnavailableError and exits cleanly once the client is closed", async () => {
    const ended = await runScript("test/support/not-http2-main.ts", [], { METRONOME_URL: url });
    expect(ended).toEqual({ code: 0, stdout: `failed: UnavailableError: ${HINT}\n`, stderr: "" });
  });

  it("the CLI exits with code 4 (unavailable) and one line", async () => {
    const ended = await runScript("server/src/cli.ts", ["jobs", "list", "--url", url], {});
    expect(ended).toEqual({ code: 4, stdout: "", stderr: `metronome: ${HINT}\n` });
  });
});
