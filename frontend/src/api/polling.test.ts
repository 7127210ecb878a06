import { describe, expect, it } from "vitest";

import { pollDelayMs } from "./polling";

describe("pollDelayMs", () => {
  it("asks less and less often, then stops", () => {
    expect(pollDelayMs(0)).toBe(3000);
    expect(pollDelayMs(1)).toBe(4500);
    expect(pollDelayMs(10)).toBe(30_000);
    expect(pollDelayMs(30)).toBeNull();
    let total = 0;
    for (let n = 0; pollDelayMs(n) !== null; n++) total += pollDelayMs(n)!;
    expect(total / 60_000).toBeGreaterThan(10); // beyond the server's requeue of a lost job (10 min)
    expect(total / 60_000).toBeLessThan(15);
  });
});
