/**
 * API keys and their scopes (docs/security.md), pure: what a scope string means, how a set of
 * scopes answers "may this key do that", and the stored form of a key (never its secret).
 *
 * Scopes: `admin`; `read:<scheduler>`, `write:<scheduler>` (implies read), `events:<scheduler>`,
 * with `*` for every scheduler; `worker:<handler>`, or `worker:<prefix>*` for every handler
 * starting with the prefix.
 */
import { InvalidArgumentError } from "./errors.js";

/** What a key may do to a scheduler. */
export type SchedulerRight = "read" | "write" | "events";

/** A key as stored: its hash and salt, never its secret. */
export interface ApiKeyRecord {
  /** 16 lowercase hex digits, public (in the secret, in logs, as the actor). */
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  /** scrypt of the secret, hex. */
  readonly hash: string;
  /** The per-key salt, hex. */
  readonly salt: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
}

/** The most scopes a key holds. */
export const MAX_SCOPES = 100;

const SCHEDULER_RE = /^(read|write|events):(\*|[A-Za-z0-9._:-]{1,191})$/;
const WORKER_RE = /^worker:([A-Za-z0-9._:/-]{1,191})(\*?)$/;
const WORKER_ANY_RE = /^worker:\*$/;

/** The parsed form of a key's scopes, answering what it may do. */
export class Scopes {
  readonly admin: boolean;
  private readonly schedulers = new Map<SchedulerRight, Set<string>>([
    ["read", new Set()],
    ["write", new Set()],
    ["events", new Set()],
  ]);
  private readonly handlers = new Set<string>();
  private readonly prefixes: string[] = [];

  private constructor(readonly list: readonly string[]) {
    this.admin = list.includes("admin");
    for (const scope of list) {
      const s = SCHEDULER_RE.exec(scope);
      if (s?.[1] && s[2]) {
        this.schedulers.get(s[1] as SchedulerRight)?.add(s[2]);
        continue;
      }
      if (WORKER_ANY_RE.test(scope)) {
        this.prefixes.push("");
        continue;
      }
      const w = WORKER_RE.exec(scope);
      if (w?.[1]) {
        if (w[2] === "*") this.prefixes.push(w[1]);
        else this.handlers.add(w[1]);
      }
    }
  }

  /** Scopes known to be valid (read from the store). Unknown strings grant nothing. */
  static of(list: readonly string[]): Scopes {
    return new Scopes(list);
  }

  /** Everything: the bootstrap tokens, and every caller when the server runs without keys. */
  static readonly ADMIN = new Scopes(["admin"]);

  /** Checks scopes given by a client; `field` names the list in the request. */
  static parse(list: readonly string[], field: string): Scopes {
    if (list.length === 0) throw new InvalidArgumentError(field, "give at least one scope");
    if (list.length > MAX_SCOPES)
      throw new InvalidArgumentError(field, `at most ${String(MAX_SCOPES)} scopes`);
    list.forEach((scope, i) => {
      if (
        scope !== "admin" &&
        !SCHEDULER_RE.test(scope) &&
        !WORKER_RE.test(scope) &&
        !WORKER_ANY_RE.test(scope)
      )
        throw new InvalidArgumentError(
          `${field}[${String(i)}]`,
          `unknown scope ${JSON.stringify(scope.slice(0, 200))}: use admin, read:<scheduler>, write:<scheduler>, events:<scheduler> (<scheduler> may be *), worker:<handler> or worker:<prefix>*`,
        );
    });
    return new Scopes([...new Set(list)]);
  }

  /** Whether the key may `right` the scheduler `name` (write implies read). */
  may(right: SchedulerRight, name: string): boolean {
    if (this.admin) return true;
    const holds = (r: SchedulerRight): boolean => {
      const set = this.schedulers.get(r);
      return set !== undefined && (set.has("*") || set.has(name));
    };
    return holds(right) || (right === "read" && holds("write"));
  }

  /** Whether the key may `right` some scheduler (a list filtered afterwards, a run by id). */
  mayAny(right: SchedulerRight): boolean {
    if (this.admin) return true;
    const some = (r: SchedulerRight): boolean => (this.schedulers.get(r)?.size ?? 0) > 0;
    return some(right) || (right === "read" && some("write"));
  }

  /** Whether a worker session of this key may register `handler`. */
  mayServe(handler: string): boolean {
    if (this.admin || this.handlers.has(handler)) return true;
    return this.prefixes.some((p) => handler.startsWith(p));
  }

  /** Whether the key may open worker sessions at all. */
  get worker(): boolean {
    return this.admin || this.handlers.size > 0 || this.prefixes.length > 0;
  }
}

/** Whether a stored key authenticates at `now`. */
export function keyActive(key: ApiKeyRecord, now: number): boolean {
  return key.revokedAt === null && (key.expiresAt === null || key.expiresAt > now);
}

/** The actor of the n-th (from 1) token of METRONOME_AUTH_TOKENS. */
export const envActor = (n: number): string => `env:${String(n)}`;

/** The actor of every call when the server runs without tokens. */
export const ANONYMOUS = "anonymous";
