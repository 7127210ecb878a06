// A voice sample as GET /api/voice-samples answers it, for the tests.
import type { VoiceSample } from "../api/types";

export const sample = (over: Partial<VoiceSample> = {}): VoiceSample => ({
  id: "s1",
  name: "Calm",
  language: "en",
  duration_s: 12.3,
  format: "webm",
  speech_dbfs: -20,
  speaker_check: "pending",
  speaker_similarity: null,
  created_at: "2026-12-06T10:00:00Z",
  expires_at: null,
  ...over,
});
