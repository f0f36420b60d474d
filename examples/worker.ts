/**
 * The worker that runs the examples' handlers (the guide's functions). Run it next to the server:
 *
 *   METRONOME_URL=http://127.0.0.1:8080 npx tsx examples/worker.ts
 *
 * In Metronome the server fires jobs and a worker process like this one executes them; any
 * number of workers may register the same handlers (each run goes to one of them).
 */
import { Worker, exitOnError } from "@metronome/sdk";
import { ALL } from "./handlers.js";

exitOnError(); // an SDK error ending this script prints one line (docs/sdk.md, Errors)

const worker = new Worker({ baseUrl: process.env.METRONOME_URL ?? "http://127.0.0.1:8080" });
for (const handler of ALL) worker.register(handler);
await worker.start();
console.log(`worker ready: ${String(ALL.length)} handlers`);
const stop = (): void => {
  void worker.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
