/**
 * The benchmark dispatcher: `npm run -s bench -- <name>` runs `bench/<name>.ts`, which prints
 * one JSON line on stdout.
 *
 *   npm run -s bench -- api          (AddJob, GetJob and an empty RPC through gRPC on MariaDB)
 *   npm run -s bench -- answers      (a job put in a binary response: reflective and by hand)
 *   npm run -s bench -- triggers     (trigger engine next-fire-time computations per second)
 *   npm run -s bench -- burst        (1,000 jobs due at one instant: lateness, each ran once)
 *   npm run -s bench -- sustained    (2,000 jobs every second for 30 s: completeness, lateness)
 *   npm run -s bench -- scale        (100,000 stored jobs: insert rate, start-up, memory)
 *   npm run -s bench -- throughput   (executions per second end to end)
 *   npm run -s bench -- execution    (the store's share of an execution: MariaDB and Node CPU)
 *   npm run -s bench -- events       (event latency and rate with 100 subscribers while firing)
 *   npm run -s bench -- worker-starts (the SDK worker's run table alone: 2,000 runs at one instant)
 *   npm run -s bench -- compare REF NAME… [--rounds N] [--store S]
 *                                    (A/B: each benchmark here and at a git ref, interleaved)
 */
const BENCHES = new Map<string, () => Promise<unknown>>([
  ["api", () => import("./api.js")],
  ["answers", () => import("./answers.js")],
  ["burst", () => import("./burst.js")],
  ["sustained", () => import("./sustained.js")],
  ["scale", () => import("./scale.js")],
  ["throughput", () => import("./throughput.js")],
  ["execution", () => import("./execution.js")],
  ["events", () => import("./events.js")],
  ["store", () => import("./store.js")],
  ["worker-starts", () => import("./worker-starts.js")],
  ["triggers", () => import("./triggers.js")],
  ["compare", () => import("./compare.js")],
]);

const name = process.argv[2];
const load = name === undefined ? undefined : BENCHES.get(name);
if (load === undefined) {
  console.error(
    `usage: npm run -s bench -- <name>\n  names: ${[...BENCHES.keys()].join(", ")}` +
      (name === undefined ? "" : `\n  unknown benchmark: ${JSON.stringify(name)}`),
  );
  process.exit(2);
}
await load();
