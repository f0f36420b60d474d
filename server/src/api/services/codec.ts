/**
 * A call's codec. A binary call's answers may carry pre-encoded fields (unknown fields, which the
 * binary serializer writes as they are: a worker's assignments, the event stream, jobs); the JSON
 * codec drops unknown fields, so a call in JSON (Connect's `application/json`, any `+json`
 * content type) gets converted messages.
 */
import type { HandlerContext } from "@connectrpc/connect";

export function speaksJson(ctx: HandlerContext): boolean {
  return /json/i.test(ctx.requestHeader.get("content-type") ?? "");
}
