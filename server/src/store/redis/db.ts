/**
 * The Redis store's connection and how its operations use it: scripts (one atomic operation
 * each, scripts/) and reads of several records in one round trip; the optimistic commit of
 * decisions made in TypeScript is optimistic.ts. A lost or refused connection becomes
 * StoreUnavailableError.
 */
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import type { EventDraft } from "../../domain/events.js";
import type { Job } from "../../domain/jobs.js";
import type { Run } from "../../domain/runs.js";
import { bounded } from "../bounded.js";
import { storeError, StoreTimeoutError } from "../errors.js";
import { clusterReady } from "./cluster-connection.js";
import { RecordCache } from "./cache.js";
import type { Fields } from "./codec.js";
import { Keys } from "./keys.js";
import { CONFLICT } from "./optimistic.js";
import { currentIdempotentCall } from "../../lib/idempotent-call.js";
import { IdempotencyKeyTaken } from "../port-idempotency.js";
import { idempotencyPayload } from "./idempotency-record.js";
import { keyed, LIB } from "./scripts/lib.js";
import { SCRIPTS, type Script } from "./scripts/index.js";

/**
 * A script's command as defineCommand adds it to the connection and to its pipelines, called with
 * Db.scriptArgs: its one key (the anchor), then its arguments. On the connection it answers the
 * script's reply; on a pipeline it queues the call (its reply is the pipeline's).
 */
type ScriptCall = (
  anchor: string,
  prefix: string,
  payload: Buffer,
  tag: string,
  events: string,
) => unknown;

/** A script's command on the connection or on a pipeline of it. */
function scriptCommand(on: Redis | Cluster | ChainableCommander, script: Script): ScriptCall {
  const call = (on as unknown as Record<string, ScriptCall | undefined>)[script.name];
  if (call === undefined) throw new Error(`script ${script.name} is not defined`);
  return call;
}

/** The drafts each script argument of events was made from (told to listeners after commit). */
const draftsOf = new WeakMap<object, readonly EventDraft[]>();

/** Events as a script appends them: the inbox's entries, `<time>|<event JSON>` each. */
export function eventArgs(events: readonly EventDraft[] | undefined): string[] {
  const args = (events ?? []).map((e) => `${String(e.time)}|${JSON.stringify(e)}`);
  draftsOf.set(args, events ?? []);
  return args;
}

/** A script's answer when another call holds the idempotency key of the call under way. */
const KEY_TAKEN = "idem-taken";

/**
 * Script answers that mean nothing was written: a conflict, a duplicate, a taken time, a taken
 * idempotency key (scripts/lib.ts, `keyed`, reads the same list).
 */
const NOT_WRITTEN: ReadonlySet<unknown> = new Set([CONFLICT, 0, "taken", KEY_TAKEN]);

/** Runs a node keeps as it last wrote them (cache.ts): a few seconds of a busy node's runs. */
const RUN_CACHE_LIMIT = 20_000;
/** Jobs a node keeps as it last claimed them (cache.ts). */
const JOB_CACHE_LIMIT = 20_000;

export class Db {
  readonly keys: Keys;
  /** Runs this node last wrote, by id, at the revision it gave them, and their fields (cache.ts). */
  readonly runs = new RecordCache<{ readonly run: Run; readonly fields: Fields }>(RUN_CACHE_LIMIT);
  /** Jobs this node last wrote, by key, at `<incarnation>:<revision>` (cache.ts). */
  readonly jobs = new RecordCache<Job>(JOB_CACHE_LIMIT);
  private readonly eventsListeners: ((events: readonly EventDraft[]) => void)[] = [];

  /**
   * `redis`: one server's connection, or a cluster client shared by the shards of cluster.ts,
   * each a Db with its hash tag (`tag`; empty on one server).
   */
  constructor(
    readonly redis: Redis | Cluster,
    prefix: string,
    tag = "",
  ) {
    this.keys = new Keys(prefix, tag);
    for (const s of SCRIPTS) {
      if (!(s.name in redis))
        redis.defineCommand(s.name, { numberOfKeys: 1, lua: LIB + keyed(s.body) });
    }
  }

  onEventsCommitted(listener: (events: readonly EventDraft[]) => void): void {
    this.eventsListeners.push(listener);
  }

