/**
 * An API key with an expiry (docs/security.md): it authenticates until then, and afterwards its
 * calls are UNAUTHENTICATED and its open subscription ends, on a clock the test moves.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { EventService } from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import { KeyService } from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { ManualClock } from "../support/clock.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";

const TOKEN = "expiry-admin-token";
const clock = new ManualClock(Date.UTC(2030, 0, 1));
let n: InProcessNode;
beforeAll(async () => {
  n = await startInProcessNode({ env: { METRONOME_AUTH_TOKENS: TOKEN }, clock });
});
afterAll(async () => {
  await n.stop();
});

it("stops authenticating at its expiry, open streams included", async () => {
  const keys = n.client(KeyService, { authorization: `Bearer ${TOKEN}` });
  await expect(
    keys.createKey({ name: "past", scopes: ["read:*"], expiresAt: timestampFromMs(clock.now()) }),
  ).rejects.toMatchObject({ code: Code.InvalidArgument });
  const made = await keys.createKey({
    name: "short",
    scopes: ["read:*", "events:*"],
    expiresAt: timestampFromMs(clock.now() + 60_000),
  });
  const auth = { authorization: `Bearer ${made.secret}` };
  await n.client(JobService, auth).listJobs({});
  const stream = n.client(EventService, auth).subscribe({});
  const it = stream[Symbol.asyncIterator]();
  await it.next(); // the subscription is live
  const ended = it.next().then(
    () => "OK",
    (err: unknown) => ConnectError.from(err).code,
  );

  clock.advance(60_000);
  await expect(n.client(JobService, auth).listJobs({})).rejects.toMatchObject({
    code: Code.Unauthenticated,
  });
  // The ring's next read of the keys ends the stream.
  await n.node.api.keyRing.refresh();
  expect(await ended).toBe(Code.Unauthenticated);
});
