/** How long to wait before asking a list again while one of its items is pending a server-side job (a voice
 * sample's one-speaker check, a document's indexing), in ms: 3 s, growing by half each time up to 30 s, so
 * that a job that takes minutes costs few of the plan's requests per hour. null from ``attempt`` 30 (about
 * 13 min: the server queues a job lost with its broker again after 10 min, jobs/requeue.py): stop, and let the
 * user refresh. */
export function pollDelayMs(attempt: number): number | null {
  if (attempt >= 30) return null;
  return Math.min(30_000, 3_000 * 1.5 ** attempt);
}
