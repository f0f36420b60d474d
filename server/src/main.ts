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
  // Signals are handled from the start: one that arrives while the node starts (a supervisor
  // that stops it at once) stops it as soon as it has started, instead of killing the process.
  const state: { node?: Awaited<ReturnType<typeof startNode>>; stopping: boolean } = {
    stopping: false,
  };
  const stop = (signal: string): void => {
    if (state.stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    state.stopping = true;
    log.info({ signal }, "shutting down");
    // During start-up there is nothing to stop yet: it is stopped once started, below.
    state.node?.stop().then(
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
  state.node = await startNode(config, log, systemClock);
  if (state.stopping) {
    state.stopping = false;
    stop("SIGTERM (during start-up)");
  }
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
