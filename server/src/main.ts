/**
 * The composition root of `metronome serve`: configuration, logger, node, signals.
 */
import { systemClock } from "./clock.js";
import type { Config } from "./config/load.js";
import { createLogger, defaultLogFormat, type Logger } from "./logger.js";
import { startNode, type Node } from "./server.js";
import { SealingKeys } from "./lib/envelope.js";
import { openStore } from "./store/open.js";
import { resealJobs, type ResealCount } from "./store/reseal.js";
import { sealedStore } from "./store/sealed.js";
import { Sealer } from "./store/sealing.js";
import { startTracingIfWanted } from "./tracing/start.js";
import { VERSION } from "./version.js";

/**
 * A signal that repeats one already received within this window is the same stop request
 * delivered twice: a terminal's Ctrl-C goes to every process of the foreground group, so under
 * `npm start` the node gets it from the terminal and again from npm, which forwards it.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

function rootLogger(config: Config): Logger {
  return createLogger(config.logLevel, { node: config.nodeId }, { format: defaultLogFormat() });
}

export async function serve(config: Config): Promise<void> {
  const log = rootLogger(config);
  for (const warning of config.warnings) log.warn(warning);
  if (!config.scheduler.enabled)
    log.info("SCHEDULER__ENABLED=false: this node serves the API and workers but fires no jobs");
  // Signals are handled from the start: one that arrives while the node starts (a supervisor
  // that stops it at once) stops it as soon as it has started, instead of killing the process.
  const started: { node?: Node } = {};
  let first: { signal: NodeJS.Signals; at: number } | undefined;

  const shutDown = (n: Node, signal: NodeJS.Signals): void => {
    const again = signal === "SIGINT" ? "Ctrl-C again" : `${signal} again`;
    n.stop({
      waiting: (runs, graceMs) => {
        log.info(
          { runs, graceMs },
          `waiting for ${String(runs)} run${runs === 1 ? "" : "s"} to finish (up to ${seconds(graceMs)}); ${again} to stop now`,
        );
      },
    }).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "error while shutting down");
        process.exit(1);
      },
    );
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    const now = performance.now();
    if (first !== undefined) {
      if (signal === first.signal && now - first.at < DUPLICATE_SIGNAL_MS) {
        log.debug({ signal }, "the same signal again at once: one stop request");
        return;
      }
      log.warn({ signal }, "second signal: stopping now");
      process.exit(1);
    }
    first = { signal, at: now };
    log.info({ signal }, "shutting down");
    // During start-up there is nothing to stop yet: it is stopped once started, below.
    if (started.node !== undefined) shutDown(started.node, signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const tracing = await startTracingIfWanted(process.env, {
    nodeId: config.nodeId,
    version: VERSION,
    log,
  });
  started.node = await startNode(config, log, systemClock, { tracing });
  if (first !== undefined) shutDown(started.node, first.signal);
}

function seconds(ms: number): string {
  return `${String(Math.round(ms / 100) / 10)} s`;
}

/** Apply pending migrations to the configured store, then exit. */
export async function migrateOnly(config: Config): Promise<void> {
  const log = rootLogger(config);
  const store = openStore(config.store);
  try {
    await store.migrate();
    log.info({ store: config.store.kind }, "migrations applied");
  } finally {
    await store.close();
  }
}

/**
 * Rewrite every job not sealed under the first key of METRONOME_ENCRYPTION_KEYS under it (after
 * a rotation, or after turning encryption on), then exit. Safe while nodes run.
 */
export async function resealOnly(config: Config): Promise<ResealCount> {
  if (config.encryptionKeys.length === 0)
    throw new Error("METRONOME_ENCRYPTION_KEYS is empty: there is no key to seal with");
  const log = rootLogger(config);
  const sealer = new Sealer(new SealingKeys(config.encryptionKeys));
  const store = openStore(config.store);
  try {
    const count = await resealJobs(
      store,
      sealedStore(store, sealer, { nodeId: config.nodeId }),
      sealer.sealingKeyId,
    );
    log.info({ ...count, keyId: sealer.sealingKeyId }, "jobs sealed under the first key");
    return count;
  } finally {
    await store.close();
  }
}
