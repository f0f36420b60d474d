/**
 * EventService: Subscribe, the durable and resumable event stream (docs/events.md). A
 * subscription holds one of its principal's slots on this node while it is open (quotas.ts).
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { EventMatcher } from "../../domain/events.js";
import type { EventHub } from "../../events/hub.js";
import type { Logger } from "../../logger.js";
import type { EventService, SubscribeRequest } from "../../gen/metronome/v1/event_service_pb.js";
import { principalOf } from "../access.js";
import { toConnectError } from "../errors.js";
import type { Quotas } from "../quotas.js";
import { subscribeResponses } from "../convert/event-responses.js";
import { filterFromProto, startFromProto } from "../convert/events.js";
import { speaksJson } from "./codec.js";

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
