import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "mysql",
  schema: "./server/src/store/mysql/schema.ts",
  out: "./migrations/mysql",
});
