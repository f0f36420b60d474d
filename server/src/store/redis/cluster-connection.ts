/**
 * The ioredis client of a Redis Cluster store (cluster.ts): connected at once, following the
 * cluster's topology as it changes (MOVED and ASK redirections, a failover to a replica).
 *
 * A command never outlives its connection, as on one server (store.ts, `open`): the client keeps
 * no queue of commands for when the cluster is back (`enableOfflineQueue: false`; it would send
 * them whenever that is, a write its caller was told had failed included). A store call made
 * while the client is not connected waits for it (`clusterReady`) and fails, as a lost
 * connection, when an attempt to connect does; one made once its call's deadline passed is not
 * sent at all (db.ts, `call`).
 */
import { Cluster } from "ioredis";
import type { ClusterConnection } from "../../config/store-url.js";

/** The message of a connection lost or not made (store/errors.ts: UNAVAILABLE). */
const NOT_CONNECTED = "Connection is closed.";

export function connectCluster(connection: ClusterConnection): Cluster {
  const cluster = new Cluster([...connection.nodes], {
    redisOptions: {
      ...(connection.username === undefined ? {} : { username: connection.username }),
      ...(connection.password === undefined ? {} : { password: connection.password }),
      ...(connection.tls ? { tls: {} } : {}),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 5000,
    },
    enableOfflineQueue: false,
    clusterRetryStrategy: (times) => Math.min(times * 100, 1000),
    // A command that meets a shard in failover is sent again once the cluster has a new
    // master for its slot, within this many redirections.
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
  });
  cluster.on("error", () => undefined);
  return cluster;
}

/**
 * Null when the client is connected; else a promise that resolves once it is, and rejects when
 * the attempt to connect under way (or the next one) fails, or the client is closed.
 */
export function clusterReady(cluster: Cluster): Promise<void> | null {
  if (cluster.status === "ready") return null;
  if (cluster.status === "end") return Promise.reject(new Error(NOT_CONNECTED));
  return new Promise<void>((resolve, reject) => {
    const ready = () => {
      off();
      resolve();
    };
    const failed = () => {
      off();
      reject(new Error(NOT_CONNECTED));
    };
    const off = () => {
      cluster.off("ready", ready);
      cluster.off("reconnecting", failed);
      cluster.off("end", failed);
    };
    cluster.once("ready", ready);
    // "reconnecting": an attempt failed (the next comes after clusterRetryStrategy's pause).
    cluster.once("reconnecting", failed);
    cluster.once("end", failed);
  });
}
