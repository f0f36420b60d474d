/**
 * The client side of the SDK: one connection to a Metronome server with typed clients of its
 * services, the event stream, and schedulers with APScheduler-style listeners.
 */
import { createClient, type Client } from "@connectrpc/connect";
import { ClusterService } from "../gen/metronome/v1/cluster_service_pb.js";
import { EventService } from "../gen/metronome/v1/event_service_pb.js";
import { JobService } from "../gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../gen/metronome/v1/key_service_pb.js";
import { RunService } from "../gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../gen/metronome/v1/trigger_service_pb.js";
import { EventStream, type SubscribeOptions } from "./event-stream.js";
import { Scheduler, type SchedulerSettings } from "./scheduler.js";
import { defaultLogger, type WorkerLogger } from "../logger.js";
import { connect, type Connection, type ConnectionOptions } from "../transport.js";

/**
 * The server (`baseUrl`, or a ready `transport`, which `close()` does not close) and the token;
 * exactly one of `baseUrl` and `transport`.
 */
export interface ClientOptions extends ConnectionOptions {
  /** Where listener failures are logged. Default: pino at level info on stdout. */
  readonly logger?: WorkerLogger | undefined;
}

export class MetronomeClient {
  readonly jobs: Client<typeof JobService>;
  readonly schedulers: Client<typeof SchedulerService>;
  readonly runs: Client<typeof RunService>;
  readonly triggers: Client<typeof TriggerService>;
  readonly events: Client<typeof EventService>;
  /** The live nodes and their worker sessions (ListNodes, ListWorkers). */
  readonly cluster: Client<typeof ClusterService>;
  /** Scoped API keys: create, list, revoke (needs the admin scope). */
  readonly keys: Client<typeof KeyService>;
  /** Headers of every call (the bearer token). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: WorkerLogger;
  private readonly connection: Connection;
  /** The event streams open now (each leaves when closed or ended). */
  private readonly opened = new Set<EventStream>();
  /** Texts already logged (server warnings are logged once per client). */
  private readonly seen = new Set<string>();

  constructor(options: ClientOptions) {
    this.connection = connect("MetronomeClient", options);
    const transport = this.connection.transport;
    this.jobs = createClient(JobService, transport);
    this.schedulers = createClient(SchedulerService, transport);
    this.runs = createClient(RunService, transport);
    this.triggers = createClient(TriggerService, transport);
    this.events = createClient(EventService, transport);
    this.cluster = createClient(ClusterService, transport);
    this.keys = createClient(KeyService, transport);
    this.headers = this.connection.headers;
    this.logger = options.logger ?? defaultLogger();
  }

  /**
   * The events that match `options.filter`, from now or after a cursor, resuming by itself after
   * disconnects: `for await (const event of client.subscribe({ filter: { types: ["job_error"] } }))`.
   */
  subscribe(options: SubscribeOptions = {}): EventStream {
    const stream: EventStream = new EventStream(
      this.events,
      options,
      this.headers,
      () => {
        this.opened.delete(stream);
      },
      this.logger,
    );
    // A stream whose signal was already aborted is closed from the start: nothing to end.
    if (options.signal?.aborted !== true) this.opened.add(stream);
    return stream;
  }

  /**
   * The scheduler of that name (created on the server on first use, with the server's defaults
   * or these settings). The client keeps no reference to it: its listeners' stream is what
   * `close()` ends.
   */
  scheduler(name = "default", settings?: SchedulerSettings): Scheduler {
    return new Scheduler(this, name, settings);
  }

  /**
   * True the first time this client sees `text`: schedulers use it to log each warning of the
   * server once per client. @internal
   */
  firstTime(text: string): boolean {
    if (this.seen.has(text)) return false;
    if (this.seen.size >= 1000) this.seen.clear();
    this.seen.add(text);
    return true;
  }

  /** Ends every stream and listener this client opened, and closes its connection. */
  close(): void {
    for (const o of [...this.opened]) o.close();
    this.opened.clear();
    this.connection.close();
  }
}
