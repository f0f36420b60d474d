/**
 * Test support for suites that run on Redis: each test file (or contract suite) gets a key
 * prefix of its own on the test server (`createRedisStore`), its keys deleted afterwards. When
 * Redis is unreachable such a suite is skipped locally with a line saying what it needs
 * (test/support/requirements.ts), but under CI=true it fails: CI must never pass by skipping.
 */
import { Redis } from "ioredis";
import { REDIS_URL } from "./database.js";
import { describeIf, requireUnderCi, type Requirement } from "./requirements.js";

export { REDIS_URL, createRedisStore } from "./database.js";

/** Whether the test Redis server answers. */
async function redisReachable(): Promise<boolean> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function server(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export const REDIS: Requirement = {
  met: await redisReachable(),
  needs: `needs Redis 7 at ${server(REDIS_URL)} (set METRONOME_TEST_REDIS_URL, or start Redis: redis-server --daemonize yes)`,
};
requireUnderCi(REDIS);

/** `describe` for a suite that needs Redis: skipped with a line saying so, except under CI=true. */
export function describeRedis(name: string, body: () => void): void {
  describeIf(REDIS, name, body);
}
