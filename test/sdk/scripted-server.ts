/**
 * A scripted WorkerService for the SDK worker's tests: a real HTTP/2 server on 127.0.0.1:0
 * (Connect's node adapter, gRPC as the SDK speaks it) whose Session handler does only what the
 * test says. Each Session call becomes a `ScriptedSession`: the test reads what the worker sent
 * (`expect("hello")`, `next()`), answers (`welcome`, `assign`, `cancel`, `accept`), and ends the
 * stream (`end`, `fail`). When the worker half-closes, the session ends its side with OK, as the
 * real server does.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import {
  create,
  fromJson,
  type JsonObject,
  type JsonValue,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import {
  durationFromMs,
  ListValueSchema,
  timestampFromMs,
  type Duration,
} from "@bufbuild/protobuf/wkt";
import type { Code } from "@connectrpc/connect";
import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { CancellationReason } from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import {
  RunLeaseSchema,
  SessionResponseSchema,
  WorkerService,
  type RunLease,
  type SessionRequest,
  type SessionResponse,
} from "../../sdk/src/gen/metronome/v1/worker_service_pb.js";
import { RunStatus } from "../../sdk/src/gen/metronome/v1/run_pb.js";

/** An async FIFO: `next()` waits for an item; undefined once ended and drained. */
export class Queue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T | undefined) => void)[] = [];
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    const taker = this.takers.shift();
    if (taker === undefined) this.items.push(item);
    else taker(item);
  }

  end(): void {
    this.ended = true;
    for (const taker of this.takers.splice(0)) taker(undefined);
  }

  next(): Promise<T | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }
}

type RequestCase = NonNullable<SessionRequest["payload"]["case"]>;
type RequestValue<C extends RequestCase> = Extract<SessionRequest["payload"], { case: C }>["value"];
type Outgoing = { readonly response: SessionResponse } | { readonly end: ConnectError | undefined };

export interface AssignmentInit {
  readonly handler: string;
  readonly runId?: string;
  readonly attempt?: number;
  readonly args?: JsonValue[];
  readonly kwargs?: JsonObject;
  readonly fireTime?: number;
  readonly scheduledTime?: number;
  readonly timeoutMs?: number;
  readonly maxAttempts?: number;
  readonly manual?: boolean;
}

let leases = 0;

export class ScriptedSession {
  private readonly inbox = new Queue<SessionRequest>();
  private readonly outbox = new Queue<Outgoing>();
  /** Resolves once the worker's requests ended (half-close, or the call was cancelled). */
  readonly requestsEnded: Promise<void>;

  constructor(requests: AsyncIterable<SessionRequest>, ctx: HandlerContext) {
    this.requestsEnded = (async () => {
      try {
        for await (const r of requests) this.inbox.push(r);
      } catch {
        // Cancelled by the worker: its requests end here.
      } finally {
        this.inbox.end();
        // A worker that half-closed waits for the server to end the stream.
        this.end();
      }
    })();
    ctx.signal.addEventListener("abort", () => {
      this.end();
    });
  }

  /** The next request; undefined once the worker's requests ended. */
  next(): Promise<SessionRequest | undefined> {
    return this.inbox.next();
  }

  /** The next request, which must be a `kind`; returns its payload. */
  async expect<C extends RequestCase>(kind: C): Promise<RequestValue<C>> {
    const r = await this.next();
    if (r?.payload.case !== kind)
      throw new Error(`expected ${kind}, the worker sent ${r?.payload.case ?? "nothing more"}`);
    return r.payload.value as RequestValue<C>;
  }

  /** The kinds of the remaining requests, until the worker's requests end. */
  async rest(): Promise<string[]> {
    const kinds: string[] = [];
    for (let r = await this.next(); r !== undefined; r = await this.next())
      kinds.push(r.payload.case ?? "unknown");
    return kinds;
  }

  send(payload: NonNullable<MessageInitShape<typeof SessionResponseSchema>["payload"]>): void {
    this.outbox.push({ response: create(SessionResponseSchema, { payload }) });
  }

  welcome(
    init: {
      sessionId?: string;
      workerId?: string;
      leaseMs?: number;
      heartbeatMs?: number;
    } = {},
  ): void {
    const hour = 3_600_000;
    this.send({
      case: "welcome",
      value: {
        sessionId: init.sessionId ?? "session-1",
        workerId: init.workerId ?? "",
        leaseDuration: durationFromMs(init.leaseMs ?? hour),
        heartbeatInterval: durationFromMs(init.heartbeatMs ?? hour),
      },
    });
  }

  /** Sends a RunAssignment; returns its lease. */
  assign(a: AssignmentInit): RunLease {
    leases++;
    const lease = create(RunLeaseSchema, {
      runId: a.runId ?? `run-${String(leases)}`,
      attempt: a.attempt ?? 1,
      leaseToken: `token-${String(leases)}`,
    });
    const timeout: Duration | undefined =
      a.timeoutMs === undefined ? undefined : durationFromMs(a.timeoutMs);
    this.send({
      case: "assignment",
      value: {
        lease,
        scheduler: "default",
        jobId: `job-${a.handler}`,
        jobName: `Job ${a.handler}`,
        handler: a.handler,
        args: fromJson(ListValueSchema, a.args ?? []),
        kwargs: a.kwargs ?? {},
        scheduledTime: timestampFromMs(a.scheduledTime ?? a.fireTime ?? Date.now()),
        fireTime: timestampFromMs(a.fireTime ?? Date.now()),
        manual: a.manual ?? false,
        timeout,
        maxAttempts: a.maxAttempts ?? 1,
      },
    });
    return lease;
  }

  cancel(lease: RunLease, reason: CancellationReason, message = ""): void {
    this.send({ case: "cancellation", value: { lease, reason, message } });
  }

  accept(lease: RunLease | undefined, status = RunStatus.SUCCEEDED): void {
    this.send({ case: "resultAccepted", value: { lease, runStatus: status } });
  }

  /** Ends the stream with OK. */
  end(): void {
    this.outbox.push({ end: undefined });
    this.outbox.end();
  }

  /** Ends the stream with an error. */
  fail(code: Code, message: string): void {
    this.outbox.push({ end: new ConnectError(message, code) });
    this.outbox.end();
  }

  /** The responses, for the handler. */
  async *responses(): AsyncGenerator<SessionResponse> {
    for (let o = await this.outbox.next(); o !== undefined; o = await this.outbox.next()) {
      if ("response" in o) yield o.response;
      else if (o.end !== undefined) throw o.end;
      else return;
    }
  }
}

export interface ScriptedServer {
  readonly url: string;
  /** The next Session call the worker opens. */
  nextSession(): Promise<ScriptedSession>;
  close(): Promise<void>;
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  const calls = new Queue<ScriptedSession>();
  const open = new Set<ScriptedSession>();
  const adapter = connectNodeAdapter({
    routes: (router) => {
      router.service(WorkerService, {
        session(requests, ctx) {
          const s = new ScriptedSession(requests, ctx);
          open.add(s);
          calls.push(s);
          return s.responses();
        },
      });
    },
  });
  const server = http2.createServer(adapter);
  const h2sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    h2sessions.add(s);
    s.on("close", () => h2sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    nextSession: async () => {
      const s = await calls.next();
      if (s === undefined) throw new Error("the scripted server is closed");
      return s;
    },
    close: async () => {
      calls.end();
      for (const s of open) s.end();
      for (const s of h2sessions) s.destroy();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err === undefined) resolve();
          else reject(err);
        });
      });
    },
  };
}
