/**
 * The store with job data sealed at rest (sealing.ts says what is sealed and how): a decorator
 * over any store of the port, so the four stores get it alike without a line of their own.
 * Without encryption keys the server does not wrap its store at all.
 *
 * On the way in, jobs, runs made by the engine, workers' outcomes and events are sealed; on the
 * way out, what reaches a client or a worker is opened: jobs (GetJob, ListJobs, the answers of
 * changes), runs (GetRun, ListRuns, RunJobNow, CancelRun), the runs handed to workers, and the
 * events read for subscribers. What only the engine reads stays sealed, which costs nothing and
 * keeps the engine's loops independent of the keys: the jobs given to a claim's plan and to a
 * manual run's maker (they copy the job's arguments, envelopes and all), a claim's, a sweep's
 * and a timeout's runs, the verdicts on results and the events handed to commit listeners
 * (metrics, traces), whose log lines and spans show a sealed error as sealed.
 *
 * The events a change records are made from the records as stored, so they carry the same
 * envelopes; any draft that still holds a clear result or error is sealed before it is written.
 *
 * Values this node cannot open (a key id it lacks, a failed authentication) fail the call that
 * reads them (SealedDataError), except where one row must not stop the rest: a run leased for
 * a worker fails instead of being sent, an event is read without its payload (sealing.ts).
 */
import { runEvents, type EventDraft } from "../domain/events.js";
import type { Job } from "../domain/jobs.js";
import type { Run } from "../domain/runs.js";
import type { IdempotencyRecord, IdempotencyStore, Sequenced, Store } from "./port.js";
import { SealedDataError, type IdempotencyPlace, type Sealer } from "./sealing.js";

type Events<A extends unknown[]> = ((...args: A) => readonly EventDraft[]) | undefined;

export interface SealedStoreOptions {
  /** The node's id, on the events it records for runs it cannot hand out. */
  readonly nodeId: string;
}

