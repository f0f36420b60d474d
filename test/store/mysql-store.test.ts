import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { storeContract } from "./contract/index.js";

describeMysql("MySQL", () => {
  storeContract({
    name: "MySQL",
    drains: true,
    create: async () => {
      const db = await createTestDatabase();
      return { open: () => MysqlStore.open(db.url), drop: db.drop };
    },
  });
});
