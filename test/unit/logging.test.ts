/**
 * The human-readable log forms: the server's (pino-pretty) and the SDK's own `prettyLine`. Each
 * entry is one line; JSON stays the default when stdout is not a terminal.
 */
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, defaultLogFormat } from "../../server/src/logger.js";
import { prettyLine } from "../../sdk/src/logger.js";

/** A stream that keeps what is written to it, one string per write. */
function capture(): Writable & { lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { lines });
}

describe("the server's log format", () => {
  it("is pretty on a terminal and JSON otherwise", () => {
    expect(defaultLogFormat({ isTTY: true })).toBe("pretty");
    expect(defaultLogFormat({})).toBe("json");
    expect(defaultLogFormat({ isTTY: false })).toBe("json");
  });

  it("pretty: one line per entry with time, level, message and fields", () => {
    const out = capture();
    const log = createLogger("info", { node: "n1" }, { format: "pretty", destination: out });
    log.info({ runId: "r1", jobId: "heartbeat", ms: 3 }, "run succeeded");
    log.debug("not at this level");
    expect(out.lines.join("")).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: run succeeded \{"runId":"r1","jobId":"heartbeat","ms":3\}\n$/,
    );
  });

  it("JSON: one object per line with the bindings", () => {
    const out = capture();
    createLogger("info", { node: "n1" }, { destination: out }).warn({ a: 1 }, "careful");
    expect(out.lines).toHaveLength(1);
    expect(JSON.parse(out.lines[0] ?? "")).toMatchObject({
      level: 40,
      service: "metronome",
      node: "n1",
      a: 1,
      msg: "careful",
    });
  });
});

describe("the SDK's prettyLine", () => {
  it("turns a pino line into one line: time, level, message, key=value fields", () => {
    const out = capture();
    pino({ name: "metronome-worker" }, out).info(
      { runId: "0190ab", attempt: 1, handler: "reports.daily", jobId: "daily report", ms: 12 },
      "run succeeded",
    );
    expect(prettyLine(out.lines[0] ?? "")).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}run succeeded runId=0190ab attempt=1 handler=reports\.daily jobId="daily report" ms=12\n$/,
    );
  });

  it("shows an error as its type and first line, keeping the entry on one line", () => {
    const out = capture();
    const err = new TypeError("bad input\nsecond line");
    pino({}, out).warn({ err, extra: { a: [1] } }, "run failed");
    const line = prettyLine(out.lines[0] ?? "");
    expect(line).toMatch(/ WARN {2}run failed err="TypeError: bad input" extra=\{"a":\[1\]\}\n$/);
    expect(line.split("\n")).toHaveLength(2);
  });

  it("has no colour codes unless asked, and leaves a line that is not JSON alone", () => {
    const json = JSON.stringify({ level: 50, time: Date.now(), msg: "boom" });
    expect(prettyLine(json)).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR boom\n$/);
    expect(prettyLine("plain text\n")).toBe("plain text\n");
  });
});
