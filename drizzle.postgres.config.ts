import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./server/src/store/postgres/schema.ts",
  out: "./migrations/postgres",
});
