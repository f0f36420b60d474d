/**
 * A worker process built on the TypeScript SDK, for end-to-end tests and benchmarks. Every
 * handler start is appended to a JSON-lines file (`WORKER_OUT`) so that the driver can check
 * what ran, when and how often. Handlers, by name:
 *
 * - `*.record`: returns `{ started }` at once (benchmarks' trivial handler);
 * - `e2e.echo`: returns `{ args, kwargs }`;
 * - `e2e.fail`: throws an Error with the message in `kwargs.message`;
 * - `e2e.fatal`: throws a NonRetryableError;
 * - `e2e.sleep`: waits `kwargs.ms` milliseconds or until its abort signal fires.
 *
 * Environment: METRONOME_URL, WORKER_HANDLERS (comma-separated), WORKER_CONCURRENCY, WORKER_ID,
 * WORKER_OUT. Prints `worker ready` on stdout once connected; stops gracefully on SIGTERM.
 */
import { createWriteStream } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { NonRetryableError, Worker, type Handler } from "@metronome/sdk";

function env(name: string, fallback?: string): string {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
}

const out = createWriteStream(env("WORKER_OUT"), { flags: "a" });
const handlers = env("WORKER_HANDLERS").split(",");
const concurrency = Number(env("WORKER_CONCURRENCY", "100"));

const worker = new Worker({
  baseUrl: env("METRONOME_URL"),
  workerId: env("WORKER_ID", `worker-${String(process.pid)}`),
  maxConcurrency: concurrency,
  logger: {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (...args: unknown[]) => {
      console.error(JSON.stringify(args));
    },
  },
  reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
});

const behaviours: Record<string, Handler> = {
  "e2e.echo": (args, kwargs) => ({ args, kwargs }),
  "e2e.fail": (_args, kwargs) => {
    throw new Error(typeof kwargs.message === "string" ? kwargs.message : "failed");
  },
  "e2e.fatal": () => {
    throw new NonRetryableError("the input can never work");
  },
  "e2e.sleep": async (_args, kwargs, ctx) => {
    await sleep(Number(kwargs.ms ?? 0), undefined, { signal: ctx.signal }).catch(() => undefined);
    return ctx.signal.aborted ? "aborted" : "slept";
  },
};

for (const name of handlers) {
  const behaviour = behaviours[name];
  worker.register(name, (args, kwargs, ctx) => {
    const started = Date.now();
    out.write(
      `${JSON.stringify({
        runId: ctx.runId,
        attempt: ctx.attempt,
        jobId: ctx.jobId,
        handler: ctx.handler,
        scheduledTime: ctx.scheduledTime.getTime(),
        fireTime: ctx.fireTime.getTime(),
        manual: ctx.manual,
        started,
        worker: worker.workerId,
      })}\n`,
    );
    if (behaviour) return behaviour(args, kwargs, ctx);
    return { started };
  });
}

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void worker
    .stop({ graceMs: 5000 })
    .catch((err: unknown) => {
      console.error(err);
    })
    .finally(() => {
      out.end(() => process.exit(0));
    });
});

await worker.start();
console.log(`worker ready ${worker.workerId}`);
