/**
 * A client that knows nothing of Metronome's code: @grpc/grpc-js with @grpc/proto-loader
 * reading the .proto files in proto/. Plain objects in, plain objects out.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { repoRoot } from "./paths.js";

const FILES = [
  "metronome/v1/scheduler_service.proto",
  "metronome/v1/job_service.proto",
  "metronome/v1/trigger_service.proto",
  "metronome/v1/run_service.proto",
  "metronome/v1/worker_service.proto",
  "metronome/v1/event_service.proto",
  "grpc/health/v1/health.proto",
];

type Unary = (
  request: object,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;
export type Reply = Record<string, unknown>;
export type Call = (
  method: string,
  request: object,
  metadata?: Record<string, string>,
) => Promise<Reply>;

export interface GrpcJsClients {
  scheduler: Call;
  job: Call;
  trigger: Call;
  run: Call;
  health: Call;
  close(): void;
}

function loadPackage() {
  const definition = protoLoader.loadSync(FILES, {
    includeDirs: [join(repoRoot, "proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition) as unknown as {
    metronome: { v1: Record<string, grpc.ServiceClientConstructor> };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
}

/** Clients of 127.0.0.1:`port`; `credentials`: plaintext unless given (TLS, a client certificate). */
export function grpcJsClients(
  port: number,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
): GrpcJsClients {
  const pkg = loadPackage();
  const address = `127.0.0.1:${port}`;
  const clients: grpc.Client[] = [];
  const make = (ctor: grpc.ServiceClientConstructor | undefined): Call => {
    if (!ctor) throw new Error("service missing from the protos");
    const client = new ctor(address, credentials);
    clients.push(client);
    return (method, request, metadata = {}) =>
      new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        const fn = (client as unknown as Record<string, Unary>)[method];
        if (!fn) {
          reject(new Error(`no method ${method}`));
          return;
        }
        fn.call(client, request, md, (err, res) => {
          if (err) reject(err);
          else resolve(res as Reply);
        });
      });
  };
  const v1 = pkg.metronome.v1;
  return {
    scheduler: make(v1.SchedulerService),
    job: make(v1.JobService),
    trigger: make(v1.TriggerService),
    run: make(v1.RunService),
    health: make(pkg.grpc.health.v1.Health),
    close: () => {
      for (const c of clients) c.close();
    },
  };
}

/** A JSON value as a google.protobuf.Value message. */
export function value(v: unknown): object {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(value) } };
  return { structValue: struct(v as Record<string, unknown>) };
}

export function struct(o: Record<string, unknown>): object {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, value(v)])) };
}

export function list(a: unknown[]): object {
  return { values: a.map(value) };
}

/** Back from a google.protobuf.Value message (as proto-loader returns it) to JSON. */
export function unvalue(v: Record<string, unknown>): unknown {
  const kind = v.kind as string;
  const x = v[kind];
  if (kind === "nullValue") return null;
  if (kind === "listValue")
    return ((x as { values?: Record<string, unknown>[] }).values ?? []).map(unvalue);
  if (kind === "structValue") return unstruct(x as Record<string, unknown>);
  return x;
}

export function unstruct(s: Record<string, unknown>): Record<string, unknown> {
  const fields = (s.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, unvalue(v)]));
}

export function seconds(iso: string): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(Date.parse(iso) / 1000)), nanos: 0 };
}

export function iso(ts: unknown): string | null {
  if (ts === null || ts === undefined) return null;
  const t = ts as { seconds: string; nanos: number };
  return new Date(Number(t.seconds) * 1000 + Math.round(t.nanos / 1e6)).toISOString();
}

/**
 * One WorkerService.Session stream over @grpc/grpc-js: what a worker in another language would
 * do with its generated stub. Messages are read in order with `next()`.
 */
export interface RawSession {
  send(message: object): void;
  /** The next message from the server (rejects if the stream ends or fails first). */
  next(): Promise<Reply>;
  /** Ends the worker's side; resolves with the stream's final status code. */
  end(): Promise<number>;
  /** Cancels the call (as a crashed worker's connection would end). */
  cancel(): void;
  close(): void;
}

