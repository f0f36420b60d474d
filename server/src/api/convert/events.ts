/** Event messages, and the filter and start position of a subscription. */
import { create, fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../../domain/errors.js";
import {
  EVENT_TYPES,
  type EventFilter,
  type EventType,
  type LoggedEvent,
} from "../../domain/events.js";
import { checkHandler, checkId } from "../../domain/jobs.js";
import type { SubscriptionStart } from "../../events/hub.js";
import {
  EventSchema,
  EventType as PbEventType,
  type Event as PbEvent,
} from "../../gen/metronome/v1/event_pb.js";
import type { SubscribeRequest } from "../../gen/metronome/v1/event_service_pb.js";
import { runErrorToProto, runStatusToProto } from "./runs.js";
import { ts } from "./time.js";

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

export function typeToProto(t: EventType): PbEventType {
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

export function startFromProto(req: SubscribeRequest): SubscriptionStart {
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
    actor: d.actor ?? "",
    keyId: d.keyId ?? "",
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
