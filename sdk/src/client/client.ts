/**
 * The client side of the SDK: one connection to a Metronome server with typed clients of its
 * services, the event stream, and schedulers with APScheduler-style listeners.
 */
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { EventService } from "../gen/metronome/v1/event_service_pb.js";
import { JobService } from "../gen/metronome/v1/job_service_pb.js";
import { RunService } from "../gen/metronome/v1/run_service_pb.js";
import { SchedulerService } from "../gen/metronome/v1/scheduler_service_pb.js";
import { TriggerService } from "../gen/metronome/v1/trigger_service_pb.js";
import { EventStream, type SubscribeOptions } from "./events.js";
import { Scheduler, type SchedulerSettings } from "./scheduler.js";
import { defaultLogger, type WorkerLogger } from "../logger.js";

export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (gRPC over HTTP/2; `https://` for TLS). */
  readonly baseUrl?: string | undefined;
  /** A ready transport instead of `baseUrl`; not closed by `close()`. */
  readonly transport?: Transport | undefined;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  /** Where listener failures are logged. Default: pino at level info on stdout. */
  readonly logger?: WorkerLogger | undefined;
}

/** HTTP/2 PINGs, so that a dead connection under an idle event stream is noticed. */
const KEEPALIVE = { pingIntervalMs: 15_000, pingTimeoutMs: 10_000 };

export class MetronomeClient {
  readonly jobs: Client<typeof JobService>;
  readonly schedulers: Client<typeof SchedulerService>;
  readonly runs: Client<typeof RunService>;
  readonly triggers: Client<typeof TriggerService>;
  readonly events: Client<typeof EventService>;
  /** Headers of every call (the bearer token). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: WorkerLogger;
  private readonly sessionManager: Http2SessionManager | undefined;
  private readonly opened = new Set<{ close(): void }>();
  /** Texts already logged (server warnings are logged once per client). */
  private readonly seen = new Set<string>();

  constructor(options: ClientOptions) {
    if ((options.baseUrl === undefined) === (options.transport === undefined))
      throw new TypeError("MetronomeClient: pass exactly one of baseUrl and transport");
    let transport: Transport;
    if (options.transport !== undefined) transport = options.transport;
    else {
      const url = new URL(String(options.baseUrl));
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new TypeError(
          `MetronomeClient: baseUrl must be http:// or https://, got ${String(options.baseUrl)}`,
        );
      this.sessionManager = new Http2SessionManager(url, KEEPALIVE);
      transport = createGrpcTransport({
        baseUrl: String(options.baseUrl),
        sessionManager: this.sessionManager,
      });
    }
    this.jobs = createClient(JobService, transport);
    this.schedulers = createClient(SchedulerService, transport);
    this.runs = createClient(RunService, transport);
    this.triggers = createClient(TriggerService, transport);
    this.events = createClient(EventService, transport);
    this.headers = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    this.logger = options.logger ?? defaultLogger();
  }

  /**
   * The events that match `options.filter`, from now or after a cursor, resuming by itself after
   * disconnects: `for await (const event of client.subscribe({ filter: { types: ["job_error"] } }))`.
   */
  subscribe(options: SubscribeOptions = {}): EventStream {
    const stream = new EventStream(this.events, options, this.headers);
    this.opened.add(stream);
    return stream;
  }

  /**
   * The scheduler of that name (created on the server on first use, with the server's defaults
   * or these settings).
   */
  scheduler(name = "default", settings?: SchedulerSettings): Scheduler {
    const s = new Scheduler(this, name, settings);
    this.opened.add(s);
    return s;
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
    for (const o of this.opened) o.close();
    this.opened.clear();
    this.sessionManager?.abort();
  }
}
