/**
 * How numbers travel: args, kwargs and results as JSON text (`args_json`, `kwargs_json`,
 * `result_json`) keep integers exact, through AddJob, GetJob, ModifyJob, the worker's
 * assignment, its result, GetRun and the JOB_EXECUTED event — with @grpc/grpc-js alone,
 * against a real node on the embedded store. Text that cannot be kept exactly is refused,
 * naming the field.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  grpcJsClients,
  list,
  rawSubscription,
  rawWorkerSession,
  struct,
  unvalue,
  type GrpcJsClients,
  type RawSession,
  type RawSubscription,
  type Reply,
} from "../support/grpc-js.js";
import { startTestNode, type TestNode } from "../support/node.js";

const ARGS = '[2147483648,9007199254740991,-9007199254740991,1.5,"x",{"n":42,"deep":[[7]]}]';
const KWARGS = '{"big":4294967296,"ints":[1,2,3],"neg":-1,"none":null}';
const RESULT = '{"sum":9007199254740991,"ints":[1,2],"half":0.5}';

describe("numbers over the API, with @grpc/grpc-js", () => {
  let node: TestNode;
  let c: GrpcJsClients;
  const open: { close(): void }[] = [];

  beforeAll(async () => {
    node = await startTestNode("sqlite:///:memory:");
    c = grpcJsClients(node.port);
  });
  afterAll(async () => {
    for (const o of open) o.close();
    c.close();
    await node.stop();
  });

  const code = (p: Promise<unknown>) =>
    p.then(
      () => "OK",
      (e: unknown) => {
        const err = e as { code: number; details: string };
        return `${status[err.code]}: ${err.details}`;
      },
    );
  const job = (id: string, extra: object, handler = "numbers.echo") => ({
    job: { id, handler, trigger: { cron: { hour: "3" } }, ...extra },
  });

  it("keeps integers exact from AddJob to the worker, and the result back to every reader", async () => {
    const added = (await c.job("AddJob", job("exact", { args_json: ARGS, kwargs_json: KWARGS })))
      .job as Reply;
    expect(added).toMatchObject({ args_json: ARGS, kwargs_json: KWARGS });
    // The same values as ListValue and Struct (where every number is a double).
    expect(unvalue({ kind: "listValue", listValue: added.args })).toEqual(JSON.parse(ARGS));
    const got = (await c.job("GetJob", { job_id: "exact" })).job as Reply;
    expect(got).toMatchObject({ args_json: ARGS, kwargs_json: KWARGS });

    // A job added with ListValue and Struct answers with the exact text too.
    const plain = (
      await c.job("AddJob", job("plain", { args: list([1, 2.5]), kwargs: struct({}) }))
    ).job as Reply;
    expect(plain).toMatchObject({ args_json: "[1,2.5]", kwargs_json: "{}" });

    // The worker's assignment carries the text; its result_json comes back exact.
    const worker = rawWorkerSession(node.port);
    open.push(worker);
    worker.send({
      hello: {
        worker_id: "w-numbers",
        handlers: [{ handler: "numbers.echo" }],
        max_concurrency: 1,
      },
    });
    expect((await worker.next()).payload).toBe("welcome");
    const sub: RawSubscription = rawSubscription(node.port, {
      from_now: true,
      filter: { job_ids: ["exact"], types: ["EVENT_TYPE_JOB_EXECUTED"] },
    });
    open.push({
      close: () => {
        sub.cancel();
      },
    });
    expect(await sub.next()).toMatchObject({ live: true });
    const { run } = (await c.job("RunJobNow", { job_id: "exact" })) as { run: Reply };
    const a = await next(worker, "assignment");
    expect(a).toMatchObject({ job_id: "exact", args_json: ARGS, kwargs_json: KWARGS });
    worker.send({
      result: {
        lease: a.lease,
        success: { result: { nullValue: "NULL_VALUE" }, result_json: RESULT },
      },
    });
    expect(await next(worker, "result_accepted")).toMatchObject({
      run_status: "RUN_STATUS_SUCCEEDED",
    });
    const done = ((await c.run("GetRun", { run_id: run.run_id })) as { run: Reply }).run;
    expect(done).toMatchObject({ status: "RUN_STATUS_SUCCEEDED", result_json: RESULT });
    const [executed] = await sub.events((e) => e.length >= 1);
    expect(executed).toMatchObject({ run_id: run.run_id, result_json: RESULT });
    expect(unvalue(executed?.result as Reply)).toEqual(JSON.parse(RESULT));
  });

  it("refuses what cannot be kept exactly, naming the field", async () => {
    expect(await code(c.job("AddJob", job("big", { args_json: "[9007199254740992]" })))).toBe(
      "INVALID_ARGUMENT: job.args_json: holds the integer 9007199254740992, beyond ±(2^53 - 1): it cannot be kept exactly; send it as a string",
    );
    expect(await code(c.job("AddJob", job("obj", { kwargs_json: "[1]" })))).toBe(
      "INVALID_ARGUMENT: job.kwargs_json: must be a JSON object",
    );
    expect(
      await code(
        c.job("AddJobs", { jobs: [job("ok", {}).job, job("bad", { args_json: "[1," }).job] }),
      ),
    ).toMatch(/^INVALID_ARGUMENT: jobs\[1\]\.args_json: is not JSON/);
    expect(
      await code(c.job("AddJob", job("deep", { args_json: "[".repeat(33) + "]".repeat(33) }))),
    ).toBe("INVALID_ARGUMENT: job.args_json: is nested more than 32 levels deep");
    // Both forms: accepted when they agree (a job read back can be sent again), refused otherwise.
    expect(
      await code(c.job("AddJob", job("both", { args: list([1, "a"]), args_json: '[1,"a"]' }))),
    ).toBe("OK");
    expect(await code(c.job("AddJob", job("differ", { args: list([1]), args_json: "[2]" })))).toBe(
      "INVALID_ARGUMENT: job.args_json: differs from args: set one of them, not both",
    );
    for (const id of ["big", "obj", "ok", "bad", "deep", "differ"])
      expect(await code(c.job("GetJob", { job_id: id }))).toMatch(/^NOT_FOUND/);
  });

  it("ModifyJob takes args_json and kwargs_json under either mask name", async () => {
    await c.job("AddJob", job("mod", {}));
    const modified = (
      await c.job("ModifyJob", {
        job: { id: "mod", args_json: "[4294967296]", kwargs_json: '{"n":3}' },
        update_mask: { paths: ["args_json", "kwargs"] },
      })
    ).job as Reply;
    expect(modified).toMatchObject({ args_json: "[4294967296]", kwargs_json: '{"n":3}' });
  });

  it("a result_json that cannot be kept exactly fails the run, not the session", async () => {
    await c.job("AddJob", job("bad-result", {}, "numbers.bad"));
    const worker = rawWorkerSession(node.port);
    open.push(worker);
    worker.send({
      hello: { worker_id: "w-bad", handlers: [{ handler: "numbers.bad" }], max_concurrency: 1 },
    });
    expect((await worker.next()).payload).toBe("welcome");
    const { run } = (await c.job("RunJobNow", { job_id: "bad-result" })) as { run: Reply };
    const a = await next(worker, "assignment");
    worker.send({ result: { lease: a.lease, success: { result_json: "[18446744073709551615]" } } });
    expect(await next(worker, "result_accepted")).toMatchObject({
      run_status: "RUN_STATUS_FAILED",
    });
    const failed = ((await c.run("GetRun", { run_id: run.run_id })) as { run: Reply }).run;
    expect(failed).toMatchObject({
      status: "RUN_STATUS_FAILED",
      result_json: "",
      error: {
        type: "ResultNotSerializable",
        message:
          "result_json holds the integer 18446744073709551615, beyond ±(2^53 - 1): it cannot be kept exactly; send it as a string",
      },
    });
  });
});

async function next(s: RawSession, kind: string): Promise<Reply> {
  const m = await s.next();
  expect(m.payload).toBe(kind);
  return m[kind] as Reply;
}
