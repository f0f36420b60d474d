/**
 * `metronome workers list`, `metronome nodes list` (the SDK's ClusterService client) and
 * `metronome health` (the server's readiness probe).
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { NodeInfoSchema, WorkerSessionInfoSchema } from "@metronome/sdk/api";
import { readiness, sdk, withClient, withClientFlags, type ClientFlags } from "./connection.js";
import { CliError, EXIT } from "./exit.js";
import { DEFAULT_SERVE_PID, localNodeUrl } from "./local-node.js";
import { fields, json, table, when, type Out } from "./output.js";
import { parseInteger } from "./values.js";

const ms = (t: Parameters<typeof timestampMs>[0] | undefined): number | null =>
  t === undefined ? null : timestampMs(t);

export function clusterCommands(
  program: Command,
  out: Out,
  run: (a: () => Promise<void>) => Promise<void>,
): void {
  withClientFlags(
    program
      .command("workers")
      .description("the worker sessions connected to the cluster")
      .command("list")
      .description("list the worker sessions of every live node")
      .option("--node <id>", "only the sessions of this node")
      .option("--handler <name>", "only sessions that registered this handler"),
  ).action((o: ClientFlags & { node?: string; handler?: string }) =>
    run(() =>
      withClient(o, async (c) => {
        const { workers } = await sdk(
          c.cluster.listWorkers(
            { nodeId: o.node ?? "", handler: o.handler ?? "" },
            { headers: c.headers },
          ),
        );
        if (o.json === true) {
          out.line(json(workers.map((w) => toJson(WorkerSessionInfoSchema, w))));
          return;
        }
        table(
          out,
          ["worker", "session", "node", "handlers", "in use", "connected", "last heard", "sdk"],
          workers.map((w) => {
            const limit = w.worker?.maxConcurrency ?? 0;
            return [
              `${w.worker?.workerId ?? ""}${w.draining ? " (draining)" : ""}`,
              w.worker?.sessionId.slice(0, 8),
              w.nodeId,
              (w.worker?.handlers ?? [])
                .map((h) =>
                  h.maxConcurrency > 0 ? `${h.handler}(${String(h.maxConcurrency)})` : h.handler,
                )
                .join(","),
              `${String(w.slotsInUse)}/${limit > 0 ? String(limit) : "-"}`,
              when(ms(w.connectedAt)),
              when(ms(w.lastHeartbeat)),
              w.sdk,
            ];
          }),
        );
      }),
    ),
  );

  withClientFlags(
    program
      .command("nodes")
      .description("the Metronome nodes of the cluster")
      .command("list")
      .description("list the live nodes"),
  ).action((o: ClientFlags) =>
    run(() =>
      withClient(o, async (c) => {
        const { nodes } = await sdk(c.cluster.listNodes({}, { headers: c.headers }));
        if (o.json === true) {
          out.line(json(nodes.map((n) => toJson(NodeInfoSchema, n))));
          return;
        }
        table(
          out,
          [
            "node",
            "version",
            "address",
            "role",
            "state",
            "started",
            "last seen",
            "workers",
            "runs",
            "subscribers",
          ],
          nodes.map((n) => [
            n.nodeId,
            n.version,
            n.address,
            n.role,
            n.state,
            when(ms(n.startedAt)),
            when(ms(n.lastSeen)),
            n.workerSessions,
            n.runsInFlight,
            n.subscribers,
          ]),
        );
      }),
    ),
  );

  withClientFlags(
    program
      .command("health")
      .description("whether the server is up and ready (its job store answers and is migrated)"),
  )
    .option(
      "--local",
      "instead of --url, ask the node of this machine's configuration: .env, the environment and the flags of its serve command line (the Docker image's health check)",
    )
    .option(
      "--pid <pid>",
      `with --local: the \`metronome serve\` process whose flags count (default ${String(DEFAULT_SERVE_PID)}, a container's main process, when it runs serve)`,
    )
    .action((o: ClientFlags & { local?: boolean; pid?: string }, cmd: Command) =>
      run(async () => {
        if (o.pid !== undefined && o.local !== true) throw new CliError("--pid goes with --local");
        if (o.local === true && cmd.getOptionValueSource("url") === "cli")
          throw new CliError("give --url or --local, not both");
        const url =
          o.local === true
            ? localNodeUrl(
                o.pid === undefined ? undefined : parseInteger("--pid", o.pid, 1, 2 ** 31 - 1),
              )
            : o.url;
        await withClient({ ...o, url }, async () => {
          const { status, body } = await readiness(url);
          const ready = status === 200;
          const reason = ready ? "" : body.replace(/^not ready:\s*/, "");
          if (o.json === true) out.line(json({ url, live: true, ready, reason }));
          else
            fields(out, [
              ["url", url],
              ["live", "yes"],
              ["ready", ready ? "yes" : `no: ${reason}`],
            ]);
          if (!ready) process.exitCode = EXIT.unavailable;
        });
      }),
    );
}
