// "My voice": the reference recordings a premium user's translations are spoken in (the cloned voice,
// docs/voice-cloning.md). Record a sample in the browser (or choose a file), listen to it, consent, upload
// it; then the list of samples with their one-speaker check (pending → passed or failed), polled while one
// is pending, and delete. A plan without the tier's `voice_clone` feature sees what it is and which plans
// have it instead of the form (and its old samples, if any, to delete).
import { useCallback, useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";

import { usePollWhilePending } from "../api/polling";
import { useApi } from "../api/instance";
import type { Me, Tier, VoiceSample } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { useLanguageChoice } from "../languageChoice";
import type { Language } from "../languages";
import { VoiceRecorder } from "../voice/recorder";
import {
  ACCEPT,
  ACCEPTED_FORMATS,
  MAX_BYTES,
  MAX_S,
  MIN_S,
  STATUS_LABEL,
  formatSeconds,
  hasPending,
  statusText,
  uploadBlocker,
  type Clip,
} from "../voice/sampleRules";

interface Props {
  me: Me;
  onMeChanged: () => void;
}

export const CONSENT_TEXT = "This is my own voice, and I agree that it is used to synthesise my translated speech.";

/** Sentences for the live region: what changed between two answers of the list (checks that finished). */
export function transitions(before: VoiceSample[] | null, after: VoiceSample[]): string[] {
  const was = new Map((before ?? []).map((s) => [s.id, s.speaker_check]));
  return after
    .filter((s) => was.get(s.id) === "pending" && s.speaker_check !== "pending")
    .map((s) => (s.speaker_check === "passed" ? `“${s.name}” passed the check: it is ready.` : `“${s.name}” was rejected: ${statusText(s)}`));
}

/** Why the microphone could not be had, for people. */
export function microphoneError(error: unknown): Error {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError")
    return new Error("The browser did not allow the microphone. Allow it for this site (the icon in the address bar), or choose an audio file instead.");
  if (name === "NotFoundError") return new Error("No microphone was found. Connect one, or choose an audio file instead.");
  if (typeof MediaRecorder === "undefined") return new Error("This browser cannot record audio. Choose an audio file instead.");
  return new Error(`The microphone could not be started (${error instanceof Error ? error.message : String(error)}).`);
}

/** The feature explained, for a plan without it. */
export function VoiceLocked({ tier, tiers }: { tier: string; tiers: Tier[] }) {
  const withIt = tiers.filter((t) => t.features.voice_clone).map((t) => t.name);
  return (
    <section className="card" aria-labelledby="voice-locked-title" data-testid="voice-locked">
      <h2 id="voice-locked-title">Not included in your plan</h2>
      <p>
        Voice cloning is not part of the <strong>{tier}</strong> plan.
        {withIt.length > 0 && <> It is included in: {withIt.join(", ")}.</>}
      </p>
      <p className="muted">Your translations are still spoken in the standard voice when listeners ask for audio.</p>
    </section>
  );
}

interface RecordingState {
  elapsedS: number;
  level: number;
}

interface ClipSectionProps {
  recording: RecordingState | null;
  clip: Clip | null;
  onStart: () => void;
  onStop: () => void;
  onFile: (event: ChangeEvent<HTMLInputElement>) => void;
  onDiscard: () => void;
}

/** Record (elapsed time, level meter, stop) or choose a file; then listen to it. */
export function ClipSection({ recording, clip, onStart, onStop, onFile, onDiscard }: ClipSectionProps) {
  return (
    <section className="card" aria-labelledby="voice-clip-title" data-testid="voice-clip">
      <h2 id="voice-clip-title">1. Record or choose a sample</h2>
      <p className="muted">
        Speak alone, in a quiet room, for {MIN_S}–{MAX_S} seconds (at least 5 s of speech; recording stops at {MAX_S} s). A file
        may be {ACCEPTED_FORMATS}, up to {MAX_BYTES / 2 ** 20} MB.
      </p>
      <div className="inline-form">
        {recording ? (
          <>
            <button type="button" className="danger" data-testid="voice-record-stop" onClick={onStop}>
              Stop recording
            </button>
            <span data-testid="voice-elapsed" data-seconds={recording.elapsedS.toFixed(1)}>
              Recording: {formatSeconds(recording.elapsedS)} of {MAX_S} s
            </span>
            <label className="inline">
              Input level
              <meter data-testid="voice-level" min={0} max={1} low={0.35} high={0.95} optimum={0.7} value={recording.level} />
            </label>
          </>
        ) : (
          <>
            <button type="button" className="primary" data-testid="voice-record-start" onClick={onStart}>
              {clip ? "Record again" : "Start recording"}
            </button>
            <label className="inline">
              or choose a file
              <input type="file" accept={ACCEPT} data-testid="voice-file" onChange={onFile} />
            </label>
          </>
        )}
      </div>
      {clip && !recording && (
        <div className="voice-clip" data-testid="voice-clip-ready" data-source={clip.source}>
          <p>
            {clip.source === "recording" ? "Your recording" : `File “${clip.fileName}”`}
            {clip.durationS !== null && <>: {formatSeconds(clip.durationS)}</>}. Listen to it before you upload it.
          </p>
          <audio controls src={clip.url} data-testid="voice-playback" aria-label="Play the sample" />
          <button type="button" className="secondary" data-testid="voice-discard" onClick={onDiscard}>
            Discard
          </button>
        </div>
      )}
    </section>
  );
}

interface UploadSectionProps {
  clip: Clip | null;
  name: string;
  language: string | null;
  languages: Language[];
  consent: boolean;
  busy: boolean;
  onName: (name: string) => void;
  onLanguage: (code: string) => void;
  onConsent: (on: boolean) => void;
  onSubmit: (event: FormEvent) => void;
}

/** Name, language, the required consent and the upload button (disabled, saying why, until all is there). */
export function UploadSection(props: UploadSectionProps) {
  const { clip, name, language, languages, consent, busy } = props;
  const blocker = uploadBlocker({ clip, name, language, consent });
  return (
    <section className="card" aria-labelledby="voice-upload-title">
      <h2 id="voice-upload-title">2. Upload it</h2>
      <form onSubmit={props.onSubmit} aria-label="Upload a voice sample" data-testid="voice-upload-form">
        <div className="inline-form">
          <label className="grow">
            Name
            <input data-testid="voice-name" required maxLength={200} value={name} onChange={(e) => props.onName(e.target.value)} />
          </label>
          <label>
            Language spoken
            <select
              data-testid="voice-language"
              value={language ?? ""}
              disabled={languages.length === 0}
              onChange={(e) => props.onLanguage(e.target.value)}
            >
              {languages.length === 0 ? (
                <option value="">Loading languages…</option>
              ) : (
                languages.map((l) => (
                  <option key={l.code} value={l.code}>
                    {l.name} ({l.code})
                  </option>
                ))
              )}
            </select>
          </label>
        </div>
        <label className="checkbox">
          <input
            type="checkbox"
            data-testid="voice-consent"
            required
            checked={consent}
            onChange={(e) => props.onConsent(e.target.checked)}
          />
          {CONSENT_TEXT}
        </label>
        <div className="inline-form">
          <button
            type="submit"
            className="primary"
            data-testid="voice-upload"
            disabled={busy || blocker !== null}
            aria-describedby={blocker ? "voice-upload-blocker" : undefined}
          >
            {busy ? "Uploading…" : "Upload sample"}
          </button>
          {blocker && !busy && (
            <span id="voice-upload-blocker" className="muted" data-testid="voice-upload-blocker">
              {blocker}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}

interface SampleListProps {
  samples: VoiceSample[] | null;
  languageName: (code: string) => string;
  confirming: string | null;
  deleting: string | null;
  pollingStopped: boolean;
  onRefresh: () => void;
  onAskDelete: (id: string) => void;
  onConfirmDelete: (sample: VoiceSample) => void;
  onCancelDelete: () => void;
}

/** The user's samples with their check; delete asks for confirmation. */
export function SampleList(props: SampleListProps) {
  const { samples, confirming, deleting } = props;
  return (
    <section className="card" aria-labelledby="voice-list-title">
      <div className="card-head">
        <h2 id="voice-list-title">Your voice samples</h2>
        <button type="button" className="secondary" data-testid="voice-refresh" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      {samples === null ? (
        <p className="muted">Loading…</p>
      ) : samples.length === 0 ? (
        <p className="muted" data-testid="voice-no-samples">
          No voice samples yet.
        </p>
      ) : (
        <ul className="voice-samples" data-testid="voice-sample-list">
          {samples.map((s) => (
            <li key={s.id} data-testid="voice-sample" data-sample-id={s.id} data-status={s.speaker_check}>
              <div className="voice-sample-info">
                <strong>{s.name}</strong>
                <span className="muted">
                  {props.languageName(s.language)} · {formatSeconds(s.duration_s)}
                  {s.expires_at && <> · kept until {new Date(s.expires_at).toLocaleDateString()}</>}
                </span>
                <span className={`voice-status ${s.speaker_check}`} data-testid="voice-sample-status">
                  <span className="badge">{STATUS_LABEL[s.speaker_check]}</span> {statusText(s)}
                </span>
              </div>
              {confirming === s.id ? (
                <div className="inline-form" role="group" aria-label={`Delete ${s.name}?`}>
                  <span>Delete “{s.name}” for good?</span>
                  <button
                    type="button"
                    className="danger"
                    data-testid="voice-sample-delete-confirm"
                    disabled={deleting === s.id}
                    onClick={() => props.onConfirmDelete(s)}
                  >
                    {deleting === s.id ? "Deleting…" : "Yes, delete"}
                  </button>
                  <button type="button" className="secondary" data-testid="voice-sample-delete-cancel" onClick={props.onCancelDelete}>
                    Cancel
                  </button>
                </div>
              ) : (
                <button type="button" className="secondary" data-testid="voice-sample-delete" onClick={() => props.onAskDelete(s.id)}>
                  Delete<span className="visually-hidden"> {s.name}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {hasPending(samples) && props.pollingStopped && (
        <p className="muted" data-testid="voice-poll-stopped">
          The check is taking long; it is retried on the server. Use Refresh to look again.
        </p>
      )}
    </section>
  );
}

/** The length of an audio file as the browser reads it (s), or null (unknown, e.g. a WebM without duration). */
function probeDuration(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const audio = new Audio();
    const done = (value: number | null) => {
      clearTimeout(timer);
      audio.removeAttribute("src");
      resolve(value);
    };
    const timer = setTimeout(() => done(null), 5000);
    audio.preload = "metadata";
    audio.onloadedmetadata = () => done(Number.isFinite(audio.duration) ? audio.duration : null);
    audio.onerror = () => done(null);
    audio.src = url;
  });
}

export function VoicePage({ me, onMeChanged }: Props) {
  const api = useApi();
  const allowed = me.effective.features.voice_clone;
  const languages = useLanguageChoice(me.user.id);
  const options = languages.spokenOptions.filter((l) => l.code !== "auto");
  const [tiers, setTiers] = useState<Tier[]>([]);
  const [samples, setSamples] = useState<VoiceSample[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [announcement, setAnnouncement] = useState("");
  const [recording, setRecording] = useState<RecordingState | null>(null);
  const [clip, setClip] = useState<Clip | null>(null);
  const [name, setName] = useState("My voice");
  const [picked, setPicked] = useState<string | null>(null);
  const [consent, setConsent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const recorder = useRef<VoiceRecorder | null>(null);
  const spoken = languages.spoken && languages.spoken !== "auto" ? languages.spoken : null;
  const language = picked ?? spoken ?? options.find((l) => l.code === "en")?.code ?? options[0]?.code ?? null;

  useEffect(() => {
    api.voiceSamples().then(setSamples, setError);
    if (!allowed) api.tiers().then(setTiers, () => undefined);
  }, [api, allowed]);

  // While a sample is pending: ask again, less and less often (each call counts against the plan's rate);
  // checks that finished meanwhile are announced.
  const pending = hasPending(samples);
  const reload = useCallback(
    () =>
      api.voiceSamples().then((next) => {
        const news = transitions(samples, next);
        if (news.length) setAnnouncement(news.join(" "));
        setSamples(next);
      }, () => undefined),
    [api, samples, setAnnouncement, setSamples],
  );
  const polling = usePollWhilePending(pending, reload);

  // A clip replaced, and leaving the page: its object URL is released.
  useEffect(() => () => (clip ? URL.revokeObjectURL(clip.url) : undefined), [clip]);
  // Leaving the page while recording: the microphone is released.
  useEffect(() => () => recorder.current?.cancel(), []);

  const stopRecording = useCallback(() => {
    const current = recorder.current;
    if (!current) return;
    recorder.current = null;
    setRecording(null);
    current.stop().then(({ blob, durationS }) => {
      setClip({ blob, source: "recording", fileName: null, durationS, url: URL.createObjectURL(blob) });
      setAnnouncement(`Recording stopped: ${formatSeconds(durationS)}.`);
    }, setError);
  }, [setRecording, setClip, setAnnouncement, setError]);

  // The elapsed time and level while recording; stops itself at MAX_S.
  useEffect(() => {
    if (!recording) return;
    const timer = setInterval(() => {
      const current = recorder.current;
      if (!current) return;
      const elapsedS = current.elapsedS();
      if (elapsedS >= MAX_S) stopRecording();
      else setRecording({ elapsedS, level: current.level() });
    }, 100);
    return () => clearInterval(timer);
  }, [recording, stopRecording]);

  async function startRecording() {
    setError(null);
    setClip(null);
    try {
      recorder.current = await VoiceRecorder.start();
      setRecording({ elapsedS: 0, level: 0 });
      setAnnouncement("Recording. Speak now.");
    } catch (err) {
      setError(microphoneError(err));
    }
  }

  async function pickFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = ""; // the same file can be chosen again after Discard
    if (!file) return;
    setError(null);
    const url = URL.createObjectURL(file);
    const durationS = await probeDuration(url);
    setClip({ blob: file, source: "file", fileName: file.name, durationS, url });
    setName(file.name.replace(/\.[^.]+$/, "").slice(0, 200) || name);
  }

  async function upload(event: FormEvent) {
    event.preventDefault();
    if (!language || uploadBlocker({ clip, name, language, consent }) || !clip) return;
    setBusy(true);
    setError(null);
    try {
      const sample = await api.uploadVoiceSample(clip.blob, name.trim(), language);
      setSamples((before) => [...(before ?? []).filter((s) => s.id !== sample.id), sample]);
      polling.restart();
      setClip(null);
      setConsent(false);
      setAnnouncement(`Uploaded “${sample.name}”. Checking that one person speaks…`);
      onMeChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function remove(sample: VoiceSample) {
    setDeleting(sample.id);
    setError(null);
    try {
      await api.deleteVoiceSample(sample.id);
      setSamples((before) => (before ?? []).filter((s) => s.id !== sample.id));
      setConfirming(null);
      setAnnouncement(`Deleted “${sample.name}”.`);
      onMeChanged();
    } catch (err) {
      setError(err);
    } finally {
      setDeleting(null);
    }
  }

  const languageName = (code: string) => languages.spokenOptions.find((l) => l.code === code)?.name ?? code;
  const list = (
    <SampleList
      samples={samples}
      languageName={languageName}
      confirming={confirming}
      deleting={deleting}
      pollingStopped={polling.stopped}
      onRefresh={() => {
        polling.restart();
        api.voiceSamples().then(setSamples, setError);
      }}
      onAskDelete={setConfirming}
      onConfirmDelete={(s) => void remove(s)}
      onCancelDelete={() => setConfirming(null)}
    />
  );

  return (
    <main className="narrow voice-page" data-testid="voice-page" data-allowed={allowed}>
      <p>
        <a href="#/" data-testid="voice-back">
          ← Back to the lobby
        </a>
      </p>
      <h1>My voice</h1>
      <p>
        With voice cloning, listeners who hear your words translated hear them in <em>your</em> voice, made from a short
        recording of you. Until a sample has passed its check, and for languages the cloned voice does not speak, they hear
        the standard voice.
      </p>
      <p role="status" aria-live="polite" className="visually-hidden" data-testid="voice-announce">
        {announcement}
      </p>
      <ErrorNotice error={error} onDismiss={() => setError(null)} />
      {allowed ? (
        <>
          <ClipSection
            recording={recording}
            clip={clip}
            onStart={() => void startRecording()}
            onStop={stopRecording}
            onFile={(e) => void pickFile(e)}
            onDiscard={() => setClip(null)}
          />
          {languages.error !== null && <ErrorNotice error={languages.error} onRetry={languages.retry} />}
          <UploadSection
            clip={clip}
            name={name}
            language={language}
            languages={options}
            consent={consent}
            busy={busy}
            onName={setName}
            onLanguage={setPicked}
            onConsent={setConsent}
            onSubmit={(e) => void upload(e)}
          />
          {list}
        </>
      ) : (
        <>
          <VoiceLocked tier={me.effective.tier} tiers={tiers} />
          {samples !== null && samples.length > 0 && list}
        </>
      )}
    </main>
  );
}
