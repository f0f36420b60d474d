import { RedisStore } from "../../server/src/store/redis/store.js";
import { createRedisStore, describeRedis } from "../support/redis.js";
import { storeContract } from "./contract/index.js";

describeRedis("Redis", () => {
  storeContract({
    name: "Redis",
    create: async () => {
      const db = await createRedisStore();
      return { open: () => RedisStore.open(db.url), drop: db.drop };
    },
  });
});
