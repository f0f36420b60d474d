import { randomBytes } from "node:crypto";

/** A lease token: 96 random bits, the fencing token a worker's result must carry. */
export function newLeaseToken(): string {
  return randomBytes(12).toString("base64url");
}