/** A worker session over grpc-js; `headers` go with the call (e.g. `authorization`). */
export function rawWorkerSession(port: number, headers: Record<string, string> = {}): RawSession {
  const ctor = loadPackage().metronome.v1.WorkerService;
  if (!ctor) throw new Error("WorkerService missing from the protos");
  const client = new ctor(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
  const call = (
    client as unknown as Record<
      string,
      (m: grpc.Metadata) => grpc.ClientDuplexStream<object, Reply>
    >
  ).Session?.call(client, metadata);
  if (!call) throw new Error("no Session method");
  const inbox: Reply[] = [];
  const waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | undefined;
  let status: number | undefined;
  const statusWaiters: ((code: number) => void)[] = [];
  call.on("data", (m: Reply) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else inbox.push(m);
  });
  const finish = (err: Error): void => {
    ended = err;
    for (const w of waiters.splice(0)) w.reject(err);
  };
  call.on("error", (err: Error) => {
    finish(err);
  });
  call.on("end", () => {
    finish(new Error("stream ended"));
  });
  call.on("status", (s: grpc.StatusObject) => {
    status = s.code;
    for (const w of statusWaiters.splice(0)) w(s.code);
  });
  return {
    send: (m) => call.write(m),
    next: () => {
      const m = inbox.shift();
      if (m) return Promise.resolve(m);
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    end: () => {
      call.end();
      if (status !== undefined) return Promise.resolve(status);
      return new Promise((resolve) => statusWaiters.push(resolve));
    },
    cancel: () => {
      call.cancel();
    },
    close: () => {
      client.close();
    },
  };
}

/** A google.protobuf.Timestamp (or Duration: the same fields) for epoch milliseconds. */
export function timestamp(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

export const duration = timestamp;

/** Back from a Timestamp (or Duration) object as proto-loader returns it, to milliseconds. */
export function msOf(t: Reply): number {
  return Number(t.seconds) * 1000 + Math.round(Number(t.nanos ?? 0) / 1e6);
}

/**
 * One EventService.Subscribe stream over @grpc/grpc-js, read message by message. `events()`
 * gathers the events of the next messages until `until` holds for what was gathered.
 */
export interface RawSubscription {
  next(): Promise<Reply>;
  /** Messages (with their events) until `until(events so far)` holds. */
  events(until: (events: Reply[]) => boolean): Promise<Reply[]>;
  /** The cursor of the last message read (0 before any). */
  readonly cursor: string;
  cancel(): void;
}

export function rawSubscription(port: number, request: object): RawSubscription {
  const ctor = loadPackage().metronome.v1.EventService;
  if (!ctor) throw new Error("EventService missing from the protos");
  const client = new ctor(`127.0.0.1:${String(port)}`, grpc.credentials.createInsecure());
  const call = (
    client as unknown as Record<string, (req: object) => grpc.ClientReadableStream<Reply>>
  ).Subscribe?.call(client, request);
  if (!call) throw new Error("no Subscribe method");
  const inbox: Reply[] = [];
  const waiters: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  let ended: Error | undefined;
  let cursor = "0";
  call.on("data", (m: Reply) => {
    const w = waiters.shift();
    if (w) w.resolve(m);
    else inbox.push(m);
  });
  const finish = (err: Error): void => {
    ended ??= err;
    for (const w of waiters.splice(0)) w.reject(err);
    client.close();
  };
  call.on("error", (err: Error) => {
    finish(err);
  });
  call.on("end", () => {
    finish(new Error("stream ended"));
  });
  const next = async (): Promise<Reply> => {
    const queued = inbox.shift();
    let m: Reply;
    if (queued !== undefined) m = queued;
    else if (ended !== undefined) throw ended;
    else m = await new Promise<Reply>((resolve, reject) => waiters.push({ resolve, reject }));
    cursor = String(m.cursor);
    return m;
  };
  return {
    next,
    async events(until) {
      const got: Reply[] = [];
      while (!until(got)) got.push(...((await next()).events as Reply[]));
      return got;
    },
    get cursor() {
      return cursor;
    },
    cancel: () => {
      call.cancel();
      client.close();
    },
  };
}
