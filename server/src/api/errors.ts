/**
 * The one place where errors become gRPC/Connect codes. Domain errors map to their code with
 * their message; anything unexpected becomes INTERNAL with a generic message (the cause is
 * logged with the request id, never sent: no SQL, no stack traces reach clients).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError } from "../domain/errors.js";
import type { Logger } from "../logger.js";

const CODES: Record<DomainError["kind"], Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  out_of_range: Code.OutOfRange,
  unavailable: Code.Unavailable,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  data_loss: Code.DataLoss,
};

export function toConnectError(err: unknown, log: Logger): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) {
    if (err.kind === "unavailable") log.warn({ err: err.cause }, "job store unavailable");
    if (err.kind === "data_loss") log.warn({ err }, "stored data cannot be read");
    return new ConnectError(err.message, CODES[err.kind]);
  }
  log.error({ err }, "unexpected error");
  return new ConnectError("internal error", Code.Internal);
}
