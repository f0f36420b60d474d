/**
 * Subscribe's responses, encoded once however many subscribers they go to: binary responses
 * carry pre-encoded events, JSON responses converted messages.
 */
import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import type { LoggedEvent } from "../../domain/events.js";
import type { StreamMessage } from "../../events/hub.js";
import {
  SubscribeResponseSchema,
  type SubscribeResponse,
} from "../../gen/metronome/v1/event_service_pb.js";
import { writeEvent } from "./event-bytes.js";
import { eventToProto } from "./events.js";
import { WireWriter } from "./wire-writer.js";

/**
 * An event's binary encoding (event-bytes.ts), made once however many subscribers it goes to:
 * subscribers with different filters get it in different parts.
 */
const encoded = new WeakMap<LoggedEvent, Uint8Array>();

function eventBytes(e: LoggedEvent): Uint8Array {
  let bytes = encoded.get(e);
  if (bytes === undefined) {
    const w = new WireWriter();
    writeEvent(w, e);
    bytes = w.finish();
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
export function binaryResponse(m: StreamMessage): SubscribeResponse {
  const res = create(SubscribeResponseSchema, { cursor: BigInt(m.cursor), live: m.live });
  // Several queued messages sent as one: each part's encoding (shared with the subscribers it
  // went to) is a run of `events` entries, and runs of entries concatenate.
  const parts = m.parts ?? [m.events];
  res.$unknown = parts
    .filter((p) => p.length > 0)
    .map((p) => ({ no: 1, wireType: WireType.LengthDelimited, data: partBytes(p) }));
  return res;
}

/** The encoded entries of a part, from the second entry's tag on (see binaryResponse). */
function partBytes(events: readonly LoggedEvent[]): Uint8Array {
  let data = encodedParts.get(events);
  if (data === undefined) {
    const w = new WireWriter();
    events.forEach((e, i) => {
      // The first entry's tag is written by the serializer (`no`).
      if (i > 0) w.tag(1, WireType.LengthDelimited);
      w.bytes(eventBytes(e));
    });
    data = w.finish();
    encodedParts.set(events, data);
  }
  return data;
}

export function jsonResponse(m: StreamMessage): SubscribeResponse {
  return create(SubscribeResponseSchema, {
    events: m.events.map(eventToProto),
    cursor: BigInt(m.cursor),
    live: m.live,
  });
}

/**
 * The most bytes of events one response carries, as the binary encoding counts them: with its
 * cursor, its live flag and gRPC's frame a message stays well under the 4 MiB that gRPC
 * libraries accept by default (@grpc/grpc-js, grpc-go, grpc-java). One event is far below it
 * (a result is at most 64 KiB of JSON, carried as `result` and `result_json`); a larger one
 * goes alone.
 */
export const MAX_MESSAGE_BYTES = 3 * 1024 * 1024;

/**
 * The responses of a message of the hub (`json`: for a JSON subscriber): one, or, when its
 * events take more than `maxBytes`, several in order, each with as many events as fit (at least
 * one). Every response but the last has the cursor of its last event (every matching event up
 * to it has been sent), the last the message's; each has its live flag. A message within the
 * bound, the common case, is answered as before: its parts' shared encoding tells its size, a
 * sum; a cut one reuses each event's encoding. A JSON message is cut where the binary one would
 * be: JSON takes about as many bytes (a JSON subscriber pays the binary encoding, once per event
 * however many subscribers).
 */
export function subscribeResponses(
  m: StreamMessage,
  json: boolean,
  maxBytes = MAX_MESSAGE_BYTES,
): SubscribeResponse[] {
  const res = binaryResponse(m);
  let bytes = 0;
  for (const f of res.$unknown ?? []) bytes += 1 + f.data.length;
  if (bytes <= maxBytes) return [json ? jsonResponse(m) : res];
  return pieces(m, maxBytes).map((p) => (json ? jsonResponse(p) : binaryResponse(p)));
}

/** A message's events in runs of at most `maxBytes` (one event at least), in order. */
function pieces(m: StreamMessage, maxBytes: number): StreamMessage[] {
  const out: StreamMessage[] = [];
  let events: LoggedEvent[] = [];
  let bytes = 0;
  for (const e of m.events) {
    // The entry's tag, its length (at most 5 bytes) and the event.
    const n = 6 + eventBytes(e).length;
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
