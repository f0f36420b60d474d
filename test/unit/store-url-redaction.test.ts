/**
 * One helper hides a store URL's password in messages (server/src/config/store-url.ts
 * `redactUrl`): the configuration's errors about an invalid URL, and the line `metronome serve`
 * prints when its store is unavailable (cli/store-failure.ts), which also hides the password
 * where a driver's message repeats it. URLs that do not parse are hidden as well as those that do.
 */
import { describe, expect, it } from "vitest";
import { storeFailure } from "../../server/src/cli/store-failure.js";
import { ConfigError, loadConfig } from "../../server/src/config/load.js";
import { redactUrl } from "../../server/src/config/store-url.js";
import { StoreUnavailableError } from "../../server/src/store/errors.js";

function configMessage(url: string): string {
  try {
    loadConfig({ env: { SCHEDULER__JOBSTORE_URL: url }, defaultNodeId: "test-node" });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`accepted ${url}`);
}

describe("redactUrl", () => {
  it.each([
    // [the URL, as shown, the password]
    ["mysql://root:s3cret@db.example/jobs", "mysql://root:***@db.example/jobs", "s3cret"],
    ["postgres://app@127.0.0.1:1/db", "postgres://app@127.0.0.1:1/db", undefined],
    ["redis://:secret@cache.example:6379/0", "redis://:***@cache.example:6379/0", "secret"],
    // Percent-encoded: shown as written, the password decoded (as a driver would use it).
    [
      "redis://user:p%40ss%2Fword!@10.0.0.1:6379/0",
      "redis://user:***@10.0.0.1:6379/0",
      "p@ss/word!",
    ],
    // `@` unencoded in a password: the user information ends at the last `@` before the host.
    ["mysql://root:p@ss@dbhost/db", "mysql://root:***@dbhost/db", "p@ss"],
    // Not a URL a parser reads: a `/` in the password, several hosts, a stray `%`.
    ["mysql://root:pa/ss@dbhost/db", "mysql://root:***@dbhost/db", "pa/ss"],
    ["redis+cluster://u:secret@h:7000,h:70000", "redis+cluster://u:***@h:7000,h:70000", "secret"],
    ["postgresql://u:50%off@host/db", "postgresql://u:***@host/db", "50%off"],
    // An `@` after the host is not user information.
    ["mysql://h/db?user=a@b", "mysql://h/db?user=a@b", undefined],
    ["sqlite:///data/a:b@c.db", "sqlite:///data/a:b@c.db", undefined],
    ["not a url", "not a url", undefined],
  ])("%s", (url, shown, password) => {
    expect(redactUrl(url)).toEqual({ url: shown, password });
  });
});

describe("the configuration's errors never show a store URL's password", () => {
  it.each([
    ["mysql://root:p@ss-word@dbhost", 'got "mysql://root:***@dbhost"'],
    ["mysql://root:pa/ss-word@dbhost", 'got "mysql://root:***@dbhost"'],
    ["postgresql://u:se/cret-word@host", 'got "postgresql://u:***@host"'],
    ["redis://u:se#cret-word@localhost:6379/zero", 'got "redis://u:***@localhost:6379/zero"'],
  ])("%s", (url, shown) => {
    const message = configMessage(url);
    expect(message).toMatch(/^SCHEDULER__JOBSTORE_URL: expected /);
    expect(message).toContain(shown);
    expect(message).not.toContain("-word");
  });
});

describe("storeFailure uses the same helper", () => {
  it("hides a password holding `@` in the URL and in the driver's message", () => {
    const cause = new Error("access denied for root using p@ss-word");
    expect(
      storeFailure(new StoreUnavailableError(cause), {
        kind: "mysql",
        url: "mysql://root:p%40ss-word@127.0.0.1:1/x",
      }),
    ).toBe(
      "the job store is unavailable (mysql://root:***@127.0.0.1:1/x): access denied for root using ***",
    );
  });
});
