/**
 * Streams through the request interceptor, as unary calls go: every response carries its
 * `x-request-id` (opened with a bearer token or an API key alike), and a stream is counted in
 * `metronome_rpc_requests_total` when it ends, with the code it ends with — a Subscribe refused
 * as it reads its request is not an `OK`.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const ADMIN_TOKEN = "stream-calls-admin";
const SUBSCRIBE = "metronome.v1.EventService/Subscribe";

describe("streams through the request interceptor", () => {
  let n: InProcessNode;
  let keySecret = "";

  beforeAll(async () => {
    n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: ADMIN_TOKEN } });
    const keys = n.client(KeyService, { authorization: `Bearer ${ADMIN_TOKEN}` });
    keySecret = (await keys.createKey({ name: "events", scopes: ["events:*"] })).secret;
  });
  afterAll(async () => {
    await n.stop();
  });

  /** `metronome_rpc_requests_total` of Subscribe, by code. */
  async function subscribes(): Promise<Map<string, number>> {
    const { body } = await n.node.metrics.scrape();
    const counts = new Map<string, number>();
    for (const m of body.matchAll(
      /^metronome_rpc_requests_total\{method="([^"]+)",code="([^"]+)"\} (\d+)$/gm,
    ))
      if (m[1] === SUBSCRIBE) counts.set(m[2] ?? "", Number(m[3]));
    return counts;
  }

  it("a stream opened with a key or a token has x-request-id and counts when it ends", async () => {
    for (const authorization of [`Bearer ${keySecret}`, `Bearer ${ADMIN_TOKEN}`]) {
      const events = n.client(EventService, {
        authorization,
        "x-request-id": `sub-${authorization.length}`,
      });
      const headers: Headers[] = [];
      const controller = new AbortController();
      const stream = events.subscribe(
        { filter: { schedulers: ["default"] } },
        { signal: controller.signal, onHeader: (h) => headers.push(h) },
      );
      // A subscription from now answers an empty live message at once.
      for await (const res of stream) {
        expect(res.live).toBe(true);
        break;
      }
      controller.abort();
      expect(headers[0]?.get("x-request-id")).toBe(`sub-${authorization.length}`);
    }
    // Both streams ended when their client left: counted then, as Canceled, and not as OK.
    await expect.poll(async () => (await subscribes()).get("Canceled")).toBe(2);
    expect((await subscribes()).get("OK")).toBeUndefined();
  });

  it("a Subscribe refused as it reads its request counts with its code and names its request", async () => {
    for (const authorization of [`Bearer ${keySecret}`, `Bearer ${ADMIN_TOKEN}`]) {
      const events = n.client(EventService, { authorization, "x-request-id": "bad-filter" });
      let caught: unknown;
      try {
        for await (const res of events.subscribe({ filter: { schedulers: ["bad name!"] } }))
          expect.unreachable(`a message for an invalid filter: ${res.cursor.toString()}`);
      } catch (err) {
        caught = err;
      }
      const e = ConnectError.from(caught);
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.rawMessage).toMatch(/filter\.schedulers\[0\]/);
      expect(e.metadata.get("x-request-id")).toBe("bad-filter");
    }
    await expect.poll(async () => (await subscribes()).get("InvalidArgument")).toBe(2);
    expect((await subscribes()).get("OK")).toBeUndefined();
  });
});
