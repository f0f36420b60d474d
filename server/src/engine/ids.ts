import { randomBytes } from "node:crypto";

/**
 * Run ids: 32 hex digits, the creation time in milliseconds first, then 80 random bits. Ids in
 * creation order keep the clustered primary key's inserts at its end (random UUIDs scatter them
 * over the whole table), and they sort by age.
 */
export function newRunId(): string {
  return Date.now().toString(16).padStart(12, "0") + randomBytes(10).toString("hex");
}

/** An id that sorts after every run id made up to `ms` (by newRunId) and before every later one. */
export function runIdAfter(ms: number): string {
  return (Math.floor(ms) + 1).toString(16).padStart(12, "0") + "0".repeat(20);
}