/** `store` with job data sealed by `sealer`. */
export function sealedStore(store: Store, sealer: Sealer, options: SealedStoreOptions): Store {
  const sealEvents = (events: readonly EventDraft[]) => events.map((e) => sealer.sealEvent(e));
  const guard = <A extends unknown[]>(events: Events<A>): Events<A> =>
    events === undefined ? undefined : (...args: A) => sealEvents(events(...args));
  const openPage = <T>(page: { items: T[]; nextPageToken: string }, open: (t: T) => T) => ({
    ...page,
    items: page.items.map(open),
  });

  /**
   * Runs leased for a worker that this node cannot open (their arguments are sealed under a key
   * it lacks, or fail authentication) are not sent: each fails at once, not retryable, its error
   * saying why, with its job_error event.
   */
  const failUnreadable = async (
    now: number,
    unreadable: readonly { run: Run; error: SealedDataError }[],
  ) => {
    await store.completeRuns(
      now,
      unreadable.map(({ run, error }) => ({
        lease: { runId: run.id, attempt: run.attempt, token: run.leaseToken ?? "" },
        outcome: sealer.sealOutcome(run.id, {
          kind: "error",
          error: { type: error.name, message: error.message, stack: "", nonRetryable: true },
        }),
      })),
      (verdicts) =>
        sealEvents(
          runEvents(
            verdicts.flatMap((v) => (v.accepted && v.recorded ? [v.run] : [])),
            now,
            options.nodeId,
          ),
        ),
    );
  };

  const served = store.getJobServed?.bind(store);
  const insertServed = store.insertJobServed?.bind(store);
  const overrides: Partial<Store> = {
    ...(insertServed === undefined
      ? {}
      : {
          insertJobServed: (
            job: Job,
            events: readonly EventDraft[],
            now: number,
            exceptNode: string,
          ) => insertServed(sealer.sealJob(job), sealEvents(events), now, exceptNode),
        }),
    // Present exactly when the store has it: the job it answers is opened like getJob's.
    ...(served === undefined
      ? {}
      : {
          getJobServed: async (scheduler: string, id: string, now: number, exceptNode: string) => {
            const found = await served(scheduler, id, now, exceptNode);
            return found === null ? null : { ...found, job: sealer.openJob(found.job) };
          },
        }),
    insertJob: (job, events) =>
      store.insertJob(sealer.sealJob(job), events === undefined ? undefined : sealEvents(events)),
    getJob: async (scheduler, id) => {
      const job = await store.getJob(scheduler, id);
      return job === null ? null : sealer.openJob(job);
    },
    listJobs: async (query) => openPage(await store.listJobs(query), (j) => sealer.openJob(j)),
    updateJob: async (scheduler, id, change, now, events) => {
      const updated = await store.updateJob(
        scheduler,
        id,
        (current: Job) => {
          const opened = sealer.openJob(current);
          const next = change(opened);
          return next === opened ? current : sealer.sealJob(next);
        },
        now,
        guard(events),
      );
      return updated === null ? null : sealer.openJob(updated);
    },
    deleteJob: (scheduler, id, options) =>
      store.deleteJob(
        scheduler,
        id,
        options === undefined ? undefined : { ...options, events: guard(options.events) },
      ),
    deleteAllJobs: (scheduler, options) =>
      store.deleteAllJobs(
        scheduler,
        options === undefined ? undefined : { ...options, events: guard(options.events) },
      ),
    cancelPendingRuns: (scheduler, options) =>
      store.cancelPendingRuns(scheduler, { ...options, events: guard(options.events) }),
    claimDueJobs: (request, events) => store.claimDueJobs(request, guard(events)),
    createManualRun: async (scheduler, jobId, make) => {
      const run = await store.createManualRun(scheduler, jobId, (job, shift) => {
        // A job this node cannot open gets no run: the error rolls the request back.
        sealer.openJob(job);
        return sealer.sealRun(make(job, shift));
      });
      return run === null ? null : sealer.openRun(run);
    },
    leaseRuns: async (request, events) => {
      const leased = await store.leaseRuns(request, guard(events));
      const taken: Run[] = [];
      const unreadable: { run: Run; error: SealedDataError }[] = [];
      for (const run of leased.taken) {
        try {
          taken.push(sealer.openRun(run));
        } catch (err) {
          if (!(err instanceof SealedDataError)) throw err;
          unreadable.push({ run, error: err });
        }
      }
      if (unreadable.length > 0) await failUnreadable(request.now, unreadable);
      return { ...leased, taken };
    },
    completeRuns: (now, items, events) =>
      store.completeRuns(
        now,
        items.map((i) => ({
          lease: i.lease,
          outcome: sealer.sealOutcome(i.lease.runId, i.outcome),
        })),
        guard(events),
      ),
    timeOutRun: (now, lease, events) => store.timeOutRun(now, lease, guard(events)),
    cancelRun: async (now, runId, reason, events) => {
      const out = await store.cancelRun(now, runId, reason, guard(events));
      return out.kind === "not_found" ? out : { ...out, run: sealer.openRun(out.run) };
    },
    sweep: (request, events) => store.sweep(request, guard(events)),
    getRun: async (runId) => {
      const run = await store.getRun(runId);
      return run === null ? null : sealer.openRun(run);
    },
    listRuns: async (query) => (await store.listRuns(query)).map((r) => sealer.openRun(r)),
    appendEvents: (events) => store.appendEvents(sealEvents(events)),
    readEvents: async (after, upTo, limit, matcher) => {
      const read = await store.readEvents(after, upTo, limit, matcher);
      return { ...read, events: read.events.map((e) => sealer.openEvent(e)) };
    },
  };

  // The answers of idempotent calls are sealed too: an AddJob's holds the job's arguments.
  const keyed = store.idempotency;
  const openRecord = (record: IdempotencyRecord | null, place: IdempotencyPlace) =>
    record === null || record.answer === null
      ? record
      : { ...record, answer: sealer.openAnswer(record.answer, place) };
  const idempotency: IdempotencyStore | undefined =
    keyed === undefined
      ? undefined
      : {
          getIdempotencyRecord: async (principal, key, now) =>
            openRecord(await keyed.getIdempotencyRecord(principal, key, now), { principal, key }),
          recordAnswer: async (call, answer, now) =>
            openRecord(await keyed.recordAnswer(call, sealer.sealAnswer(answer, call), now), call),
          deleteExpiredIdempotencyKeys: (now, limit) =>
            keyed.deleteExpiredIdempotencyKeys(now, limit),
        };
  // The events a sequencer read come out opened, as readEvents' do (absent where the store has
  // no such read).
  const sequencing = store.sequenceEventsRead?.bind(store);
  const sequenceEventsRead =
    sequencing === undefined
      ? undefined
      : async (limit: number) => {
          const sequenced = await sequencing(limit);
          return { ...sequenced, events: sequenced.events.map((e) => sealer.openEvent(e)) };
        };
  // And so do the events a commit sequenced (where the store's commits give cursors).
  const listening = store.onEventsSequenced?.bind(store);
  const onEventsSequenced =
    listening === undefined
      ? undefined
      : (listener: (s: Sequenced) => void, wants: () => boolean) => {
          listening((sequenced) => {
            listener({ ...sequenced, events: sequenced.events.map((e) => sealer.openEvent(e)) });
          }, wants);
        };
  const withKeys: Record<string, unknown> = {
    ...overrides,
    idempotency,
    sequenceEventsRead,
    onEventsSequenced,
  };

  return new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && Object.hasOwn(withKeys, prop)) return withKeys[prop];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function"
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
