/**
 * Cross-cutting behaviour of every RPC: a request id (taken from `x-request-id` or generated)
 * on the logs and the response, authentication (the call's principal, from its bearer token,
 * API key or client certificate: management/key-ring.ts) and authorisation (its scopes against the RPC's rule:
 * access.ts), the checks every request message gets (request-checks.ts), the audit's actor
 * (lib/actor.ts), the rate limits (quotas.ts: every call but the health service's) and the
 * mapping of thrown errors to codes. A stream opened with an API key ends when the key is
 * revoked or expires.
 */
import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { toConnectError } from "./errors.js";
import { actorBinding } from "../lib/actor.js";
import { runWith } from "../lib/call-storage.js";
import { deadlineBinding } from "../lib/deadline.js";
import type { KeyRing } from "../management/key-ring.js";
import { ANONYMOUS_PRINCIPAL } from "../management/key-ring.js";
import { authorize, PRINCIPAL } from "./access.js";
import type { Quotas } from "./quotas.js";
import { PEER_CERTIFICATE } from "./peer-certificate.js";
import { checkMessage } from "./request-checks.js";
import { decodeErrors } from "./undecodable.js";

const TIMEOUT_UNITS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** The client's timeout in milliseconds (`grpc-timeout`, `connect-timeout-ms`), if it sent one. */
const HEALTH_SERVICE = "grpc.health.v1.Health";

export function clientTimeoutMs(header: Headers): number | undefined {
  const grpcTimeout = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  if (grpcTimeout?.[1] && grpcTimeout[2])
    return Number(grpcTimeout[1]) * (TIMEOUT_UNITS[grpcTimeout[2]] ?? 1);
  const connect = /^\d{1,10}$/.exec(header.get("connect-timeout-ms") ?? "");
  return connect ? Number(connect[0]) : undefined;
}

/**
 * Told of every RPC as it ends: its method (`Service/Method`), its code (`OK`, `NotFound`, …:
 * Connect's names), its time (to the start of the response for a stream).
 */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

/**
 * `storeTimeoutMs`: the longest a unary call's store work may take; a client's shorter timeout
 * bounds it further (lib/deadline.ts; the MySQL runner rolls back past it).
 */
