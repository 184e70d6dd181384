import { describe, expect, it } from 'vitest';

import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, backoffDelay } from './backoff';

describe('reconnect backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    const mid = () => 0.5; // factor 0.75
    expect(backoffDelay(0, mid)).toBe(RECONNECT_BASE_MS * 0.75);
    expect(backoffDelay(1, mid)).toBe(RECONNECT_BASE_MS * 2 * 0.75);
    expect(backoffDelay(3, mid)).toBe(RECONNECT_BASE_MS * 8 * 0.75);
    expect(backoffDelay(10, mid)).toBe(RECONNECT_MAX_MS * 0.75);
    expect(backoffDelay(1000, mid)).toBe(RECONNECT_MAX_MS * 0.75);
  });

  it('jitters between half and all of the delay', () => {
    for (let a = 0; a < 8; a++) {
      const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** a);
      expect(backoffDelay(a, () => 0)).toBe(cap / 2);
      expect(backoffDelay(a, () => 0.999999)).toBeLessThanOrEqual(cap);
      expect(backoffDelay(a, () => 0.999999)).toBeGreaterThan(cap * 0.99);
    }
  });
});
