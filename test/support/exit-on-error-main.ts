/**
 * A script that calls `exitOnError()` and then fails the way its first argument says, for
 * test/sdk/exit-on-error.test.ts:
 *
 * - `duplicate`: adds the job `dup` twice without replaceExisting (AlreadyExistsError);
 * - `invalid`: adds a job with cron hour 25 (InvalidArgumentError from the server);
 * - `worker`: starts a worker with a wrong token (start() rejects: UnauthenticatedError);
 * - `plain`: throws a plain Error (a programming error: printed with its stack);
 * - `twice`: calls exitOnError() again, then adds the duplicate (still one line, printed once).
 *
 * Environment: METRONOME_URL (the server; any address for `plain`), METRONOME_TOKEN (its token).
 */
import { SchedulerManager, Worker, defineHandler, exitOnError } from "@metronome/sdk";

exitOnError();

const mode = process.argv[2];
const baseUrl = process.env.METRONOME_URL;
SchedulerManager.configure({ baseUrl, token: process.env.METRONOME_TOKEN });
const scheduler = SchedulerManager.getInstance("exit-on-error");
const handler = defineHandler("exit.noop", () => undefined);

async function duplicate(): Promise<void> {
  await scheduler.addJob(handler, "interval", { hours: 1, id: "dup", replaceExisting: true });
  await scheduler.addJob(handler, "interval", { hours: 1, id: "dup" });
}

switch (mode) {
  case "twice":
    exitOnError();
    await duplicate();
    break;
  case "duplicate":
    await duplicate();
    break;
  case "invalid":
    await scheduler.addJob(handler, "cron", { hour: 25, id: "bad" });
    break;
  case "worker": {
    const worker = new Worker({ baseUrl, token: "wrong" });
    worker.register(handler);
    await worker.start();
    break;
  }
  case "plain":
    throw new Error("a bug in the script");
  default:
    throw new Error(`unknown mode ${String(mode)}`);
}
console.log("not reached");
