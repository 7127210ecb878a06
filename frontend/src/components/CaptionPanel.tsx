// The caption panel: one line per segment in the listener's language, partial lines grey (replaced
// in place), finals black, the speaker's name in front and the original text on hover (title).
// Its toolbar has the language picker, the text size and the transcript download; a banner shows
// while the socket reconnects.
import { useEffect, useLayoutEffect, useRef, useState } from "react";

import type { ExportFormat } from "../api/types";
import type { CaptionLine } from "../captions/reducer";
import type { SocketState } from "../captions/socket";
import { LANGUAGES, languageName } from "../languages";

export const FONT_SIZES = [14, 16, 18, 20, 24, 28, 32];

export function CaptionLineView({ line }: { line: CaptionLine }) {
  const translated = line.lang !== line.originalLang;
  return (
    <p
      className={`caption-line ${line.type}`}
      data-testid="caption-line"
      data-type={line.type}
      data-lang={line.lang}
      data-speaker={line.speakerName}
      data-speaker-id={line.speaker}
      data-original={line.original}
      data-original-lang={line.originalLang}
      data-segment-id={line.segmentId}
      data-room-seq={line.roomSeq || undefined}
      title={`Original (${languageName(line.originalLang)}): ${line.original}`}
    >
      <span className="speaker">{line.speakerName}</span>
      <span className="text" lang={line.lang}>
        {line.text}
      </span>
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
          ? `Captions disconnected. Reconnecting${seconds !== null ? ` in ${seconds} s` : "…"} (attempt ${state.attempt}).`
          : `Captions stopped: ${state.closeReason ?? "disconnected"}.`}
      </span>
      <button type="button" onClick={onReconnect} data-testid="reconnect-now">
        Reconnect now
      </button>
    </div>
  );
}

interface Props {
  lines: CaptionLine[];
  lang: string;
  onLangChange: (lang: string) => void;
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
        <label className="inline">
          <span>Captions in</span>
          <select
            data-testid="language-picker"
            value={lang}
            onChange={(e) => props.onLangChange(e.target.value)}
          >
            {LANGUAGES.map((l) => (
              <option key={l.code} value={l.code}>
                {l.name} ({l.code})
              </option>
            ))}
          </select>
        </label>
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
            <option value="listener">{languageName(lang)}</option>
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