  /**
   * A call bounded by the current deadline, its connection errors as StoreUnavailableError. On a
   * Redis Cluster a call made while the client is not connected first waits for it, failing
   * when an attempt to connect does, and is not sent once the deadline passed
   * (cluster-connection.ts).
   */
  async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      const ready = this.redis.isCluster ? clusterReady(this.redis as Cluster) : null;
      if (ready === null) return await bounded(work(), () => undefined);
      let late = false;
      return await bounded(
        ready.then(() => {
          if (late) throw new StoreTimeoutError();
          return work();
        }),
        () => {
          late = true;
        },
      );
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * The answer of a call already made and shared by several callers (coalesce.ts: it waits for
   * the connection itself, through call), bounded by the current caller's deadline, its errors
   * as call's. Unlike call, it never leaves the shared promise's failure unheard.
   */
  async shared<T>(answer: Promise<T>): Promise<T> {
    try {
      return await bounded(answer, () => undefined);
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * Runs a script with its payload (every number in it a string). Run for a keyed call (one
   * server only: a cluster store takes no keys), it writes the key's record with what it writes
   * (idempotency.ts), or throws IdempotencyKeyTaken, having written nothing.
   * The payload goes as bytes: a large one (a hand-out's thousand runs) as a string would be
   * measured, joined into the command's text and encoded again on each write. Its `events`
   * (eventArgs) go apart, one a line (scripts/lib.ts, append_events): inside the JSON each
   * event's own JSON would be escaped, and decoded again by the script.
   */
  async run(script: Script, payload: Record<string, unknown>): Promise<unknown> {
    const call = scriptCommand(this.redis, script);
    const keyedCall = this.keys.tag === "" ? currentIdempotentCall() : undefined;
    const { events, ...rest } = payload;
    const entries = Array.isArray(events) ? (events as string[]) : [];
    const sent =
      keyedCall === undefined
        ? rest
        : { ...rest, idem: idempotencyPayload(this.keys, keyedCall, null, keyedCall.startedAt) };
    const args = this.scriptArgs(sent, entries);
    const reply = await this.call(() => call.call(this.redis, ...args) as Promise<unknown>);
    if (reply === KEY_TAKEN) throw new IdempotencyKeyTaken();
    if (!NOT_WRITTEN.has(reply) && entries.length > 0) this.committed(entries);
    return reply;
  }

  /**
   * Queues a read-only script with its payload (every number in it a string) on a pipeline of
   * batch(): its reply is the pipeline's, in its place among the others. As it writes nothing, it
   * carries no idempotency record and no events (run() is for scripts that write).
   */
  queue(pipe: ChainableCommander, script: Script, payload: Record<string, unknown>): void {
    if ("events" in payload) throw new Error(`script ${script.name} queued with events`);
    scriptCommand(pipe, script).call(pipe, ...this.scriptArgs(payload, []));
  }

  /**
   * A script call's key and arguments, as every script takes them (scripts/lib.ts): the anchor,
   * the key prefix, the payload as bytes, the hash tag, and the events one a line (run() tells
   * why).
   */
  private scriptArgs(
    payload: Record<string, unknown>,
    events: readonly string[],
  ): [string, string, Buffer, string, string] {
    return [
      this.keys.anchor,
      this.keys.prefix,
      Buffer.from(JSON.stringify(payload)),
      this.keys.tag,
      events.join("\n"),
    ];
  }

  /** Tells the listeners that events made by eventArgs were committed. */
  committed(events: object): void {
    const drafts = draftsOf.get(events) ?? [];
    if (drafts.length === 0) return;
    for (const listener of this.eventsListeners) listener(drafts);
  }

  /** The replies of the commands `build` queues, sent in one round trip; the first error throws. */
  async batch(build: (pipe: ChainableCommander) => void): Promise<unknown[]> {
    const pipe = this.redis.pipeline();
    build(pipe);
    if (pipe.length === 0) return [];
    const replies = (await this.call(() => pipe.exec())) ?? [];
    return replies.map(([err, reply]) => {
      if (err !== null) throw storeError(err);
      return reply;
    });
  }

  /** The hashes at these keys, in one round trip (null: no such key). */
  async hashes(keys: readonly string[]): Promise<(Fields | null)[]> {
    const replies = await this.batch((pipe) => {
      for (const k of keys) pipe.hgetall(k);
    });
    return replies.map((h) => {
      const fields = h as Fields;
      return Object.keys(fields).length === 0 ? null : fields;
    });
  }

  /** The scheduler of each of these runs (absent: no such run). */
  async runSchedulers(ids: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (ids.length === 0) return out;
    const found = await this.call(() => this.redis.hmget(this.keys.global("run-sched"), ...ids));
    ids.forEach((id, i) => {
      const s = found[i];
      if (typeof s === "string") out.set(id, s);
    });
    return out;
  }

  /** These runs' hashes, by id (absent: no such run). */
  async runHashes(ids: readonly string[]): Promise<Map<string, Fields>> {
    const where = await this.runSchedulers(ids);
    const known = [...where];
    const found = await this.hashes(known.map(([id, s]) => this.keys.run(s, id)));
    const out = new Map<string, Fields>();
    known.forEach(([id], i) => {
      const h = found[i];
      if (h !== null && h !== undefined) out.set(id, h);
    });
    return out;
  }

  /** The schedulers that hold jobs or runs. */
  async spaces(): Promise<string[]> {
    return (await this.call(() => this.redis.smembers(this.keys.global("spaces")))).sort();
  }

  async paused(): Promise<string[]> {
    return (await this.call(() => this.redis.smembers(this.keys.global("paused")))).sort();
  }
}
