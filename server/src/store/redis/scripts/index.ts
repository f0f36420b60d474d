/** Every script of the Redis store (one atomic operation each), for `defineCommand`. */
import { APPEND_EVENTS } from "./append-events.js";
import { CANCEL_PENDING_RUNS } from "./cancel-pending-runs.js";
import { CLAIM_DUE_JOBS } from "./claim-due-jobs.js";
import { CREATE_MANUAL_RUN } from "./create-manual-run.js";
import { DELETE_ALL_JOBS } from "./delete-all-jobs.js";
import { DELETE_JOB } from "./delete-job.js";
import { DELETE_OLD_RUNS } from "./delete-old-runs.js";
import { DELETE_EXPIRED } from "./expire.js";
import { DROP_FENCES } from "./fences.js";
import { EXTEND_LEASES } from "./extend-leases.js";
import { DELETE_EXPIRED_KEYS, RECORD_ANSWER } from "./idempotency.js";
import { INDEX_JOB_IDS } from "./index-job-ids.js";
import { INDEX_PENDING_OF_JOBS } from "./index-pending-of-jobs.js";
import { INSERT_JOBS } from "./insert-job.js";
import { INSERT_KEY } from "./insert-key.js";
import { INSERT_SCHEDULER } from "./insert-scheduler.js";
import { LEASE_RUNS } from "./lease-runs.js";
import { LIST_JOBS } from "./list-jobs.js";
import { NEXT_DUE } from "./next-due.js";
import { RECORD_NODE, REMOVE_NODE } from "./nodes.js";
import { MOVE_EVENTS, PEEK_INBOX, TRIM_INBOX } from "./outbox.js";
import { PRUNE_EVENTS } from "./prune-events.js";
import { PUT_RUNS } from "./put-runs.js";
import { RESERVE_JOBS } from "./reserve-jobs.js";
import { RESERVE_RUNS } from "./reserve-runs.js";
import { REVOKE_KEY } from "./revoke-key.js";
import { SEQUENCE_EVENTS } from "./sequence-events.js";
import { REFRESH_SESSIONS, REGISTER_SESSION, UNREGISTER_SESSION } from "./sessions.js";
import type { Script } from "./script.js";
import { UPDATE_JOB } from "./update-job.js";
import { UPDATE_SCHEDULER } from "./update-scheduler.js";
import { WITHDRAW_PREPARED_RUNS } from "./withdraw-prepared-runs.js";

export type { Script } from "./script.js";

export const SCRIPTS: readonly Script[] = [
  APPEND_EVENTS,
  CANCEL_PENDING_RUNS,
  CLAIM_DUE_JOBS,
  CREATE_MANUAL_RUN,
  DELETE_ALL_JOBS,
  DELETE_JOB,
  DELETE_OLD_RUNS,
  DELETE_EXPIRED,
  DELETE_EXPIRED_KEYS,
  DROP_FENCES,
  EXTEND_LEASES,
  INDEX_JOB_IDS,
  INDEX_PENDING_OF_JOBS,
  INSERT_JOBS,
  INSERT_KEY,
  INSERT_SCHEDULER,
  LEASE_RUNS,
  LIST_JOBS,
  MOVE_EVENTS,
  NEXT_DUE,
  PEEK_INBOX,
  PRUNE_EVENTS,
  PUT_RUNS,
  RECORD_ANSWER,
  RESERVE_JOBS,
  RESERVE_RUNS,
  REVOKE_KEY,
  RECORD_NODE,
  REMOVE_NODE,
  REFRESH_SESSIONS,
  REGISTER_SESSION,
  SEQUENCE_EVENTS,
  TRIM_INBOX,
  UNREGISTER_SESSION,
  UPDATE_JOB,
  UPDATE_SCHEDULER,
  WITHDRAW_PREPARED_RUNS,
];
