// What the gateway's WebSocket close codes mean to the caption socket (docs/asyncapi.yaml,
// x-close-codes) and what it does about each:
// - "stop": do not reconnect (4400 bad query, 4403 not admitted or a foreign origin, 4409 replaced by a
//   newer connection, 4410 room closed);
// - "refresh": refresh the access token, then reconnect (4401);
// - "later": the server asks to come back later (1013 a dependency is down or the socket fell behind;
//   4429 too many sockets open): reconnect with a longer backoff, from `firstDelayMs`;
// - "retry": anything else (network drop 1006, 1011, a restart): reconnect with the usual backoff.

export type ClosePolicy = "stop" | "refresh" | "later" | "retry";

interface CloseCode {
  policy: ClosePolicy;
  /** What the user is told. */
  message: string;
  /** First wait before reconnecting ("later"), doubling each failed try up to `maxDelayMs`. */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export const CLOSE_CODES: Record<number, CloseCode> = {
  1013: {
    policy: "later",
    message: "The server is busy or one of its services is down; captions resume by themselves",
    firstDelayMs: 2_000,
    maxDelayMs: 30_000,
  },
  4400: { policy: "stop", message: "The caption request was refused" },
  4401: { policy: "refresh", message: "Your sign-in expired" },
  4403: { policy: "stop", message: "You are no longer in this room" },
  4409: { policy: "stop", message: "A newer connection (another tab or device) took over" },
  4410: { policy: "stop", message: "The room has closed" },
  4429: {
    policy: "later",
    message: "Too many caption connections are open (close other tabs of this call)",
    firstDelayMs: 5_000,
    maxDelayMs: 60_000,
  },
};

export function closePolicy(code: number): ClosePolicy {
  return CLOSE_CODES[code]?.policy ?? "retry";
}

/** The user's sentence for a close: the code's meaning, with the server's reason when it gave one. */
export function describeClose(code: number | null, reason: string | null): string {
  const known = code === null ? undefined : CLOSE_CODES[code]?.message;
  if (known && reason) return `${known} (${reason}).`;
  if (known) return `${known}.`;
  return reason ? `Disconnected (${reason}).` : "Disconnected.";
}
