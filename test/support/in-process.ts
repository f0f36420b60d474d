/**
 * The fast tier: a whole node (embedded SQLite store in a temporary file, engine, event log,
 * management, the API's router with its interceptor) called in process, without a socket.
 * `client` is a Connect client over `createRouterTransport`; `postJson` sends Connect JSON the
 * way `curl` does, to the same router in memory. Everything after the router — services,
 * use cases, store — is the real thing; only HTTP/2, HTTP/1.1 and the protocol sniffing of
 * api/listen.ts are left out (the suites in test/api that start real servers cover those).
 */
import { createClient, createConnectRouter, createRouterTransport } from "@connectrpc/connect";
import type { Client, Transport } from "@connectrpc/connect";
import { createAsyncIterable, createUniversalHandlerClient } from "@connectrpc/connect/protocol";
import type { DescService } from "@bufbuild/protobuf";
import { routerOptions, routes } from "../../server/src/api/router.js";
import { systemClock, type Clock } from "../../server/src/clock.js";
import { loadConfig } from "../../server/src/config/load.js";
import type { Logger } from "../../server/src/logger.js";
import { openNode, type NodeCore } from "../../server/src/server.js";
import type { JsonReply } from "./connect-json.js";
import { createSqliteStore } from "./stores.js";
import { noteSecrets, testNodeLogger } from "./suite-logs.js";

export interface InProcessNode {
  readonly node: NodeCore;
  /** Connect (binary) to the node's router, in memory. */
  readonly transport: Transport;
  /** A client of `service` over `transport`, or over a transport with `headers` on every call. */
  client<T extends DescService>(service: T, headers?: Record<string, string>): Client<T>;
  /** Connect JSON posted to `path` (e.g. `/metronome.v1.JobService/AddJob`), in memory. */
  postJson(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<JsonReply & { readonly headers: Headers }>;
  /** Stops the node and removes its store. */
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** Configuration keys, over the test defaults. */
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  /** The node's logger (default: the run's log folder, support/suite-logs.ts). */
  readonly log?: Logger;
}

/** A node on a fresh SQLite file, started (engine and event log running), not listening. */
export async function startInProcessNode(options: InProcessOptions = {}): Promise<InProcessNode> {
  if (options.env) noteSecrets(options.env);
  const store = await createSqliteStore("metronome-inproc");
  const config = loadConfig({
    env: {
      SCHEDULER__JOBSTORE_URL: store.url,
      METRONOME_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      METRONOME_SHUTDOWN_GRACE: "1",
      ...options.env,
    },
    defaultNodeId: "test-node",
  });
  let node: NodeCore;
  try {
    node = await openNode(config, options.log ?? testNodeLogger(), options.clock ?? systemClock);
  } catch (err) {
    await store.drop();
    throw err;
  }
  node.start();
  const routeAll = routes(node.api);
  const router = createConnectRouter({ ...routerOptions(node.api), connect: true });
  routeAll(router);
  const http = createUniversalHandlerClient(router.handlers);
  const transportWith = (headers: Record<string, string>): Transport =>
    createRouterTransport(routeAll, {
      router: routerOptions(node.api),
      transport: {
        interceptors: [
          (next) => (req) => {
            for (const [k, v] of Object.entries(headers)) req.header.set(k, v);
            return next(req);
          },
        ],
      },
    });
  const transport = transportWith({});
  return {
    node,
    transport,
    client: (service, headers) =>
      createClient(service, headers === undefined ? transport : transportWith(headers)),
    postJson: async (path, body, headers = {}) => {
      const payload = new TextEncoder().encode(JSON.stringify(body));
      const res = await http({
        url: `http://in-process${path}`,
        method: "POST",
        header: new Headers({ "content-type": "application/json", ...headers }),
        body: createAsyncIterable([payload]),
      });
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body) chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("utf8");
      return {
        status: res.status,
        httpVersion: "in-process",
        headers: res.header,
        body: JSON.parse(text || "{}") as Record<string, unknown>,
      };
    },
    stop: async () => {
      try {
        await node.stop();
      } finally {
        await store.drop();
      }
    },
  };
}
