/**
 * THE table of what each RPC needs (docs/security.md): one rule per method of every service
 * the router serves, checked by the interceptor before the service sees the call. A method
 * missing here is refused (and test/in-process/scopes.test.ts fails), so a new RPC cannot be
 * served unchecked.
 *
 * Rules:
 * - `none`: no credentials (the health service).
 * - `key`: any valid key, whatever its scopes (previewing a trigger reads and stores nothing).
 * - `admin`: the admin scope (keys, the cluster's nodes and workers).
 * - `read` / `write` / `events` with `schedulers`: that right on every scheduler the request
 *   names (an empty name is `default`; `*` stands for "every scheduler": a subscription without
 *   a scheduler filter needs events on `*`).
 * - `read` / `write` with `after`: the right on some scheduler to get in; the service then checks
 *   the scheduler of what it read (a run by id) or filters what it answers (ListSchedulers),
 *   through `principalOf(ctx)`.
 * - `worker`: some worker scope; the session's hello may register only the handlers it allows.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { createContextKey, type HandlerContext } from "@connectrpc/connect";
import { PermissionDeniedError } from "../domain/errors.js";
import type { SchedulerRight } from "../domain/keys.js";
import type { SubscribeRequest } from "../gen/metronome/v1/event_service_pb.js";
import type {
  AddJobRequest,
  AddJobsRequest,
  GetJobRequest,
  ListJobsRequest,
  ModifyJobRequest,
  PauseJobRequest,
  RemoveAllJobsRequest,
  RemoveJobRequest,
  RescheduleJobRequest,
  ResumeJobRequest,
  RunJobNowRequest,
} from "../gen/metronome/v1/job_service_pb.js";
import type { ListRunsRequest } from "../gen/metronome/v1/run_service_pb.js";
import type {
  ConfigureSchedulerRequest,
  GetSchedulerRequest,
  PauseSchedulerRequest,
  ResumeSchedulerRequest,
} from "../gen/metronome/v1/scheduler_service_pb.js";
import { ANONYMOUS_PRINCIPAL, type Principal } from "../management/key-ring.js";

export type Rule =
  | { readonly need: "none" | "key" | "admin" | "worker" }
  | {
      readonly need: SchedulerRight;
      /** The schedulers the request names (empty: `default`; `*`: every one). */
      readonly schedulers: (request: unknown) => readonly string[];
    }
  | { readonly need: SchedulerRight; readonly after: "record" | "filter" };

