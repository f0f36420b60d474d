/**
 * Cross-cutting behaviour of every RPC: a request id (taken from `x-request-id` or generated)
 * on the logs and the response, bearer-token authentication when tokens are configured, and the
 * mapping of thrown errors to codes.
 */
import { randomUUID } from "node:crypto";
import { timingSafeEqual } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { toConnectError } from "./errors.js";

const HEALTH_SERVICE = "grpc.health.v1.Health";

/** Told of every RPC: its method (`Service/Method`), its code (`OK`, `NOT_FOUND`, …), its time. */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

export function requestInterceptor(
  log: Logger,
  authTokens: readonly string[],
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
      const res = await next(req);
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
