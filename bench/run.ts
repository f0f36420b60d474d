/**
 * The benchmark dispatcher: `npm run -s bench -- <name>` runs `bench/<name>.ts`, which prints
 * one JSON line on stdout.
 *
 *   npm run -s bench -- api          (AddJob, GetJob and an empty RPC through gRPC on MariaDB)
 *   npm run -s bench -- triggers     (trigger engine next-fire-time computations per second)
 */
const BENCHES = new Map<string, () => Promise<unknown>>([
  ["api", () => import("./api.js")],
  ["store", () => import("./store.js")],
  ["triggers", () => import("./triggers.js")],
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
