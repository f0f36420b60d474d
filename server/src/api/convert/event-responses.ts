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
