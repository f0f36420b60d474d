/**
 * The composition root of `metronome serve`: configuration, logger, node, signals.
 */
import { systemClock } from "./clock.js";
import type { Config } from "./config.js";
import { createLogger } from "./logger.js";
import { startNode } from "./server.js";
import { openStore } from "./store/open.js";

export async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId });
  for (const warning of config.warnings) log.warn(warning);
  if (!config.scheduler.enabled)
    log.info("SCHEDULER__ENABLED=false: this node serves the API and workers but fires no jobs");
  const node = await startNode(config, log, systemClock);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    stop("SIGTERM");
  });
  process.on("SIGINT", () => {
    stop("SIGINT");
  });
}

/** Apply pending migrations to the configured store, then exit. */
export async function migrateOnly(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { node: config.nodeId });
  const store = openStore(config.store);
  try {
    await store.migrate();
    log.info({ store: config.store.kind }, "migrations applied");
  } finally {
    await store.close();
  }
}
