/**
 * Limits on one HTTP/2 session beyond what Node's own options give (those are set in
 * listen.ts: concurrent streams, invalid frames, rejected streams):
 *
 * - a session must open its first stream within the headers timeout (a cut preface or a first
 *   frame that never completes opens none), and a session with no open stream for the idle
 *   timeout is closed with a GOAWAY (clients reconnect on their next call);
 * - a session whose peer resets more than `maxResets` streams within `RESET_WINDOW_MS` (the
 *   rapid-reset attack, CVE-2023-44487) is destroyed at once with a GOAWAY of
 *   ENHANCE_YOUR_CALM, so the work it makes stops before it costs other sessions anything.
 *
 * Long-lived streams (worker sessions, event subscriptions) keep their session open however
 * quiet they are: only a session with no stream at all is idle.
 */
import http2 from "node:http2";

export interface SessionLimits {
  /** Time for a new session to open its first stream. */
  readonly headersTimeoutMs: number;
  /** Time a session may stay without any open stream. */
  readonly idleTimeoutMs: number;
  /** Streams the peer may reset within RESET_WINDOW_MS. */
  readonly maxResets: number;
}

/** The window `maxResets` counts in. */
export const RESET_WINDOW_MS = 10_000;
/** How long a closing session's peer gets to read the GOAWAY before the socket is destroyed. */
const CLOSE_GRACE_MS = 1_000;

const { NGHTTP2_NO_ERROR, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export function guardSession(session: http2.ServerHttp2Session, limits: SessionLimits): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  let resets = 0;
  let windowStart = performance.now();

  const clear = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const closeIdle = (): void => {
    timer = undefined;
    if (session.destroyed || session.closed) return;
    session.close();
    // A peer that does not read keeps a graceful close from finishing.
    setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, CLOSE_GRACE_MS).unref();
  };
  const arm = (ms: number): void => {
    clear();
    timer = setTimeout(closeIdle, ms);
    timer.unref();
  };

  arm(limits.headersTimeoutMs);
  session.on("stream", (stream) => {
    open++;
    clear();
    stream.on("close", () => {
      open--;
      if (stream.rstCode !== NGHTTP2_NO_ERROR) {
        const now = performance.now();
        if (now - windowStart > RESET_WINDOW_MS) {
          windowStart = now;
          resets = 0;
        }
        resets++;
        if (resets > limits.maxResets && !session.destroyed) {
          clear();
          session.destroy(new Error("too many stream resets"), NGHTTP2_ENHANCE_YOUR_CALM);
          return;
        }
      }
      if (open === 0 && !session.destroyed && !session.closed) arm(limits.idleTimeoutMs);
    });
  });
  session.on("close", clear);
}
