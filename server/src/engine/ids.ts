import { randomFillSync } from "node:crypto";

/**
 * Run ids: 32 hex digits, the creation time in milliseconds first, then 80 random bits. Ids in
 * creation order keep the clustered primary key's inserts at its end (random UUIDs scatter them
 * over the whole table), and they sort by age.
 */
export function newRunId(): string {
  return Date.now().toString(16).padStart(12, "0") + randomHex();
}

/** Random bytes drawn ahead, 10 per id: one call to the system's generator per 409 ids. */
const pool = Buffer.alloc(4090);
let used = pool.length;

/** 80 random bits as 20 hex digits. */
function randomHex(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 10;
  return pool.toString("hex", used - 10, used);
}

/** An id that sorts after every run id made up to `ms` (by newRunId) and before every later one. */
export function runIdAfter(ms: number): string {
  return (Math.floor(ms) + 1).toString(16).padStart(12, "0") + "0".repeat(20);
}
