// Reconnection delays: exponential with jitter, capped, so a hundred tablets coming back
// into Wi-Fi range at once do not all knock at the same moment.

/** The first retry waits about this long. */
export const RECONNECT_BASE_MS = 1_000;
/** No retry waits longer than this. */
export const RECONNECT_MAX_MS = 30_000;

/**
 * The delay before reconnect attempt `attempt` (0 = the first retry): base·2^attempt,
 * capped at the max, then scaled by a random factor in [0.5, 1).
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(exp * (0.5 + random() / 2));
}