/** A rule over the schedulers a request of type T names. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T types the table's lambdas
function on<T>(need: SchedulerRight, schedulers: (request: T) => readonly string[]): Rule {
  return { need, schedulers: (r) => schedulers(r as T).map((s) => s || "default") };
}

export const ACCESS: Readonly<Record<string, Rule>> = {
  "grpc.health.v1.Health/Check": { need: "none" },
  "grpc.health.v1.Health/Watch": { need: "none" },
  "grpc.health.v1.Health/List": { need: "none" },

  "metronome.v1.SchedulerService/ConfigureScheduler": on<ConfigureSchedulerRequest>(
    "write",
    (r) => [r.name],
  ),
  "metronome.v1.SchedulerService/GetScheduler": on<GetSchedulerRequest>("read", (r) => [r.name]),
  "metronome.v1.SchedulerService/ListSchedulers": { need: "read", after: "filter" },
  "metronome.v1.SchedulerService/PauseScheduler": on<PauseSchedulerRequest>("write", (r) => [
    r.name,
  ]),
  "metronome.v1.SchedulerService/ResumeScheduler": on<ResumeSchedulerRequest>("write", (r) => [
    r.name,
  ]),

  "metronome.v1.JobService/AddJob": on<AddJobRequest>("write", (r) => [r.job?.scheduler ?? ""]),
  "metronome.v1.JobService/AddJobs": on<AddJobsRequest>("write", (r) =>
    r.jobs.length === 0 ? [""] : r.jobs.map((j) => j.scheduler),
  ),
  "metronome.v1.JobService/GetJob": on<GetJobRequest>("read", (r) => [r.scheduler]),
  "metronome.v1.JobService/ListJobs": on<ListJobsRequest>("read", (r) => [r.scheduler]),
  "metronome.v1.JobService/ModifyJob": on<ModifyJobRequest>("write", (r) => [
    r.job?.scheduler ?? "",
  ]),
  "metronome.v1.JobService/RescheduleJob": on<RescheduleJobRequest>("write", (r) => [r.scheduler]),
  "metronome.v1.JobService/PauseJob": on<PauseJobRequest>("write", (r) => [r.scheduler]),
  "metronome.v1.JobService/ResumeJob": on<ResumeJobRequest>("write", (r) => [r.scheduler]),
  "metronome.v1.JobService/RemoveJob": on<RemoveJobRequest>("write", (r) => [r.scheduler]),
  "metronome.v1.JobService/RemoveAllJobs": on<RemoveAllJobsRequest>("write", (r) => [r.scheduler]),
  "metronome.v1.JobService/RunJobNow": on<RunJobNowRequest>("write", (r) => [r.scheduler]),

  "metronome.v1.TriggerService/PreviewTrigger": { need: "key" },

  "metronome.v1.RunService/ListRuns": on<ListRunsRequest>("read", (r) => [r.scheduler]),
  "metronome.v1.RunService/GetRun": { need: "read", after: "record" },
  "metronome.v1.RunService/CancelRun": { need: "write", after: "record" },

  "metronome.v1.WorkerService/Session": { need: "worker" },

  "metronome.v1.EventService/Subscribe": on<SubscribeRequest>("events", (r) => {
    const named = r.filter?.schedulers ?? [];
    return named.length === 0 ? ["*"] : named;
  }),

  "metronome.v1.ClusterService/ListWorkers": { need: "admin" },
  "metronome.v1.ClusterService/ListNodes": { need: "admin" },

  "metronome.v1.KeyService/CreateKey": { need: "admin" },
  "metronome.v1.KeyService/ListKeys": { need: "admin" },
  "metronome.v1.KeyService/RevokeKey": { need: "admin" },
};

/**
 * Checks a call against its rule (the request is absent for client-streaming methods: their
 * rules do not read it). Throws PermissionDeniedError naming what is missing.
 */
export function authorize(method: DescMethod, principal: Principal, request?: unknown): void {
  const name = `${method.parent.typeName}/${method.name}`;
  const rule = ACCESS[name];
  if (rule === undefined) throw new PermissionDeniedError(`${name} is not open to any key`);
  const s = principal.scopes;
  switch (rule.need) {
    case "none":
    case "key":
      return;
    case "admin":
      if (!s.admin) throw new PermissionDeniedError(`${name} needs the admin scope`);
      return;
    case "worker":
      if (!s.worker) throw new PermissionDeniedError(`${name} needs a worker scope`);
      return;
    default:
      break;
  }
  if ("after" in rule) {
    if (!s.mayAny(rule.need))
      throw new PermissionDeniedError(`${name} needs the ${rule.need} scope of some scheduler`);
    return;
  }
  for (const scheduler of rule.schedulers(request)) requireRight(principal, rule.need, scheduler);
}

/** Throws unless the principal may `right` the scheduler (`*`: every scheduler). */
export function requireRight(principal: Principal, right: SchedulerRight, scheduler: string): void {
  if (!principal.scopes.may(right, scheduler))
    throw new PermissionDeniedError(
      scheduler === "*"
        ? `needs the ${right}:* scope (or name the schedulers in the request)`
        : `needs the ${right} scope of scheduler ${JSON.stringify(scheduler)}`,
    );
}

/** Where the interceptor leaves the call's principal for the services. */
export const PRINCIPAL = createContextKey<Principal>(ANONYMOUS_PRINCIPAL, {
  description: "the call's principal",
});

export function principalOf(ctx: HandlerContext): Principal {
  return ctx.values.get(PRINCIPAL);
}
