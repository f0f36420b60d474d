/**
 * Idempotency keys (docs/security.md, "Idempotency keys"): a client that sends
 * `idempotency-key: <key>` on a mutating unary call may send it again, with the same request, and
 * get the first call's answer instead of a second change, on any node.
 *
 * Runs inside the request interceptor (after authentication, the request checks and with the
 * call's deadline). A keyed call's change writes the key's record in its own transaction
 * (lib/idempotent-call.ts, store/sql/keyed-runner.ts); its answer is recorded after, here:
 * - a response, or a final refusal (FINAL: the same request would be refused again), is recorded
 *   and given to every repeat until the record expires;
 * - any other failure (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, …) is not: a repeat runs again,
 *   unless the failed call's change had committed (its COMMIT landed and its answer was lost),
 *   which the record says: the repeat then answers FAILED_PRECONDITION and changes nothing.
 * A repeat while the first call is still under way answers ABORTED (retry later, same key).
 */
import { createHash, randomUUID } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import { DomainError } from "../domain/errors.js";
import { currentDeadline } from "../lib/deadline.js";
import { withIdempotentCall, type IdempotentCall } from "../lib/idempotent-call.js";
import type { Logger } from "../logger.js";
import {
  IdempotencyKeyTaken,
  type IdempotencyRecord,
  type IdempotencyStore,
  type IdempotentAnswer,
} from "../store/port-idempotency.js";
import { ACCESS, PRINCIPAL } from "./access.js";
import { responseParts } from "./replayed-response.js";

export const IDEMPOTENCY_KEY_HEADER = "idempotency-key";
/** Set (`true`) on an answer that repeats a recorded one. */
export const REPLAYED_HEADER = "idempotent-replayed";

/** 1 to 128 printable ASCII characters, no spaces (a UUID fits). */
const KEY = /^[\x21-\x7e]{1,128}$/;

/** The refusals a repeat of the same request would get again: recorded and repeated. */
const FINAL: Readonly<Partial<Record<DomainError["kind"], Code>>> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  out_of_range: Code.OutOfRange,
};
const FINAL_CODES: ReadonlySet<Code> = new Set(Object.values(FINAL));

/** The RPCs that take a key: those that change something, the `write` rules of access.ts. */
export function takesIdempotencyKey(method: string): boolean {
  return ACCESS[method]?.need === "write";
}

function invalid(message: string): ConnectError {
  return new ConnectError(`${IDEMPOTENCY_KEY_HEADER}: ${message}`, Code.InvalidArgument);
}

/** A failure's recordable answer, or null when it is not final. */
function finalAnswer(err: unknown): IdempotentAnswer | null {
  if (err instanceof ConnectError)
    return FINAL_CODES.has(err.code)
      ? { ok: false, code: err.code, message: err.rawMessage }
      : null;
  if (err instanceof DomainError) {
    const code = FINAL[err.kind];
    return code === undefined ? null : { ok: false, code, message: err.message };
  }
  return null;
}

/** A recorded code number as a Code. */
function codeOf(n: number): Code {
  const name = Code[n] as keyof typeof Code | undefined;
  return name === undefined ? Code.Unknown : Code[name];
}

/** The answer a repeat gets from the first call's record. */
function replay(
  req: UnaryRequest,
  record: IdempotencyRecord,
  method: string,
  requestHash: string,
): UnaryResponse {
  if (record.method !== method)
    throw invalid(`this key was used for ${record.method}; use a new key for each change`);
  if (record.requestHash !== requestHash)
    throw invalid("this key was used for a different request; use a new key for each change");
  const replayed = new Headers({ [REPLAYED_HEADER]: "true" });
  const answer = record.answer;
  if (answer === null) {
    if (Date.now() < record.deadlineAt)
      throw new ConnectError(
        `${IDEMPOTENCY_KEY_HEADER}: the first call with this key is still under way; retry with the same key`,
        Code.Aborted,
        replayed,
      );
    throw new ConnectError(
      `${IDEMPOTENCY_KEY_HEADER}: the first call with this key committed its change (or, for a change made in several steps, part of it) but its answer was not recorded; it is not applied again: read the current state`,
      Code.FailedPrecondition,
      replayed,
    );
  }
  if (!answer.ok) throw new ConnectError(answer.message, codeOf(answer.code), replayed);
  const { header, trailer } = responseParts(req.header);
  header.set(REPLAYED_HEADER, "true");
  return {
    stream: false,
    service: req.service,
    method: req.method,
    header,
    trailer,
    message: fromBinary(req.method.output, answer.response),
  };
}

/**
 * `store`: where the records are (undefined: the store has none, and keyed calls are refused
 * with UNIMPLEMENTED); `ttlMs`: how long a record is kept.
 */
export function idempotencyInterceptor(
  store: IdempotencyStore | undefined,
  clock: Clock,
  ttlMs: number,
  log: Logger,
): Interceptor {
  return (next) => async (req) => {
    const key = req.header.get(IDEMPOTENCY_KEY_HEADER);
    if (key === null) return next(req);
    const method = `${req.service.typeName}/${req.method.name}`;
    if (!KEY.test(key))
      throw invalid("must be 1 to 128 printable ASCII characters without spaces (a UUID fits)");
    if (req.stream || !takesIdempotencyKey(method))
      throw invalid(
        `${method} takes no key: only the calls that change jobs, runs and schedulers do`,
      );
    if (store === undefined)
      throw new ConnectError(
        `${IDEMPOTENCY_KEY_HEADER}: this server's store (Redis Cluster) does not support idempotency keys; send the call without one`,
        Code.Unimplemented,
      );
    const principal = req.contextValues.get(PRINCIPAL).actor;
    const now = clock.now();
    const requestHash = createHash("sha256")
      .update(toBinary(req.method.input, req.message))
      .digest("hex");
    const found = await store.getIdempotencyRecord(principal, key, now);
    if (found !== null) return replay(req, found, method, requestHash);

    const call: IdempotentCall = {
      principal,
      key,
      method,
      requestHash,
      callId: randomUUID(),
      startedAt: now,
      deadlineAt: currentDeadline() ?? Date.now() + ttlMs,
      expiresAt: now + ttlMs,
      settled: false,
    };
    /** Records the answer; the other call's record when it holds the key. */
    const record = async (answer: IdempotentAnswer): Promise<IdempotencyRecord | null> => {
      try {
        return await store.recordAnswer(call, answer, now);
      } catch (err) {
        // The answer stands; a repeat is told the change was made (see the file's header).
        log.warn({ err, method }, "idempotency: the answer was not recorded");
        return null;
      }
    };
    let res;
    try {
      res = await withIdempotentCall(call, () => next(req));
    } catch (err) {
      call.settled = true;
      if (err instanceof IdempotencyKeyTaken) {
        const holder = await store.getIdempotencyRecord(principal, key, now);
        if (holder !== null) return replay(req, holder, method, requestHash);
        throw new ConnectError(
          `${IDEMPOTENCY_KEY_HEADER}: another call with this key was under way; retry with the same key`,
          Code.Aborted,
        );
      }
      const answer = finalAnswer(err);
      const holder = answer === null ? null : await record(answer);
      if (holder !== null) return replay(req, holder, method, requestHash);
      throw err;
    }
    call.settled = true;
    if (res.stream) return res;
    const holder = await record({ ok: true, response: toBinary(req.method.output, res.message) });
    return holder === null ? res : replay(req, holder, method, requestHash);
  };
}
