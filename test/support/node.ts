/**
 * Start a real Metronome node in-process on 127.0.0.1:0 (HTTP/2 + HTTP/1.1), for API tests.
 */
import { loadConfig } from "../../server/src/config/load.js";
import { startNode, type Node } from "../../server/src/server.js";
import { systemClock, type Clock } from "../../server/src/clock.js";
import { noteSecrets, testNodeLogger } from "./suite-logs.js";

export interface TestNode {
  readonly node: Node;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startTestNode(
  storeUrl: string,
  env: Record<string, string> = {},
  clock: Clock = systemClock,
): Promise<TestNode> {
  noteSecrets(env);
  const config = loadConfig({
    env: {
      SCHEDULER__JOBSTORE_URL: storeUrl,
      METRONOME_HOST: "127.0.0.1",
      METRONOME_PORT: "0",
      METRONOME_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
      METRONOME_SHUTDOWN_GRACE: "1",
      ...env,
    },
    defaultNodeId: "test-node",
  });
  const node = await startNode(config, testNodeLogger(), clock);
  const port = node.listener.address.port;
  return { node, port, url: `http://127.0.0.1:${port}`, stop: () => node.stop() };
}
