/** Starts a node's tracing when the environment asks for it, loading the SDK then only. */
import type { Logger } from "../logger.js";
import { tracingWanted, type NodeTracing } from "./tracing.js";

export async function startTracingIfWanted(
  env: Readonly<Record<string, string | undefined>>,
  node: { readonly nodeId: string; readonly version: string; readonly log: Logger },
): Promise<NodeTracing | undefined> {
  if (!tracingWanted(env)) return undefined;
  const { startTracing } = await import("./sdk.js");
  return startTracing(node);
}
