/**
 * The dashboard's API clients: Connect (JSON over HTTP/1.1 fetch) to the server that served the
 * page, with the bearer token of this browser tab (sessionStorage) when one is set.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ClusterService } from "../../src/gen/metronome/v1/cluster_service_pb.js";
import { EventService } from "../../src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../src/gen/metronome/v1/job_service_pb.js";
import { RunService } from "../../src/gen/metronome/v1/run_service_pb.js";
import type { Scheduler } from "../../src/gen/metronome/v1/scheduler_pb.js";
import { SchedulerService } from "../../src/gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../../src/gen/metronome/v1/trigger_service_pb.js";
import { readToken } from "./token.js";

const bearer: Interceptor = (next) => (req) => {
  const token = readToken();
  if (token !== "") req.header.set("authorization", `Bearer ${token}`);
  return next(req);
};

const transport = createConnectTransport({
  baseUrl: window.location.origin,
  interceptors: [bearer],
});

export const jobs = createClient(JobService, transport);
export const runs = createClient(RunService, transport);
export const schedulers = createClient(SchedulerService, transport);
export const triggers = createClient(TriggerService, transport);
export const events = createClient(EventService, transport);
export const cluster = createClient(ClusterService, transport);

/** An error as the API states it: its code and message (the message names the field). */
export function errorText(err: unknown): string {
  if (err instanceof ConnectError) return `${Code[err.code]}: ${err.rawMessage}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Every scheduler, page after page (ListSchedulers with its page tokens): the server caps a page
 * at its METRONOME_MAX_PAGE_SIZE, so however many there are, none is left out.
 */
export async function listAllSchedulers(): Promise<Scheduler[]> {
  const all: Scheduler[] = [];
  let pageToken = "";
  do {
    const page = await schedulers.listSchedulers({ pageSize: 1000, pageToken });
    all.push(...page.schedulers);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return all;
}
