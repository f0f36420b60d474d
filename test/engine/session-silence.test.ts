/**
 * A worker session is ended as silent only when its worker sent nothing for a lease, not when
 * its node's event loop was too busy to read what the worker sent. The node's loop is held busy
 * (as a burst of requests on a loaded machine holds it) past the silence limit while a message
 * waits unread on a real socket: the message is read and keeps the session.
 */
import { createConnection, createServer, type Socket } from "node:net";
import { afterEach, expect, it } from "vitest";
import {
  type SessionEnd,
  type SessionHost,
  type SessionOutput,
  WorkerSession,
} from "../../server/src/dispatch/session.js";

const SILENCE_MS = 200;

const sockets: Socket[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const close of closers.splice(0)) await close();
});

function session(ends: SessionEnd[]): WorkerSession {
  const output: SessionOutput = {
    assign: () => undefined,
    revoke: () => undefined,
    verdict: () => undefined,
    end: (e) => ends.push(e),
  };
  const host: SessionHost = {
    heartbeat: () => Promise.resolve([]),
    complete: () => Promise.reject(new Error("not in this test")),
    drain: () => undefined,
    remove: () => undefined,
  };
  const hello = {
    workerId: "w",
    handlers: new Map([["h", 1]]),
    maxConcurrency: 1,
    resumed: [],
    acceptsEarly: false,
    labels: {},
  };
  return new WorkerSession("s", hello, output, host, SILENCE_MS);
}

/** A connected pair of loopback sockets: [what the node reads, what the worker writes]. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  closers.push(
    () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  );
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const worker = createConnection(address.port, "127.0.0.1");
  await new Promise<void>((resolve) => worker.once("connect", resolve));
  const node = await accepted;
  sockets.push(node, worker);
  return [node, worker];
}

/** Holds this process's event loop for `ms`, as a long turn of synchronous work does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

it("a heartbeat that waited while the node was busy keeps the session", async () => {
  const ends: SessionEnd[] = [];
  const s = session(ends);
  const [node, worker] = await socketPair();
  const read = new Promise<void>((resolve) =>
    node.on("data", () => {
      s.touch(); // the node reads a message from the worker
      resolve();
    }),
  );
  s.touch(); // the hello
  worker.write("heartbeat"); // sent now, read once the node's loop is free
  busy(SILENCE_MS + 100);
  await read;
  // The turn after the read: a verdict of silence taken when the timer fired would be in.
  await new Promise((resolve) => setImmediate(resolve));
  expect(ends).toEqual([]);
  s.close();
});

it("a worker that sends nothing for the silence limit is ended as silent", async () => {
  const ends: SessionEnd[] = [];
  const s = session(ends);
  s.touch();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (ends.length === 0) return;
      clearInterval(check);
      resolve();
    }, 10);
  });
  expect(ends).toEqual([{ kind: "silent" }]);
  s.close();
});
