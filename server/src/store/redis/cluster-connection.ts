/**
 * The ioredis client of a Redis Cluster store (cluster.ts): connected at once, following the
 * cluster's topology as it changes (MOVED and ASK redirections, a failover to a replica).
 */
import { Cluster } from "ioredis";
import type { ClusterConnection } from "../../config/store-url.js";

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
