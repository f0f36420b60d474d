/** EventService: Subscribe, the durable and resumable event stream (docs/events.md). */
import { create, fromJson, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "../../domain/errors.js";
import {
  EVENT_TYPES,
  EventMatcher,
  type EventFilter,
  type EventType,
  type LoggedEvent,
} from "../../domain/events.js";
import { checkHandler, checkId } from "../../domain/jobs.js";
import type { EventHub, StreamMessage, SubscriptionStart } from "../../events/hub.js";
import type { Logger } from "../../logger.js";
import {
  EventSchema,
  EventType as PbEventType,
  type Event as PbEvent,
} from "../../gen/metronome/v1/event_pb.js";
import {
  SubscribeResponseSchema,
  type EventService,
  type SubscribeRequest,
  type SubscribeResponse,
} from "../../gen/metronome/v1/event_service_pb.js";
import { toConnectError } from "../errors.js";
import { runErrorToProto, runStatusToProto, ts } from "../convert.js";

const MAX_CRITERION_VALUES = 100;

/** The enum's members are the type names in upper case (EVENT_TYPE_JOB_ADDED: job_added). */
const TYPE_FROM_PROTO = new Map<PbEventType, EventType>();
for (const v of Object.values(PbEventType)) {
  if (typeof v === "string") continue;
  const type = EVENT_TYPES.find((t) => t === PbEventType[v].toLowerCase());
  if (type !== undefined) TYPE_FROM_PROTO.set(v, type);
}
const TYPE_TO_PROTO = new Map([...TYPE_FROM_PROTO].map(([v, t]) => [t, v]));
if (TYPE_TO_PROTO.size !== EVENT_TYPES.length) throw new Error("event.proto lacks an event type");

function typeToProto(t: EventType): PbEventType {
  return TYPE_TO_PROTO.get(t) ?? PbEventType.UNSPECIFIED;
}

function typeFromProto(t: PbEventType, field: string): EventType {
  const found = TYPE_FROM_PROTO.get(t);
  if (found === undefined) throw new InvalidArgumentError(field, "is not an event type");
  return found;
}

function criterion<T, R extends string>(
  values: readonly T[],
  field: string,
  check: (v: T, field: string) => R,
): R[] {
  if (values.length > MAX_CRITERION_VALUES)
    throw new InvalidArgumentError(
      field,
      `must have at most ${String(MAX_CRITERION_VALUES)} values`,
    );
  return values.map((v, i) => check(v, `${field}[${String(i)}]`));
}

export function filterFromProto(req: SubscribeRequest): EventFilter {
  const f = req.filter;
  if (f === undefined) return { schedulers: [], jobIds: [], handlers: [], types: [] };
  return {
    schedulers: criterion(f.schedulers, "filter.schedulers", checkId),
    jobIds: criterion(f.jobIds, "filter.job_ids", checkId),
    handlers: criterion(f.handlers, "filter.handlers", checkHandler),
    types: criterion(f.types, "filter.types", typeFromProto),
  };
}

function startFromProto(req: SubscribeRequest): SubscriptionStart {
  if (req.start.case === "afterCursor") {
    const c = req.start.value;
    if (c < 0n) throw new InvalidArgumentError("after_cursor", "must not be negative");
    return { afterCursor: Number(c) };
  }
  return { fromNow: true };
}

/** Converted once per event, however many subscribers it goes to. */
const converted = new WeakMap<LoggedEvent, PbEvent>();

export function eventToProto(e: LoggedEvent): PbEvent {
  let pb = converted.get(e);
  if (pb !== undefined) return pb;
  const d = e.data;
  pb = create(EventSchema, {
    cursor: BigInt(e.cursor),
    type: typeToProto(e.type),
    time: ts(e.time),
    scheduler: e.scheduler ?? "",
    jobId: e.jobId ?? "",
    runId: e.runId ?? "",
    handler: e.handler ?? "",
    nodeId: d.nodeId,
    workerId: d.workerId ?? "",
    scheduledTime: d.scheduledTime === undefined ? undefined : ts(d.scheduledTime),
    attempt: d.attempt ?? 0,
    manual: d.manual ?? false,
    ...(d.runStatus === undefined ? {} : { runStatus: runStatusToProto(d.runStatus) }),
    result: d.result === undefined ? undefined : fromJson(ValueSchema, d.result),
    resultJson: d.result === undefined ? "" : JSON.stringify(d.result),
    error: d.error === undefined ? undefined : runErrorToProto(d.error),
    reason: d.reason ?? "",
    worker:
      d.worker === undefined
        ? undefined
        : {
            workerId: d.worker.workerId,
            sessionId: d.worker.sessionId,
            handlers: d.worker.handlers.map(([handler, maxConcurrency]) => ({
              handler,
              maxConcurrency,
            })),
            maxConcurrency: d.worker.maxConcurrency,
            labels: { ...d.worker.labels },
          },
  });
  converted.set(e, pb);
  return pb;
}

/** An event's binary encoding, made once however many subscribers it goes to. */
const encoded = new WeakMap<LoggedEvent, Uint8Array>();

function eventBytes(e: LoggedEvent): Uint8Array {
  let bytes = encoded.get(e);
  if (bytes === undefined) {
    bytes = toBinary(EventSchema, eventToProto(e));
    encoded.set(e, bytes);
  }
  return bytes;
}

/** The encoded `events` field (number 1) of a message part, shared by the subscribers given it. */
const encodedParts = new WeakMap<readonly LoggedEvent[], Uint8Array>();

/**
 * A binary response carrying pre-encoded events: they ride as the message's unknown fields,
 * which the binary serializer writes as they are: on the wire, exactly `repeated Event events =
 * 1`. (The JSON codec drops unknown fields: JSON subscribers get converted messages.)
 */
function binaryResponse(m: StreamMessage): SubscribeResponse {
  let data = encodedParts.get(m.events);
  if (data === undefined && m.events.length > 0) {
    const w = new BinaryWriter();
    m.events.forEach((e, i) => {
      // The first entry's tag is written by the serializer (`no` below).
      if (i > 0) w.tag(1, WireType.LengthDelimited);
      w.bytes(eventBytes(e));
    });
    data = w.finish();
    encodedParts.set(m.events, data);
  }
  const res = create(SubscribeResponseSchema, { cursor: BigInt(m.cursor), live: m.live });
  if (data !== undefined) res.$unknown = [{ no: 1, wireType: WireType.LengthDelimited, data }];
  return res;
}

function jsonResponse(m: StreamMessage): SubscribeResponse {
  return create(SubscribeResponseSchema, {
    events: m.events.map(eventToProto),
    cursor: BigInt(m.cursor),
    live: m.live,
  });
}

export function eventService(
  hub: EventHub,
  log: Logger,
): Partial<ServiceImpl<typeof EventService>> {
  return {
    async *subscribe(req: SubscribeRequest, ctx: HandlerContext) {
      // Errors inside a stream bypass the unary error mapping of the interceptor.
      try {
        const matcher = new EventMatcher(filterFromProto(req));
        const start = startFromProto(req);
        if (hub.isStopped) throw new ConnectError("the server is shutting down", Code.Unavailable);
        const sub = await hub.subscribe(matcher, start);
        const abort = (): void => {
          sub.close();
        };
        ctx.signal.addEventListener("abort", abort);
        // Cancelled while the subscription was being set up: the listener came too late.
        if (ctx.signal.aborted) sub.close();
        try {
          const json = /json/i.test(ctx.requestHeader.get("content-type") ?? "");
          for await (const m of sub) yield json ? jsonResponse(m) : binaryResponse(m);
          // The stream ends only when this node stops: the client resumes elsewhere.
          if (!ctx.signal.aborted)
            throw new ConnectError("the server is shutting down", Code.Unavailable);
        } finally {
          ctx.signal.removeEventListener("abort", abort);
          sub.close();
        }
      } catch (err) {
        throw toConnectError(err, log);
      }
    },
  };
}
