/**
 * For test/sdk/not-http2.test.ts: one call of the SDK's client to METRONOME_URL (a port that
 * answers, but not with HTTP/2), the error it gets printed as one line (its class and message), the client closed at
 * once. Nothing is left to wait for: the process exits when the connection is gone, with code 0
 * unless something was left unhandled.
 */
import { MetronomeClient } from "@metronome/sdk";

const client = new MetronomeClient({ baseUrl: process.env.METRONOME_URL ?? "" });
try {
  await client.scheduler().getJobs();
  console.log("answered");
} catch (err) {
  console.log(
    `failed: ${err instanceof Error ? `${err.constructor.name}: ${err.message}` : typeof err}`,
  );
} finally {
  client.close();
}
