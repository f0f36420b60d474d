/**
 * Secrets stay secret (docs/security.md): an API key's secret and a bootstrap token appear in no
 * answer but CreateKey's, in no error (a wrong, revoked or malformed secret, a missing scope), in
 * no event, and in no log line at `trace`. The whole suite's logs are scanned too, after its last
 * file (test/support/suite-logs.ts, global-setup.ts); this file checks what a client sees.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConnectError } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import {
  EventService,
  SubscribeResponseSchema,
} from "../../server/src/gen/metronome/v1/event_service_pb.js";
import { JobService } from "../../server/src/gen/metronome/v1/job_service_pb.js";
import {
  KeyService,
  ListKeysResponseSchema,
} from "../../server/src/gen/metronome/v1/key_service_pb.js";
import { createLogger } from "../../server/src/logger.js";
import { startInProcessNode, type InProcessNode } from "../support/in-process.js";
import { findSecrets } from "../support/suite-logs.js";

const TOKEN = "secrets-test-admin-token-0d9f2c";
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

let logged = "";
let n: InProcessNode;
beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString("utf8");
      done();
    },
  });
  n = await startInProcessNode({
    env: { METRONOME_AUTH_TOKENS: TOKEN },
    log: createLogger("trace", {}, { destination }),
  });
});
afterAll(async () => {
  await n.stop();
});

/** The message, code and metadata of a refused call, as one text. */
async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return `${e.code} ${e.rawMessage} ${JSON.stringify([...e.metadata.entries()])}`;
  }
  throw new Error("the call succeeded");
}

it("shows a key's secret once, and never again in answers, errors, events or logs", async () => {
  const keys = n.client(KeyService, bearer(TOKEN));
  const created = await keys.createKey({ name: "reports", scopes: ["read:reports"] });
  const secret = created.secret;
  expect(secret).toMatch(/^mtk_[0-9a-f]{16}_/);
  const keyId = created.key?.keyId ?? "";
  const wrong = `${secret.slice(0, -4)}AAAA`;

  const seen: string[] = [];
  const jobs = (s: string) => n.client(JobService, bearer(s));
  // Used, refused for a missing scope, with a wrong secret, malformed, then revoked.
  await jobs(secret).listJobs({ scheduler: "reports" });
  seen.push(await refusal(jobs(secret).removeAllJobs({ scheduler: "reports" })));
  seen.push(await refusal(jobs(wrong).listJobs({ scheduler: "reports" })));
  seen.push(await refusal(jobs(`${secret} ${secret}`).listJobs({ scheduler: "reports" })));
  seen.push(await refusal(jobs(`${TOKEN}x`).listJobs({ scheduler: "reports" })));
  await keys.revokeKey({ keyId });
  seen.push(await refusal(jobs(secret).listJobs({ scheduler: "reports" })));
  expect(seen.map((s) => s.split(" ")[0])).toEqual(["7", "16", "16", "16", "16"]);

  seen.push(toJsonString(ListKeysResponseSchema, await keys.listKeys({})));
  await n.node.events.flush();
  const stop = new AbortController();
  for await (const m of n
    .client(EventService, bearer(TOKEN))
    .subscribe({ start: { case: "afterCursor", value: 0n } }, { signal: stop.signal })) {
    seen.push(toJsonString(SubscribeResponseSchema, m));
    if (m.live) break;
  }
  stop.abort();
  const all = seen.join("\n");
  expect(all).toContain(keyId); // the key's id is public, and is there
  expect(all).toContain("KEY_REVOKED");

  expect(findSecrets("answers", all, [TOKEN, secret, wrong])).toEqual([]);
  expect(logged).toContain("rpc failed"); // the refusals were logged…
  expect(findSecrets("log", logged, [TOKEN, secret, wrong])).toEqual([]); // …without a secret
});

it("finds a secret wherever it appears in a line (the scan itself can fail)", () => {
  const key = `mtk_0123456789abcdef_${"a".repeat(43)}`;
  const text = [
    JSON.stringify({ msg: "rpc failed", authorization: `Bearer ${key}` }),
    "nothing here",
    JSON.stringify({ token: TOKEN }),
  ].join("\n");
  expect(findSecrets("f.log", text, [TOKEN])).toEqual([
    { file: "f.log", line: 1, kind: "API key secret" },
    { file: "f.log", line: 3, kind: "configured secret" },
  ]);
});
