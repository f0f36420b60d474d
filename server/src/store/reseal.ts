/**
 * Re-sealing jobs after a key rotation, or after encryption was turned on for a database that
 * holds clear rows (`metronome reseal`, docs/security.md "Rotating keys"): every job whose args
 * or kwargs are not sealed under the sealing key is rewritten through the sealed store, in the
 * store's locked read-modify-write, with nothing else changed (no new version, no event; runs
 * prepared ahead are kept). Safe while nodes run. Runs and events keep the envelopes they were
 * written with until retention deletes them.
 */
import type { Job } from "../domain/jobs.js";
import { envelopeKeyId, isEnvelope } from "../lib/envelope.js";
import type { Store } from "./port.js";

const PAGE = 500;

export interface ResealCount {
  /** Jobs read. */
  readonly jobs: number;
  /** Jobs rewritten under the sealing key. */
  readonly resealed: number;
}

function sealedUnder(value: unknown, keyId: string): boolean {
  return isEnvelope(value) && envelopeKeyId(value) === keyId;
}

/**
 * Reads every job from `raw` (the store itself) and rewrites through `sealed` (the same store,
 * sealed under `keyId`) those not sealed under `keyId`.
 */
export async function resealJobs(raw: Store, sealed: Store, keyId: string): Promise<ResealCount> {
  let jobs = 0;
  let resealed = 0;
  for (const scheduler of await raw.listSchedulers()) {
    let pageToken = "";
    do {
      const page = await raw.listJobs({
        scheduler: scheduler.name,
        orderBy: "id",
        pageSize: PAGE,
        pageToken,
      });
      for (const job of page.items) {
        jobs++;
        if (sealedUnder(job.args, keyId) && sealedUnder(job.kwargs, keyId)) continue;
        // A copy is a change to the sealed store: it seals the copy's values anew.
        const rewritten = await sealed.updateJob(job.scheduler, job.id, (j: Job) => ({ ...j }));
        if (rewritten !== null) resealed++;
      }
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  }
  return { jobs, resealed };
}