export function requestInterceptor(
  log: Logger,
  keys: KeyRing,
  storeTimeoutMs: number,
  observe: RpcObserver = () => undefined,
  quotas?: Quotas,
): Interceptor {
  return (next) => async (req) => {
    const requestId = req.header.get("x-request-id") ?? randomUUID();
    // Built only when something is logged: most calls succeed and log nothing at info.
    const child = (): Logger =>
      log.child({ requestId, rpc: `${req.service.typeName}/${req.method.name}` });
    const started = performance.now();
    try {
      const open = req.service.typeName === HEALTH_SERVICE;
      const principal = open
        ? ANONYMOUS_PRINCIPAL
        : await keys.authenticate(
            req.header.get("authorization"),
            req.contextValues.get(PEER_CERTIFICATE),
          );
      req.contextValues.set(PRINCIPAL, principal);
      if (req.stream) {
        const messages = req.message;
        const method = req.method;
        // A server stream's one request names what it reads (Subscribe's schedulers): checked
        // as it arrives, before the service sees it. A client or bidi stream's rule reads none.
        const perMessage = method.methodKind === "server_streaming";
        if (!perMessage) {
          authorize(method, principal);
          if (!open) quotas?.admit(method, principal);
        }
        req = {
          ...req,
          message: (async function* () {
            for await (const m of decodeErrors(messages, method.input)) {
              try {
                checkMessage(method.input, m);
                if (perMessage) {
                  authorize(method, principal, m);
                  if (!open) quotas?.admit(method, principal, m);
                }
              } catch (err) {
                throw toConnectError(err, child());
              }
              yield m;
            }
          })(),
        };
      } else {
        checkMessage(req.method.input, req.message);
        authorize(req.method, principal, req.message);
        if (!open) quotas?.admit(req.method, principal, req.message);
      }
      const res =
        req.method.methodKind === "unary"
          ? await runWith(
              [
                actorBinding(principal.actor),
                deadlineBinding(
                  Date.now() + Math.min(storeTimeoutMs, clientTimeoutMs(req.header) ?? Infinity),
                ),
              ],
              () => next(req),
            )
          : await next(req);
      res.header.set("x-request-id", requestId);
      if (res.stream) {
        // Counted and logged when the stream ends, with the code it ends with; its duration is
        // the time to its start (docs/metrics.md).
        const opened = (performance.now() - started) / 1000;
        const messages =
          principal.keyId === null ? res.message : endWith(res.message, principal.ended);
        return {
          ...res,
          message: observed(
            messages,
            req.signal,
            (code) => {
              observe(`${req.service.typeName}/${req.method.name}`, code, opened);
            },
            (err) => {
              const reqLog = child();
              const mapped = toConnectError(err, reqLog);
              // The response headers carry the request id already.
              reqLog.info(
                { ms: Math.round(performance.now() - started), code: Code[mapped.code] },
                "rpc failed",
              );
              return mapped;
            },
          ),
        };
      }
      observe(
        `${req.service.typeName}/${req.method.name}`,
        "OK",
        (performance.now() - started) / 1000,
      );
      if (log.isLevelEnabled("debug"))
        child().debug({ ms: Math.round(performance.now() - started) }, "rpc ok");
      return res;
    } catch (err) {
      const reqLog = child();
      const mapped = toConnectError(err, reqLog);
      mapped.metadata.set("x-request-id", requestId);
      observe(
        `${req.service.typeName}/${req.method.name}`,
        Code[mapped.code],
        (performance.now() - started) / 1000,
      );
      reqLog.info(
        { ms: Math.round(performance.now() - started), code: Code[mapped.code] },
        "rpc failed",
      );
      throw mapped;
    }
  };
}

/**
 * A response stream's messages, telling `ended` the code it ends with, once: OK when it
 * completes, the code of the error it fails with (`mapError` maps and logs it; the mapped error
 * is what the client gets), `Canceled` when the call's `signal` aborts first (the client went
 * away: the messages may then never be read to their end) or its reader stops it.
 */
async function* observed<T>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  ended: (code: string) => void,
  mapError: (err: unknown) => ConnectError,
): AsyncIterable<T> {
  let told = false;
  const tell = (code: string) => {
    if (told) return;
    told = true;
    ended(code);
  };
  const cancelled = () => {
    tell(Code[Code.Canceled]);
  };
  if (signal.aborted) cancelled();
  else signal.addEventListener("abort", cancelled, { once: true });
  let code = Code[Code.Canceled];
  try {
    yield* messages;
    code = "OK";
  } catch (err) {
    const mapped = mapError(err);
    code = Code[mapped.code];
    throw mapped;
  } finally {
    signal.removeEventListener("abort", cancelled);
    tell(code);
  }
}

/**
 * A stream's messages until `ended` aborts (its key was revoked or expired); then the stream
 * fails with the signal's reason (UNAUTHENTICATED), and Connect aborts the handler's context,
 * which ends the worker session or the subscription behind it.
 */
async function* endWith<T>(messages: AsyncIterable<T>, ended: AbortSignal): AsyncIterable<T> {
  const it = messages[Symbol.asyncIterator]();
  let stop: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => {
      const why = ended.reason instanceof Error ? ended.reason.message : "the API key ended";
      reject(new ConnectError(why, Code.Unauthenticated));
    };
    if (ended.aborted) stop();
    else ended.addEventListener("abort", stop, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done === true) return;
      yield r.value;
    }
  } finally {
    ended.removeEventListener("abort", stop);
    void it.return?.().catch(() => undefined);
  }
}
