/**
 * Suites about several nodes on one database run on each store that several nodes can share:
 * MariaDB and PostgreSQL (the SQLite store serves one node by design). Each variant gets a fresh
 * database of its own, and a way to read it that the suite's assertions use (queries written in
 * MySQL's quoting, with backticks, which PostgreSQL reads with double quotes).
 */
import mysql from "mysql2/promise";
import pg from "pg";
import { createTestDatabase, describeMysql } from "./mysql.js";
import { createPostgresDatabase, describePostgres } from "./postgres.js";

export interface SharedTestDatabase {
  readonly store: "mysql" | "postgres";
  readonly url: string;
  /** The rows of a query (numbers may come back as strings: read them with Number). */
  rows<T>(sql: string): Promise<T[]>;
  /** Closes the query connection and drops the database. */
  drop(): Promise<void>;
}

async function mysqlDatabase(prefix?: string): Promise<SharedTestDatabase> {
  const db = await createTestDatabase(prefix);
  let conn: mysql.Connection | undefined;
  return {
    store: "mysql",
    url: db.url,
    rows: async <T>(sql: string) => {
      conn ??= await mysql.createConnection({ uri: db.url });
      const [found] = await conn.query(sql);
      return found as T[];
    },
    drop: async () => {
      await conn?.end();
      await db.drop();
    },
  };
}

async function postgresDatabase(prefix?: string): Promise<SharedTestDatabase> {
  const db = await createPostgresDatabase(prefix);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  pool.on("error", () => undefined);
  return {
    store: "postgres",
    url: db.url,
    rows: async <T>(text: string) => (await pool.query(text.replaceAll("`", '"'))).rows as T[],
    drop: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

/**
 * The suite `body` once per shared store: `<name> on MariaDB` and `<name> on PostgreSQL`, each
 * skipped with a line saying so where its server does not answer (failing under CI=true). `body`
 * creates its database with the function it is given (a name prefix optional).
 */
export function describeEachSharedStore(
  name: string,
  body: (createDatabase: (prefix?: string) => Promise<SharedTestDatabase>) => void,
): void {
  describeMysql(`${name} on MariaDB`, () => {
    body(mysqlDatabase);
  });
  describePostgres(`${name} on PostgreSQL`, () => {
    body(postgresDatabase);
  });
}
