import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase, describeMysql } from "../support/mysql.js";

describeMysql("a test file's own MySQL database", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let other: Awaited<ReturnType<typeof createTestDatabase>>;

  beforeAll(async () => {
    db = await createTestDatabase();
    other = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
    await other.drop();
  });

  it("is empty, isolated from other files' databases, and dropped afterwards", async () => {
    expect(db.name).not.toBe(other.name);
    const conn = await mysql.createConnection({ uri: db.url });
    try {
      const [tables] = await conn.query("SHOW TABLES");
      expect(tables).toEqual([]);
      await conn.query("CREATE TABLE t (id INT PRIMARY KEY)");
      await conn.query("INSERT INTO t VALUES (1)");
      const [rows] = await conn
        .query(`SELECT COUNT(*) AS n FROM \`${other.name}\`.t`)
        .catch((err: unknown) => [err]);
      expect(String(rows)).toMatch(/doesn't exist/);
    } finally {
      await conn.end();
    }
    await other.drop();
    const admin = await mysql.createConnection({ uri: db.url });
    try {
      const [dbs] = await admin.query("SHOW DATABASES LIKE ?", [other.name]);
      expect(dbs).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
