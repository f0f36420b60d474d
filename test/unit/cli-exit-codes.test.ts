/**
 * The operator commands' exit codes for the SDK's errors (docs/cli.md, "Exit codes"): a value
 * over a size limit is a usage error like INVALID_ARGUMENT, but a rate limit or a quota (retry
 * later, or free something first) is not.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { toMetronomeError } from "@metronome/sdk";
import { describe, expect, it } from "vitest";
import { EXIT, exitCodeOf } from "../../server/src/cli/exit.js";

const fromServer = (code: Code, message: string) =>
  toMetronomeError(new ConnectError(message, code));

describe("exitCodeOf", () => {
  it("RESOURCE_EXHAUSTED naming a field is usage (2); a rate limit or quota is 1", () => {
    expect(
      exitCodeOf(fromServer(Code.ResourceExhausted, "job.args: is 70000 bytes, over 65536")),
    ).toBe(EXIT.usage);
    expect(
      exitCodeOf(
        fromServer(
          Code.ResourceExhausted,
          "too many requests from anonymous (requests a second per key: 0.01): retry in 97.207 s",
        ),
      ),
    ).toBe(EXIT.error);
    expect(
      exitCodeOf(
        fromServer(
          Code.ResourceExhausted,
          'scheduler "default" may hold at most 10 jobs: it holds 10 and the call adds 1 (remove jobs first)',
        ),
      ),
    ).toBe(EXIT.error);
  });

  it("the other codes", () => {
    expect(exitCodeOf(fromServer(Code.InvalidArgument, "job.trigger.cron.hour: 25"))).toBe(2);
    expect(exitCodeOf(fromServer(Code.NotFound, 'job "x" not found'))).toBe(3);
    expect(exitCodeOf(fromServer(Code.Unavailable, "down"))).toBe(4);
    expect(exitCodeOf(fromServer(Code.Unauthenticated, "no token"))).toBe(5);
    expect(exitCodeOf(fromServer(Code.PermissionDenied, "needs read"))).toBe(5);
    expect(exitCodeOf(fromServer(Code.AlreadyExists, "exists"))).toBe(1);
  });
});
