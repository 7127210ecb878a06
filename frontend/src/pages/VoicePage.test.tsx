// The "My voice" page's states as markup: a plan without voice cloning, the list with pending, passed
// and rejected samples, delete's confirmation, an API refusal in words, and the consent required before
// upload. (The page's effects, recording and polling are in ../voice/*.test.ts and the browser test
// tests/e2e/test_browser_voice.py.)
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";

import { ApiClient } from "../api/client";
import { apiErrorFrom } from "../api/errors";
import { ApiContext } from "../api/instance";
import type { Features, Limits, Me, Tier } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { sample } from "../voice/testSamples";
import type { Clip } from "../voice/sampleRules";
import { CONSENT_TEXT, SampleList, UploadSection, VoiceLocked, VoicePage, microphoneError, transitions } from "./VoicePage";

const limits: Limits = {
  concurrent_rooms: 1,
  participants_per_room: 4,
  room_minutes: 40,
  history_days: 7,
  requests_per_hour: 100,
  voice_samples: 0,
  vocabulary_terms: 0,
};
const features = (voice_clone: boolean): Features => ({ quick_audio: true, voice_clone, diarization: false, document_context: false });
const tier = (name: string, voice_clone: boolean): Tier => ({ name, rank: 0, custom: false, limits, features: features(voice_clone) });

function me(tierName: string, voiceClone: boolean): Me {
  return {
    user: {
      id: "u1",
      email: "ana@example.test",
      display_name: "Ana",
      role: "user",
      tier_name: tierName,
      organisation_id: null,
      disabled: false,
      created_at: "2026-12-01T00:00:00Z",
      limit_overrides: {},
    },
    effective: { tier: tierName, limits, features: features(voiceClone) },
    usage: { open_rooms: 0, voice_samples: 0, vocabulary_terms: 0 },
  } as Me;
}

const page = (account: Me) =>
  renderToStaticMarkup(
    <ApiContext.Provider value={new ApiClient({ fetch: () => new Promise<Response>(() => undefined) })}>
      <VoicePage me={account} onMeChanged={() => undefined} />
    </ApiContext.Provider>,
  );

const noop = () => undefined;
const listProps = {
  languageName: (code: string) => ({ en: "English", es: "Spanish" })[code] ?? code,
  confirming: null,
  deleting: null,
  pollingStopped: false,
  onRefresh: noop,
  onAskDelete: noop,
  onConfirmDelete: noop,
  onCancelDelete: noop,
};
const clip: Clip = { blob: new Blob(["x"], { type: "audio/webm" }), source: "recording", fileName: null, durationS: 12.5, url: "blob:x" };
const uploadProps = {
  clip,
  name: "Calm",
  language: "en",
  languages: [{ code: "en", name: "English" }],
  busy: false,
  onName: noop,
  onLanguage: noop,
  onConsent: noop,
  onSubmit: noop,
};

describe("VoicePage", () => {
  it("shows a free plan what the feature is and that its plan lacks it, without the form", () => {
    const html = page(me("free", false));
    expect(html).toContain('data-testid="voice-page"');
    expect(html).toContain('data-allowed="false"');
    expect(html).toContain('data-testid="voice-locked"');
    expect(html).toContain("Voice cloning is not part of the <strong>free</strong> plan.");
    expect(html).toContain("in <em>your</em> voice");
    expect(html).not.toContain('data-testid="voice-record-start"');
    expect(html).not.toContain('data-testid="voice-upload"');
  });

  it("names the plans that include it", () => {
    const html = renderToStaticMarkup(
      <VoiceLocked tier="free" tiers={[tier("free", false), tier("premium", true), tier("pro", true)]} />,
    );
    expect(html).toContain("It is included in: premium, pro.");
  });

  it("offers a premium plan recording, a file, the consent box and the list, with a polite live region", () => {
    const html = page(me("premium", true));
    expect(html).toContain('data-allowed="true"');
    expect(html).not.toContain('data-testid="voice-locked"');
    expect(html).toContain(">Start recording</button>");
    expect(html).toContain('type="file"');
    expect(html).toContain("for 10–30 seconds");
    expect(html).toContain("WAV, FLAC, Ogg, MP3 or WebM, up to 20 MB");
    expect(html).toContain(CONSENT_TEXT);
    expect(html).toMatch(/<p role="status" aria-live="polite" class="visually-hidden" data-testid="voice-announce">/);
    expect(html).toMatch(/data-testid="voice-upload" disabled=""/);
    expect(html).toContain("Record a sample or choose an audio file first.");
  });
});

describe("consent before upload", () => {
  it("keeps the upload disabled, saying why, until the box is ticked", () => {
    const html = renderToStaticMarkup(<UploadSection {...uploadProps} consent={false} />);
    expect(html).toMatch(/<input type="checkbox" data-testid="voice-consent" required=""\/>/);
    expect(html).toMatch(/data-testid="voice-upload" disabled="" aria-describedby="voice-upload-blocker"/);
    expect(html).toContain("Tick the consent box to upload.");
  });

  it("enables the upload once ticked", () => {
    const html = renderToStaticMarkup(<UploadSection {...uploadProps} consent />);
    expect(html).toMatch(/<input type="checkbox" data-testid="voice-consent" required="" checked=""\/>/);
    expect(html).toMatch(/<button type="submit" class="primary" data-testid="voice-upload">Upload sample<\/button>/);
    expect(html).not.toContain('data-testid="voice-upload-blocker"');
  });
});

