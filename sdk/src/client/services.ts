/**
 * What a `Scheduler` needs of the client that made it: the typed clients of the services, the
 * headers of every call, a logger, the event stream, and the client's memory of warnings
 * already logged. `MetronomeClient` provides it; a scheduler never imports the client.
 */
import type { Client } from "@connectrpc/connect";
import type { JobService } from "../gen/metronome/v1/job_service_pb.js";
import type { RunService } from "../gen/metronome/v1/run_service_pb.js";
import type { SchedulerService } from "../gen/metronome/v1/scheduler_service_pb.js";
import type { WorkerLogger } from "../logger.js";
import type { EventStream, SubscribeOptions } from "./event-stream.js";

export interface ClientServices {
  readonly jobs: Client<typeof JobService>;
  readonly schedulers: Client<typeof SchedulerService>;
  readonly runs: Client<typeof RunService>;
  /** Headers of every call (the bearer token). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: WorkerLogger;
  /** An event stream, closed with the client. */
  subscribe(options?: SubscribeOptions): EventStream;
  /** True the first time the client sees `text` (each server warning is logged once). */
  firstTime(text: string): boolean;
}
