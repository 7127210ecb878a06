// The caption panel: one line per segment in the listener's language, partial lines grey (replaced
// in place), finals black, the speaker's name in front and the original text on hover (title). In a
// room with diarization on, a line whose final was labelled also says who spoke inside that
// participant's audio ("Ana · Speaker 2:"), for people sharing one microphone. A
// line in another language than the listener's says so: the speaker's language (marked "detected"
// when the server identified it), and, when no translation is installed for the pair (`no_route`) or
// the translators failed (`unavailable`), a note next to the original text.
// Its toolbar has the language picker (the caption languages the server offers), the text size and
// the transcript download; a banner shows while the socket reconnects or after it stopped, and one
// when captions were lost (`history_lost`).
import { useEffect, useLayoutEffect, useRef, useState } from "react";

import type { ExportFormat } from "../api/types";
import { describeClose } from "../captions/closeCodes";
import { NO_ROUTE, UNAVAILABLE, type NoticeMessage } from "../captions/messages";
import type { CaptionLine } from "../captions/reducer";
import type { SocketState } from "../captions/socket";
import { languageName, type Language } from "../languages";
import { LanguagePicker } from "./LanguagePicker";

export const FONT_SIZES = [14, 16, 18, 20, 24, 28, 32];

/** Why a line shows the speaker's own words in place of a translation (null: it does not). */
export function untranslatedNote(line: CaptionLine): string | null {
  const pair = `${languageName(line.originalLang)} → ${languageName(line.lang)}`;
  if (line.backend === NO_ROUTE) return `No translation is installed for ${pair}: original text`;
  if (line.backend === UNAVAILABLE) return `Translation unavailable right now (${pair}): original text`;
  return null;
}

export function CaptionLineView({ line }: { line: CaptionLine }) {
  const untranslated = untranslatedNote(line);
  const translated = line.lang !== line.originalLang && untranslated === null;
  const foreign = line.originalLang !== line.lang || line.languageDetected;
  return (
    <p
      className={`caption-line ${line.type}${untranslated ? " untranslated" : ""}`}
      data-testid="caption-line"
      data-type={line.type}
      data-lang={line.lang}
      data-speaker={line.speakerName}
      data-speaker-id={line.speaker}
      data-original={line.original}
      data-original-lang={line.originalLang}
      data-backend={line.backend}
      data-language-detected={line.languageDetected || undefined}
      data-segment-id={line.segmentId}
      data-speaker-label={line.speakerLabel ?? undefined}
      data-room-seq={line.roomSeq || undefined}
      title={`Original (${languageName(line.originalLang)}): ${line.original}`}
    >
      <span className="speaker">{line.speakerName}</span>
      {line.speakerLabel && (
        <span className="speaker-label" data-testid="caption-speaker-label">
          {line.speakerLabel}:
        </span>
      )}
      {foreign && (
        <span className="source-lang badge" data-testid="caption-source-lang">
          {languageName(line.originalLang)}
          {line.languageDetected && " (detected)"}
        </span>
      )}
      <span className="text" lang={untranslated ? line.originalLang : line.lang}>
        {line.text}
      </span>
      {untranslated && (
        <span className="untranslated-note muted" data-testid="caption-untranslated">
          {untranslated}
        </span>
      )}
      {line.type === "partial" && <span className="visually-hidden"> (still speaking)</span>}
      {translated && <span className="visually-hidden"> Original: {line.original}</span>}
    </p>
  );
}

function ReconnectBanner({ state, onReconnect }: { state: SocketState; onReconnect: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (state.status !== "reconnecting") return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state.status]);
  if (state.status === "open" || state.status === "connecting") return null;
  if (state.status === "closed" && state.closeCode === null) return null;
  const seconds = state.retryAt ? Math.max(0, Math.ceil((state.retryAt - now) / 1000)) : null;
  const reconnecting = state.status === "reconnecting";
  return (
    <div
      className={`banner ${reconnecting ? "warning" : "error"}`}
      role="status"
      data-testid="reconnect-banner"
      data-status={state.status}
      data-close-code={state.closeCode ?? undefined}
    >
      <span>
        {reconnecting
          ? `Captions disconnected: ${describeClose(state.closeCode, state.closeReason)} Reconnecting${seconds !== null ? ` in ${seconds} s` : "…"} (attempt ${state.attempt}).`
          : `Captions stopped: ${describeClose(state.closeCode, state.closeReason)}`}
      </span>
      <button type="button" onClick={onReconnect} data-testid="reconnect-now">
        Reconnect now
      </button>
    </div>
  );
}

