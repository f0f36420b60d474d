import { PostgresStore } from "../../server/src/store/postgres/store.js";
import { createPostgresDatabase, describePostgres } from "../support/postgres.js";
import { storeContract } from "./contract/index.js";

describePostgres("PostgreSQL", () => {
  storeContract({
    name: "PostgreSQL",
    drains: true,
    create: async () => {
      const db = await createPostgresDatabase();
      return { open: () => PostgresStore.open(db.url), drop: db.drop };
    },
  });
});
