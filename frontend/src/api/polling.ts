import { useEffect, useState } from "react";

/** How long to wait before asking a list again while one of its items is pending a server-side job (a voice
 * sample's one-speaker check, a document's indexing), in ms: 3 s, growing by half each time up to 30 s, so
 * that a job that takes minutes costs few of the plan's requests per hour. null from ``attempt`` 30 (about
 * 13 min: the server queues a job lost with its broker again after 10 min, jobs/requeue.py): stop, and let the
 * user refresh. */
export function pollDelayMs(attempt: number): number | null {
  if (attempt >= 30) return null;
  return Math.min(30_000, 3_000 * 1.5 ** attempt);
}

/** While ``pending``, call ``reload`` after each of :func:`pollDelayMs`'s delays in turn (a new ``reload``,
 * e.g. after the list changed, starts the current delay again). ``stopped``: the schedule gave up while still
 * pending; ``restart()`` starts it from the first delay (after an upload, or the user's Refresh). The schedule
 * starts afresh each time ``pending`` becomes true. */
export function usePollWhilePending(
  pending: boolean,
  reload: () => Promise<unknown>,
): { stopped: boolean; restart: () => void } {
  const [attempt, setAttempt] = useState(0);
  const [wasPending, setWasPending] = useState(pending);
  if (pending !== wasPending) {
    // adjusted while rendering (react.dev, "You might not need an effect"), not in an effect
    setWasPending(pending);
    if (pending) setAttempt(0);
  }
  const delay = pending ? pollDelayMs(attempt) : null;
  useEffect(() => {
    if (delay === null) return;
    const timer = setTimeout(() => void reload().finally(() => setAttempt((n) => n + 1)), delay);
    return () => clearTimeout(timer);
  }, [delay, attempt, reload]);
  return { stopped: pending && delay === null, restart: () => setAttempt(0) };
}