function HistoryLostBanner({ notice, onDismiss }: { notice: NoticeMessage; onDismiss: () => void }) {
  return (
    <div className="banner warning" role="status" data-testid="history-lost" data-reason={notice.reason ?? undefined}>
      <span>
        Some captions could not be delivered ({notice.message}). Captions go on from what the server still holds; a
        downloaded transcript has everything that was saved.
      </span>
      <button type="button" onClick={onDismiss} data-testid="history-lost-dismiss">
        Dismiss
      </button>
    </div>
  );
}

interface Props {
  lines: CaptionLine[];
  /** null while the language catalogue loads. */
  lang: string | null;
  langOptions: Language[];
  /** The picker's tooltip: how captions reach `lang`. */
  langHint?: string;
  onLangChange: (lang: string) => void;
  historyLost?: NoticeMessage | null;
  onDismissHistoryLost?: () => void;
  socketState: SocketState;
  onReconnect: () => void;
  fontSize: number;
  onFontSize: (size: number) => void;
  onDownload: (format: ExportFormat, original: boolean) => void;
  downloading: boolean;
}

export function CaptionPanel(props: Props) {
  const { lines, lang, fontSize } = props;
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const [format, setFormat] = useState<ExportFormat>("srt");
  const [original, setOriginal] = useState(false);

  useLayoutEffect(() => {
    const el = list.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [lines, fontSize]);

  const sizeIndex = FONT_SIZES.indexOf(fontSize);
  return (
    <section className="caption-panel" aria-labelledby="captions-title" data-testid="caption-section">
      <div className="caption-toolbar">
        <h2 id="captions-title">Captions</h2>
        <LanguagePicker
          label="Captions in"
          testId="language-picker"
          value={lang}
          options={props.langOptions}
          onChange={props.onLangChange}
          hint={props.langHint}
        />
        <div className="font-size" role="group" aria-label="Caption text size">
          <button
            type="button"
            data-testid="font-smaller"
            aria-label="Smaller caption text"
            disabled={sizeIndex <= 0}
            onClick={() => props.onFontSize(FONT_SIZES[Math.max(0, sizeIndex - 1)])}
          >
            A−
          </button>
          <span data-testid="font-size" aria-live="polite">
            {fontSize}px
          </span>
          <button
            type="button"
            data-testid="font-larger"
            aria-label="Larger caption text"
            disabled={sizeIndex >= FONT_SIZES.length - 1}
            onClick={() => props.onFontSize(FONT_SIZES[Math.min(FONT_SIZES.length - 1, sizeIndex + 1)])}
          >
            A+
          </button>
        </div>
      </div>
      <ReconnectBanner state={props.socketState} onReconnect={props.onReconnect} />
      {props.historyLost && (
        <HistoryLostBanner notice={props.historyLost} onDismiss={() => props.onDismissHistoryLost?.()} />
      )}
      <div
        ref={list}
        className="caption-list"
        data-testid="caption-panel"
        data-socket={props.socketState.status}
        role="log"
        aria-live="polite"
        aria-relevant="additions text"
        aria-label="Live captions"
        tabIndex={0}
        style={{ fontSize }}
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {lines.length === 0 ? (
          <p className="muted empty">Captions appear here when someone speaks.</p>
        ) : (
          lines.map((line) => <CaptionLineView key={line.segmentId} line={line} />)
        )}
      </div>
      <form
        className="download"
        aria-label="Download the transcript"
        onSubmit={(e) => {
          e.preventDefault();
          props.onDownload(format, original);
        }}
      >
        <label className="inline">
          <span>Transcript</span>
          <select data-testid="transcript-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
            <option value="srt">SRT subtitles</option>
            <option value="vtt">WebVTT subtitles</option>
            <option value="txt">Plain text</option>
          </select>
        </label>
        <label className="inline">
          <span>in</span>
          <select
            data-testid="transcript-language"
            value={original ? "original" : "listener"}
            onChange={(e) => setOriginal(e.target.value === "original")}
          >
            <option value="listener">{lang ? languageName(lang) : "captions' language"}</option>
            <option value="original">each speaker's language</option>
          </select>
        </label>
        <button type="submit" data-testid="download-transcript" disabled={props.downloading}>
          {props.downloading ? "Preparing…" : "Download"}
        </button>
      </form>
    </section>
  );
}
