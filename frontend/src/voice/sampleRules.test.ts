// What the page asks before an upload and how it words a sample's check.
import { describe, expect, it } from "vitest";

import { hasPending, statusText, uploadBlocker, type Clip } from "./sampleRules";
import { sample } from "./testSamples";

const clip = (durationS: number | null, size = 1000): Clip => ({
  blob: new Blob([new Uint8Array(size)], { type: "audio/webm" }),
  source: "recording",
  fileName: null,
  durationS,
  url: "blob:x",
});

describe("uploadBlocker", () => {
  const ready = { clip: clip(12), name: "Calm", language: "en", consent: true };

  it("lets a complete form through", () => {
    expect(uploadBlocker(ready)).toBeNull();
  });

  it("requires the consent box", () => {
    expect(uploadBlocker({ ...ready, consent: false })).toBe("Tick the consent box to upload.");
  });

  it("requires a clip, a name and a language", () => {
    expect(uploadBlocker({ ...ready, clip: null })).toMatch(/Record a sample or choose an audio file/);
    expect(uploadBlocker({ ...ready, name: "  " })).toBe("Give the sample a name.");
    expect(uploadBlocker({ ...ready, language: null })).toMatch(/Choose the language/);
  });

  it("refuses a known length outside 10-30 s and a file over 20 MB, but lets an unknown length through", () => {
    expect(uploadBlocker({ ...ready, clip: clip(4.2) })).toBe("The sample is 4.2 s long: it needs at least 10 s.");
    expect(uploadBlocker({ ...ready, clip: clip(31) })).toBe("The sample is 31.0 s long: it may be at most 30 s.");
    expect(uploadBlocker({ ...ready, clip: clip(30.2) })).toBeNull(); // the recorder stops a little after 30 s
    expect(uploadBlocker({ ...ready, clip: clip(null) })).toBeNull(); // the server measures it
    expect(uploadBlocker({ ...ready, clip: clip(12, 21 * 2 ** 20) })).toBe("The file is larger than 20 MB.");
  });
});

describe("statusText", () => {
  it("words each check", () => {
    expect(statusText(sample())).toMatch(/^Checking/);
    expect(statusText(sample({ speaker_check: "passed", speaker_similarity: 0.9 }))).toMatch(/^Ready/);
    expect(statusText(sample({ speaker_check: "failed", speaker_similarity: 0.44 }))).toBe(
      "Rejected: the two halves do not sound like one speaker (similarity 0.44). It is not used; delete it and record again alone.",
    );
  });
});

describe("polling", () => {
  it("polls only while a sample is pending", () => {
    expect(hasPending(null)).toBe(false);
    expect(hasPending([sample({ speaker_check: "passed" })])).toBe(false);
    expect(hasPending([sample({ speaker_check: "passed" }), sample({ id: "s2" })])).toBe(true);
  });
});
