/**
 * The one place where errors become gRPC/Connect codes. Domain errors map to their code with
 * their message; anything unexpected becomes INTERNAL with a generic message (the cause is
 * logged with the request id, never sent: no SQL, no stack traces reach clients).
 *
 * A quota's refusal also carries the standard details `google.rpc.QuotaFailure` and, for a rate
 * limit, `google.rpc.RetryInfo` with the delay, which the `retry-after` metadata entry repeats
 * in whole seconds (rounded up, as HTTP's Retry-After).
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { DomainError, QuotaExceededError } from "../domain/errors.js";
import { QuotaFailureSchema, RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
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
  if (err instanceof QuotaExceededError) return quotaError(err);
  if (err instanceof DomainError) {
    if (err.kind === "unavailable") log.warn({ err: err.cause }, "job store unavailable");
    if (err.kind === "data_loss") log.warn({ err }, "stored data cannot be read");
    return new ConnectError(err.message, CODES[err.kind]);
  }
  log.error({ err }, "unexpected error");
  return new ConnectError("internal error", Code.Internal);
}

function quotaError(err: QuotaExceededError): ConnectError {
  const metadata = new Headers();
  const failure = create(QuotaFailureSchema, { violations: [...err.violations] });
  if (err.retryAfterMs === undefined)
    return new ConnectError(err.message, Code.ResourceExhausted, metadata, [
      { desc: QuotaFailureSchema, value: failure },
    ]);
  metadata.set("retry-after", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  return new ConnectError(err.message, Code.ResourceExhausted, metadata, [
    { desc: RetryInfoSchema, value: { retryDelay: durationFromMs(err.retryAfterMs) } },
    { desc: QuotaFailureSchema, value: failure },
  ]);
}
