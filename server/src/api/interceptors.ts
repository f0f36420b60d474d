/**
 * Cross-cutting behaviour of every RPC: a request id (taken from `x-request-id` or generated)
 * on the logs and the response, bearer-token authentication when tokens are configured, the
 * checks every request message gets (request-checks.ts), and the mapping of thrown errors to
 * codes.
 */
import { randomUUID } from "node:crypto";
import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { toConnectError } from "./errors.js";
import { withDeadline } from "../lib/deadline.js";
import { checkMessage } from "./request-checks.js";

const HEALTH_SERVICE = "grpc.health.v1.Health";

const TIMEOUT_UNITS: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** The client's timeout in milliseconds (`grpc-timeout`, `connect-timeout-ms`), if it sent one. */
export function clientTimeoutMs(header: Headers): number | undefined {
  const grpcTimeout = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
  if (grpcTimeout?.[1] && grpcTimeout[2])
    return Number(grpcTimeout[1]) * (TIMEOUT_UNITS[grpcTimeout[2]] ?? 1);
  const connect = /^\d{1,10}$/.exec(header.get("connect-timeout-ms") ?? "");
  return connect ? Number(connect[0]) : undefined;
}

/** Told of every RPC: its method (`Service/Method`), its code (`OK`, `NOT_FOUND`, …), its time. */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

/**
 * `storeTimeoutMs`: the longest a unary call's store work may take; a client's shorter timeout
 * bounds it further (lib/deadline.ts; the MySQL runner rolls back past it).
 */
export function requestInterceptor(
  log: Logger,
  authTokens: readonly string[],
  storeTimeoutMs: number,
  observe: RpcObserver = () => undefined,
): Interceptor {
  const tokens = authTokens.map((t) => Buffer.from(t));
  const authorised = (header: string | null): boolean => {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
    if (!m?.[1]) return false;
    const given = Buffer.from(m[1]);
    return tokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
  };
  return (next) => async (req) => {
    const requestId = req.header.get("x-request-id") ?? randomUUID();
    // Built only when something is logged: most calls succeed and log nothing at info.
    const child = (): Logger =>
      log.child({ requestId, rpc: `${req.service.typeName}/${req.method.name}` });
    const started = performance.now();
    try {
      if (
        tokens.length > 0 &&
        req.service.typeName !== HEALTH_SERVICE &&
        !authorised(req.header.get("authorization"))
      ) {
        throw new ConnectError("missing or invalid bearer token", Code.Unauthenticated);
      }
      if (req.stream) {
        const messages = req.message;
        const input = req.method.input;
        req = {
          ...req,
          message: (async function* () {
            for await (const m of messages) {
              try {
                checkMessage(input, m);
              } catch (err) {
                throw toConnectError(err, child());
              }
              yield m;
            }
          })(),
        };
      } else {
        checkMessage(req.method.input, req.message);
      }
      const res =
        req.method.methodKind === "unary"
          ? await withDeadline(
              Date.now() + Math.min(storeTimeoutMs, clientTimeoutMs(req.header) ?? Infinity),
              () => next(req),
            )
          : await next(req);
      res.header.set("x-request-id", requestId);
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
