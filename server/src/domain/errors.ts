/**
 * Domain errors. The domain layer raises these; the API layer maps each class to one
 * gRPC/Connect code in a single place. Messages are written for the caller: they name the
 * field and the reason and never carry SQL or stack traces.
 */
export abstract class DomainError extends Error {
  abstract readonly kind:
    | "invalid_argument"
    | "not_found"
    | "already_exists"
    | "failed_precondition"
    | "resource_exhausted"
    | "out_of_range"
    | "unavailable"
    | "unauthenticated"
    | "permission_denied"
    | "data_loss";
}

/**
 * Bad input. `field` is the path of the field at fault in the API's own names (domain/fields.ts),
 * relative to what was validated; empty when it is that value itself.
 */
export class InvalidArgumentError extends DomainError {
  readonly kind: "invalid_argument" | "resource_exhausted" = "invalid_argument";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(field === "" ? reason : `${field}: ${reason}`);
    this.name = "InvalidArgumentError";
  }

  /** The same error with `prefix` in front of the field path (`prefix.field`). */
  within(prefix: string): InvalidArgumentError {
    return this.at(
      prefix === "" ? this.field : this.field === "" ? prefix : `${prefix}.${this.field}`,
    );
  }

  /** The same error (same class) for the field path `field`. */
  protected at(field: string): InvalidArgumentError {
    return new InvalidArgumentError(field, this.reason);
  }
}

/** Input over a configured limit (payload size): RESOURCE_EXHAUSTED, naming the field. */
export class LimitExceededError extends InvalidArgumentError {
  override readonly kind = "resource_exhausted";
  protected override at(field: string): LimitExceededError {
    return new LimitExceededError(field, this.reason);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = "not_found";
  constructor(what: string) {
    super(`${what} not found`);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends DomainError {
  readonly kind = "already_exists";
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = "AlreadyExistsError";
  }
}

/** The request is valid but the current state forbids it (e.g. a version mismatch). */
export class FailedPreconditionError extends DomainError {
  readonly kind = "failed_precondition";
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

/** A position outside what exists (an event cursor older than the retention, or not yet given). */
export class OutOfRangeError extends DomainError {
  readonly kind = "out_of_range";
  constructor(message: string) {
    super(message);
    this.name = "OutOfRangeError";
  }
}

/** No valid credentials: a missing, unknown, revoked or expired key or token. */
export class UnauthenticatedError extends DomainError {
  readonly kind = "unauthenticated";
  constructor(message: string) {
    super(message);
    this.name = "UnauthenticatedError";
  }
}

/** Valid credentials whose scopes do not cover the call (never says more than what is missing). */
export class PermissionDeniedError extends DomainError {
  readonly kind = "permission_denied";
  constructor(message: string) {
    super(message);
    this.name = "PermissionDeniedError";
  }
}

/**
 * A quota refused the call (docs/security.md, "Quotas and rate limits"): RESOURCE_EXHAUSTED.
 * `subject` is what the quota counts for (`key:<id>`, `scheduler:<name>`); `retryAfterMs`, when
 * waiting is what lets the call through (a rate limit), how long.
 */
export class QuotaExceededError extends DomainError {
  readonly kind = "resource_exhausted";
  constructor(
    message: string,
    readonly violations: readonly { readonly subject: string; readonly description: string }[],
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "QuotaExceededError";
  }
}