describe("SampleList", () => {
  const samples = [
    sample({ id: "a", name: "Pending one" }),
    sample({ id: "b", name: "Good one", speaker_check: "passed", speaker_similarity: 0.93, expires_at: "2027-01-05T10:00:00Z" }),
    sample({ id: "c", name: "Two voices", language: "es", speaker_check: "failed", speaker_similarity: 0.44 }),
  ];

  it("lists each sample with its language, length and check", () => {
    const html = renderToStaticMarkup(<SampleList {...listProps} samples={samples} />);
    expect(html.match(/data-testid="voice-sample"/g)).toHaveLength(3);
    expect(html).toContain('data-sample-id="a" data-status="pending"');
    expect(html).toContain('data-sample-id="b" data-status="passed"');
    expect(html).toContain('data-sample-id="c" data-status="failed"');
    expect(html).toContain("English · 12.3 s");
    expect(html).toContain("Spanish · 12.3 s");
    expect(html).toContain("kept until");
    expect(html).toContain('<span class="badge">Pending check</span> Checking that one person speaks…');
    expect(html).toContain('<span class="badge">OK</span> Ready');
    expect(html).toContain('<span class="badge">Rejected</span> Rejected: the two halves do not sound like one speaker (similarity 0.44)');
    expect(html).toContain('Delete<span class="visually-hidden"> Two voices</span>');
  });

  it("asks before deleting", () => {
    const html = renderToStaticMarkup(<SampleList {...listProps} samples={samples} confirming="c" />);
    expect(html).toContain('role="group" aria-label="Delete Two voices?"');
    expect(html).toContain("Delete “Two voices” for good?");
    expect(html).toContain('data-testid="voice-sample-delete-confirm">Yes, delete</button>');
    expect(html.match(/data-testid="voice-sample-delete"/g)).toHaveLength(2);
  });

  it("says when it stopped polling a pending check, and when there is nothing", () => {
    expect(renderToStaticMarkup(<SampleList {...listProps} samples={samples} pollingStopped />)).toContain('data-testid="voice-poll-stopped"');
    expect(renderToStaticMarkup(<SampleList {...listProps} samples={[]} />)).toContain("No voice samples yet.");
  });

  it("announces checks that finished between two answers", () => {
    const before = [sample({ id: "a", name: "A" }), sample({ id: "c", name: "C" }), sample({ id: "d", speaker_check: "passed" })];
    const after = [
      sample({ id: "a", name: "A", speaker_check: "passed" }),
      sample({ id: "c", name: "C", speaker_check: "failed", speaker_similarity: 0.5 }),
      sample({ id: "d", speaker_check: "passed" }),
      sample({ id: "e", speaker_check: "passed" }),
    ];
    expect(transitions(before, after)).toEqual([
      "“A” passed the check: it is ready.",
      expect.stringMatching(/^“C” was rejected: Rejected: the two halves/),
    ]);
    expect(transitions(null, after)).toEqual([]);
  });
});

describe("errors in words", () => {
  const body = (status: number, reason: string, detail: string) =>
    apiErrorFrom(status, "", { error: "voice_sample_refused", reason, detail, errors: [{ loc: ["body"], msg: detail, type: reason }] }, null);

  it("shows a refused sample's reason", () => {
    const html = renderToStaticMarkup(<ErrorNotice error={body(422, "too_short", "4.2 s of audio: a voice sample needs 10-30 s")} />);
    expect(html).toContain('data-status="422" data-code="voice_sample_refused"');
    expect(html).toContain("<p>4.2 s of audio: a voice sample needs 10-30 s.</p>");
    expect(renderToStaticMarkup(<ErrorNotice error={body(415, "not_audio", "not a readable audio file (WAV, FLAC, Ogg, MP3 or WebM)")} />)).toContain(
      "not a readable audio file",
    );
    expect(renderToStaticMarkup(<ErrorNotice error={body(413, "too_large", "the file is larger than 20 MB")} />)).toContain(
      "the file is larger than 20 MB.",
    );
  });

  it("shows the tier limit", () => {
    const limit = apiErrorFrom(
      403,
      "",
      { error: "tier_limit", detail: "voice samples limit reached", limit: "voice_samples", allowed: 5, current: 5, tier: "premium", reset_hint: "when you delete a voice sample" },
      null,
    );
    const html = renderToStaticMarkup(<ErrorNotice error={limit} />);
    expect(html).toContain("Your plan&#x27;s limit is reached");
    expect(html).toContain("Limit reached: voice_samples (premium tier): 5, 5 in use.");
    expect(html).toContain("When you delete a voice sample.");
  });

  it("says why the microphone could not be had", () => {
    expect(microphoneError(new DOMException("denied", "NotAllowedError")).message).toMatch(/did not allow the microphone/);
    expect(microphoneError(new DOMException("none", "NotFoundError")).message).toMatch(/No microphone was found/);
  });
});
