/** One atomic operation of the Redis store: a Lua body run after the shared prelude (lib.ts). */
export interface Script {
  /** The command's name on the client (ioredis `defineCommand`). */
  readonly name: string;
  /** Lua: reads `p` (the payload) and the prelude's helpers, returns a reply. */
  readonly body: string;
}
