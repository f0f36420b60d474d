/**
 * EventService: Subscribe, the durable and resumable event stream (docs/events.md). A
 * subscription holds one of its principal's slots on this node while it is open (quotas.ts).
 */
import { create, type UnknownField } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { EventMatcher, type LoggedEvent } from "../../domain/events.js";
import type { EventHub, StreamMessage } from "../../events/hub.js";
import type { Logger } from "../../logger.js";
import {
  SubscribeResponseSchema,
  type EventService,
  type SubscribeRequest,
  type SubscribeResponse,
} from "../../gen/metronome/v1/event_service_pb.js";
import { principalOf } from "../access.js";
import { toConnectError } from "../errors.js";
import type { Quotas } from "../quotas.js";
import { binaryResponse, jsonResponse } from "../convert/event-responses.js";
import { filterFromProto, startFromProto } from "../convert/events.js";
import { speaksJson } from "./codec.js";

/**
 * The most bytes of events one response carries, as the binary encoding counts them: with its
 * cursor, its live flag and gRPC's frame a message stays well under the 4 MiB that gRPC
 * libraries accept by default (@grpc/grpc-js, grpc-go, grpc-java). One event is far below it
 * (a result is at most 64 KiB of JSON, carried as `result` and `result_json`); a larger one
 * goes alone.
 */
export const MAX_MESSAGE_BYTES = 3 * 1024 * 1024;

export function eventService(
  hub: EventHub,
  log: Logger,
  quotas?: Quotas,
): Partial<ServiceImpl<typeof EventService>> {
  return {
    async *subscribe(req: SubscribeRequest, ctx: HandlerContext) {
      // Errors inside a stream bypass the unary error mapping of the interceptor.
      let release = (): void => undefined;
      try {
        const matcher = new EventMatcher(filterFromProto(req));
        const start = startFromProto(req);
        if (hub.isStopped) throw new ConnectError("the server is shutting down", Code.Unavailable);
        if (quotas !== undefined) release = quotas.openSubscription(principalOf(ctx));
        const sub = await hub.subscribe(matcher, start);
        // A cancelled call frees its place at once: the generator may stay parked at a yield.
        const abort = (): void => {
          sub.close();
          release();
        };
        ctx.signal.addEventListener("abort", abort);
        // Cancelled while the subscription was being set up: the listener came too late.
        if (ctx.signal.aborted) sub.close();
        try {
          const json = speaksJson(ctx);
          for await (const m of sub) for (const res of subscribeResponses(m, json)) yield res;
          // The stream ends only when this node stops: the client resumes elsewhere.
          if (!ctx.signal.aborted)
            throw new ConnectError("the server is shutting down", Code.Unavailable);
        } finally {
          ctx.signal.removeEventListener("abort", abort);
          sub.close();
        }
      } catch (err) {
        throw toConnectError(err, log);
      } finally {
        release();
      }
    },
  };
}

/**
 * The responses of a message of the hub (`json`: for a JSON subscriber): one, or, when its
 * events take more than `maxBytes` (MAX_MESSAGE_BYTES), several in order, each with as many
 * events as fit (at least one). Every response but the last has the cursor of its last event
 * (every matching event up to it has been sent), the last the message's; each has its live
 * flag. A message within the bound, the common case, is answered as it was: its events' shared
 * encoding (event-responses.ts) tells its size, which costs a sum; a cut one reuses each event's
 * encoding too. A JSON message is cut where the binary one would be: JSON takes about as many
 * bytes (a subscriber in JSON pays the binary encoding, once per event whatever the
 * subscribers).
 */
export function subscribeResponses(
  m: StreamMessage,
  json: boolean,
  maxBytes = MAX_MESSAGE_BYTES,
): SubscribeResponse[] {
  const res = binaryResponse(m);
  if (fieldBytes(res.$unknown) <= maxBytes) return [json ? jsonResponse(m) : res];
  return pieces(m, maxBytes).map((p) => (json ? jsonResponse(p) : pieceResponse(p)));
}

/** Each event's `events` entry alone, made once however many subscribers' messages are cut. */
const entries = new WeakMap<LoggedEvent, UnknownField>();

function entryOf(e: LoggedEvent): UnknownField {
  let entry = entries.get(e);
  if (entry === undefined) {
    const field = binaryResponse({ events: [e], cursor: 0, live: false }).$unknown?.[0];
    if (field === undefined) throw new Error("an event without its encoding");
    entry = field;
    entries.set(e, entry);
  }
  return entry;
}

/** The bytes unknown fields take on the wire: a one-byte tag (field 1) and their data each. */
function fieldBytes(fields: readonly UnknownField[] | undefined): number {
  let n = 0;
  for (const f of fields ?? []) n += 1 + f.data.length;
  return n;
}

/** A message's events in runs of at most `maxBytes` (one event at least), in order. */
function pieces(m: StreamMessage, maxBytes: number): StreamMessage[] {
  const out: StreamMessage[] = [];
  let events: LoggedEvent[] = [];
  let bytes = 0;
  for (const e of m.events) {
    const n = 1 + entryOf(e).data.length;
    const last = events[events.length - 1];
    if (last !== undefined && bytes + n > maxBytes) {
      out.push({ events, cursor: last.cursor, live: m.live });
      events = [];
      bytes = 0;
    }
    events.push(e);
    bytes += n;
  }
  out.push({ events, cursor: m.cursor, live: m.live });
  return out;
}

/** A binary response of a cut message: its events' entries, as they were encoded. */
function pieceResponse(piece: StreamMessage): SubscribeResponse {
  const res = create(SubscribeResponseSchema, { cursor: BigInt(piece.cursor), live: piece.live });
  res.$unknown = piece.events.map(entryOf);
  return res;
}
