import { createContextKey } from "@connectrpc/connect";
import type { Logger } from "../logger.js";

/** The request's logger (a child carrying its request id), set by the request interceptor. */
export const requestLogger = createContextKey<Logger | undefined>(undefined, {
  description: "request logger",
});
