import { MysqlStore } from "../../server/src/store/mysql/store.js";
import { createTestDatabase, describeMysql } from "../support/mysql.js";
import { storeSuite } from "./store-suite.js";

describeMysql("MySQL", () => {
  storeSuite("MySQL", async () => {
    const db = await createTestDatabase();
    return { store: MysqlStore.open(db.url), cleanup: db.drop };
  });
});
