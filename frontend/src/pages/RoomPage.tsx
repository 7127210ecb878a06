// The room: join it (POST /api/rooms/{id}/join, idempotent, with the language the user speaks), the
// video grid through Janus (or the local camera only while the gateway sends no Janus details), mute /
// camera / leave, and the live caption panel on the caption socket.
//
// Languages (the server's catalogue, remembered per user: ../languageChoice.ts): a new caption
// language reconnects the caption socket with `lang` (and `since`, so nothing is missed); a new
// spoken language joins again with it (the server keeps the speaker's language with their call
// membership and gives a fresh Janus token), and the call reconnects with that token, so the
// server's audio tap follows the new language.
//
// "Hear translation" (remembered with the languages; the tier's quick_audio feature): the caption socket
// reconnects with audio=1 and the speech it delivers plays through useSpeechPlayback (one queue per
// speaker, that speaker's tile lowered meanwhile, late sentences skipped).
import { useCallback, useEffect, useReducer, useRef, useState } from "react";

import { useApi } from "../api/instance";
import type { ExportFormat, JanusJoinInfo, Me, Room } from "../api/types";
import { describeClose } from "../captions/closeCodes";
import type { NoticeMessage } from "../captions/messages";
import { captionReducer, initialCaptionState } from "../captions/reducer";
import { CaptionSocket, type SocketState } from "../captions/socket";
import { CaptionPanel, FONT_SIZES } from "../components/CaptionPanel";
import { DocumentsPanel } from "../components/DocumentsPanel";
import { ErrorNotice } from "../components/ErrorNotice";
import { LanguagePicker } from "../components/LanguagePicker";
import { VideoGrid, type Tile } from "../components/VideoGrid";
import { useLanguageChoice } from "../languageChoice";
import { languageName, routesTo } from "../languages";
import { LocalPreview, type MediaSession, type MediaStatus, type MediaTile } from "../media/session";
import { STALE_AFTER_S } from "../playback/player";
import { useSpeechPlayback } from "../playback/useSpeechPlayback";
import { navigate, roomHref } from "../router";
import { takeJoin } from "./joinCache";

const FONT_KEY = "babelroom.captionFontSize";
const HEARTBEAT_MS = 30_000; // the lease is 60 s; the caption socket renews it while open
const REFRESH_MS = 120_000; // participant list; every API call counts against requests per hour

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode: not remembered */
  }
}

function initialFont(): number {
  const saved = Number(stored(FONT_KEY));
  return FONT_SIZES.includes(saved) ? saved : 18;
}

function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Media tiles plus a tile without video for every other participant the API lists. */
export function mergeTiles(media: MediaTile[], room: Room | null, me: Me, mic: boolean, camera: boolean): Tile[] {
  const tiles: Tile[] = media.map((t) => (t.local ? { ...t, micOff: !mic, cameraOff: !camera } : { ...t }));
  for (const p of room?.participants ?? []) {
    const mine = p.user_id === me.user.id;
    const present = tiles.some((t) => t.id === p.user_id || (mine && t.local) || (!t.local && t.display === p.display_name));
    if (!present) tiles.push({ id: p.user_id, display: p.display_name, stream: null, local: mine });
  }
  return tiles.sort((a, b) => Number(b.local) - Number(a.local));
}

const NOT_CONNECTED: SocketState = { status: "connecting", attempt: 0, retryAt: null, closeCode: null, closeReason: null };

interface Props {
  roomId: string;
  listenOnly: boolean;
  me: Me;
}

export function RoomPage({ roomId, listenOnly, me }: Props) {
  const api = useApi();
  const [room, setRoom] = useState<Room | null>(null);
  const [janus, setJanus] = useState<JanusJoinInfo | null>(null);
  const [joinAttempt, setJoinAttempt] = useState(0);
  // The failure of this very join (room, mode, attempt): a retry or another room starts without one.
  const joinKey = `${roomId} ${listenOnly} ${joinAttempt}`;
  const [joinFailure, setJoinFailure] = useState<{ key: string; error: unknown } | null>(null);
  const joinError = joinFailure?.key === joinKey ? joinFailure.error : null;
  const [ended, setEnded] = useState<string | null>(null);
  const [canRejoin, setCanRejoin] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [expiring, setExpiring] = useState<NoticeMessage | null>(null);
  const [historyLost, setHistoryLost] = useState<NoticeMessage | null>(null);
  const languages = useLanguageChoice(me.user.id);
  const spokenRef = useRef(languages.spoken);
  const languagesSettled = languages.catalogue !== null || languages.error !== null;
  const [switchingTo, setSwitchingTo] = useState<string | null>(null);

  const [captions, dispatch] = useReducer(captionReducer, initialCaptionState);
  const lastRoomSeq = useRef(0);
  useEffect(() => {
    lastRoomSeq.current = captions.lastRoomSeq;
  }, [captions.lastRoomSeq]);
  const lang = languages.captions;
  const langRef = useRef(lang);
  const captionsReady = lang !== null;
  const [socketState, setSocketState] = useState<SocketState>(NOT_CONNECTED);
  const socketStateRef = useRef(socketState);
  useEffect(() => {
    socketStateRef.current = socketState;
  }, [socketState]);
  const socket = useRef<CaptionSocket | null>(null);
  useEffect(() => {
    langRef.current = lang;
    spokenRef.current = languages.spoken;
    if (lang) socket.current?.setLanguage(lang);
  }, [lang, languages.spoken]);
  const quickAudio = me.effective.features.quick_audio;
  const hear = quickAudio && languages.hearTranslation;
  const hearRef = useRef(hear);
  const playback = useSpeechPlayback(hear);
  const enqueueSpeech = playback.enqueue;
  useEffect(() => {
    hearRef.current = hear;
    socket.current?.setAudio(hear);
  }, [hear]);
  const [fontSize, setFontSize] = useState(initialFont);
  const [downloading, setDownloading] = useState(false);

  const [mediaTiles, setMediaTiles] = useState<MediaTile[]>([]);
  const [mediaStatus, setMediaStatus] = useState<MediaStatus>({ state: "idle" });
  const media = useRef<MediaSession | null>(null);
  const [micOn, setMicOn] = useState(true);
  const [cameraOn, setCameraOn] = useState(true);
  const [copied, setCopied] = useState(false);

  // Join (idempotent) once the languages are known; after "Create and join" the lobby already holds
  // the answer.
  useEffect(() => {
    if (!languagesSettled) return;
    let cancelled = false;
    const created = takeJoin(roomId);
    const spoken = listenOnly ? null : spokenRef.current;
    (created ? Promise.resolve(created) : api.joinRoom(roomId, listenOnly, spoken)).then(
      (joined) => {
        if (cancelled) return;
        setRoom(joined);
        setJanus(joined.janus ?? null);
      },
      (error) => {
        if (!cancelled) setJoinFailure({ key: joinKey, error });
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, roomId, listenOnly, joinKey, languagesSettled]);

  const joinedId = room?.id ?? null;

  // Captions (in the caption language, once the catalogue has given one).
  useEffect(() => {
    if (!joinedId || !langRef.current) return;
    const s = new CaptionSocket({
      room: joinedId,
      lang: langRef.current,
      initialSince: 0,
      lastRoomSeq: () => lastRoomSeq.current,
      token: () => api.tokens.get()?.accessToken ?? null,
      refreshToken: () => api.refresh(),
      onCaption: (message) => dispatch({ type: "message", message }),
      audio: hearRef.current,
      onSpeech: enqueueSpeech,
      onNotice: (notice) => {
        if (notice.code === "room_expiring") setExpiring(notice);
        else if (notice.code === "history_lost") {
          dispatch({ type: "history_lost" });
          setHistoryLost(notice);
        }
        else if (notice.code === "room_closed") setEnded(`The room has closed (${notice.reason ?? "closed"}).`);
        else if (notice.code === "participant_left") setEnded(`You are no longer in this room (${notice.reason ?? "left"}).`);
        else if (notice.code === "speakers_updated") dispatch({ type: "speakers", notice });
      },
      onState: (state) => {
        setSocketState(state);
        if (state.status === "closed" && (state.closeCode === 4410 || state.closeCode === 4403)) {
          setEnded(describeClose(state.closeCode, state.closeReason));
          setCanRejoin(state.closeCode === 4403 && !/origin/i.test(state.closeReason ?? ""));
        }
      },
    });
    socket.current = s;
    s.start();
    return () => {
      s.stop();
      socket.current = null;
    };
  }, [api, joinedId, captionsReady, enqueueSpeech]);

  // Media: Janus VideoRoom when the join answer says where, else the local camera only.
  useEffect(() => {
    if (!joinedId || ended) return;
    let session: MediaSession | null = null;
    let cancelled = false;
    const callbacks = { onTiles: setMediaTiles, onStatus: setMediaStatus };
    const display = janus?.display ?? me.user.display_name;
    (async () => {
      if (janus) {
        const { VideoRoomSession } = await import("../media/videoroom");
        if (cancelled) return;
        session = new VideoRoomSession(janus, { id: me.user.id, display }, !listenOnly, callbacks);
      } else {
        session = new LocalPreview(display, !listenOnly, callbacks);
      }
      media.current = session;
      await session.start();
    })().catch((error) => setMediaStatus({ state: "error", detail: String(error) }));
    return () => {
      cancelled = true;
      session?.stop();
      media.current = null;
      setMediaTiles([]);
    };
  }, [joinedId, janus, ended, listenOnly, me.user.id, me.user.display_name]);

  // Keep the place while the caption socket is down; refresh who is here now and then.
  useEffect(() => {
    if (!joinedId || ended) return;
    const heartbeat = setInterval(() => {
      if (socketStateRef.current.status !== "open") api.heartbeat(joinedId).catch(() => undefined);
    }, HEARTBEAT_MS);
    const refresh = setInterval(() => {
      if (document.visibilityState === "visible") api.room(joinedId).then(setRoom, () => undefined);
    }, REFRESH_MS);
    return () => {
      clearInterval(heartbeat);
      clearInterval(refresh);
    };
  }, [api, joinedId, ended]);

  async function changeSpoken(next: string) {
    languages.setSpoken(next);
    if (!room || listenOnly || ended) return;
    setSwitchingTo(next);
    try {
      const joined = await api.joinRoom(room.id, false, next);
      setRoom(joined);
      setJanus(joined.janus ?? null); // a new token: the call reconnects (see the media effect)
    } catch (error) {
      setActionError(error);
    } finally {
      setSwitchingTo(null);
    }
  }

  const changeFont = useCallback((size: number) => {
    setFontSize(size);
    store(FONT_KEY, String(size));
  }, []);

  function toggleMic() {
    const next = !micOn;
    setMicOn(next);
    media.current?.setMicEnabled(next);
  }

  function toggleCamera() {
    const next = !cameraOn;
    setCameraOn(next);
    media.current?.setCameraEnabled(next);
  }

  async function leave() {
    socket.current?.stop();
    media.current?.stop();
    if (room && !ended) await api.leaveRoom(room.id).catch(() => undefined);
    navigate("#/");
  }

  function rejoin() {
    setEnded(null);
    setCanRejoin(false);
    setRoom(null);
    setJoinAttempt((n) => n + 1);
  }

  async function closeForEveryone() {
    if (!room) return;
    try {
      await api.closeRoom(room.id);
    } catch (error) {
      setActionError(error);
    }
  }

  async function download(format: ExportFormat, original: boolean) {
    if (!room) return;
    setDownloading(true);
    setActionError(null);
    try {
      const { blob, filename } = await api.exportTranscript(room.id, format, original ? null : lang);
      saveBlob(blob, filename);
    } catch (error) {
      setActionError(error);
    } finally {
      setDownloading(false);
    }
  }

  async function copyInvite() {
    const link = `${location.origin}${location.pathname}${roomHref(roomId)}`;
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      window.prompt("Copy this invite link", link);
    }
  }

  if (joinError) {
    return (
      <main className="room-page narrow" data-testid="room-page" data-state="error">
        <h1>Could not join the room</h1>
        <ErrorNotice error={joinError} onRetry={() => setJoinAttempt((n) => n + 1)} />
        <a className="button" href="#/" data-testid="back-to-lobby">
          Back to the lobby
        </a>
      </main>
    );
  }
  if (!room) {
    return (
      <main className="room-page narrow" data-testid="room-page" data-state="joining">
        <p role="status">Joining the room…</p>
      </main>
    );
  }

  const tiles = mergeTiles(mediaTiles, room, me, micOn, cameraOn);
  const publishing = !listenOnly;
  return (
    <main className="room-page" data-testid="room-page" data-state={ended ? "ended" : "joined"} data-room-id={room.id}>
      <header className="room-head">
        <div>
          <h1 data-testid="room-name">{room.name}</h1>
          <p className="muted">
            {room.participants.length} in the room
            {room.expires_at && <> · closes at {new Date(room.expires_at).toLocaleTimeString([], { timeStyle: "short" })}</>}
            {room.diarization && (
              <>
                {" · "}
                <span data-testid="room-diarization" title="Speakers sharing a microphone are labelled in captions and transcripts">
                  speaker labels on
                </span>
              </>
            )}
          </p>
        </div>
        <button type="button" className="secondary" onClick={copyInvite} data-testid="copy-invite">
          {copied ? "Link copied" : "Copy invite link"}
        </button>
      </header>
      {expiring && !ended && (
        <div className="banner warning" role="status" data-testid="expiry-banner">
          {expiring.message}
          {expiring.closes_at_ms && <> (at {new Date(expiring.closes_at_ms).toLocaleTimeString([], { timeStyle: "short" })})</>}
        </div>
      )}
      {ended && (
        <div className="banner error" role="alert" data-testid="room-ended">
          <span>{ended}</span>
          {canRejoin && (
            <button type="button" data-testid="rejoin-room" onClick={rejoin}>
              Join again
            </button>
          )}
          <a className="button" href="#/">
            Back to the lobby
          </a>
        </div>
      )}
      <ErrorNotice error={actionError} onDismiss={() => setActionError(null)} />
      <ErrorNotice error={languages.error} onRetry={languages.retry} />
      {room.owner_id === me.user.id && (
        <DocumentsPanel
          roomId={room.id}
          allowed={me.effective.features.document_context}
          tier={me.effective.tier}
          closed={!!ended}
        />
      )}
      <div className="room-body">
        <section className="stage" aria-label="Video">
          {mediaStatus.state !== "idle" && mediaStatus.state !== "connected" && (
            <p className={`media-status ${mediaStatus.state}`} role="status" data-testid="media-status" data-state={mediaStatus.state}>
              {mediaStatus.detail}
            </p>
          )}
          <VideoGrid tiles={tiles} ducker={playback.ducker} />
          <div className="controls" role="toolbar" aria-label="Call controls">
            <button type="button" data-testid="toggle-mic" aria-pressed={!micOn} disabled={!publishing} onClick={toggleMic}>
              {micOn ? "Mute" : "Unmute"}
            </button>
            <button
              type="button"
              data-testid="toggle-camera"
              aria-pressed={!cameraOn}
              disabled={!publishing}
              onClick={toggleCamera}
            >
              {cameraOn ? "Camera off" : "Camera on"}
            </button>
            {publishing && (
              <LanguagePicker
                label="I speak"
                testId="room-spoken-language-picker"
                value={switchingTo ?? languages.spoken}
                options={languages.spokenOptions}
                onChange={(code) => void changeSpoken(code)}
                disabled={switchingTo !== null || !!ended}
              />
            )}
            {switchingTo && (
              <span className="muted" role="status" data-testid="spoken-language-switching">
                Switching to {languageName(switchingTo)}…
              </span>
            )}
            <label className="toggle" title={quickAudio ? "Hear each sentence spoken in your caption language" : "Not in your plan"}>
              <input
                type="checkbox"
                role="switch"
                data-testid="hear-translation-toggle"
                checked={hear}
                disabled={!quickAudio}
                onChange={(e) => {
                  languages.setHearTranslation(e.target.checked);
                  playback.resume();
                }}
              />
              Hear translation
            </label>
            {hear && (
              <span
                className="muted"
                role="status"
                data-testid="playback-status"
                data-played={playback.stats?.played ?? 0}
                data-stale={playback.stats?.stale ?? 0}
              >
                {playback.needsGesture ? (
                  <button type="button" className="secondary" onClick={playback.resume} data-testid="playback-enable">
                    Enable sound
                  </button>
                ) : (
                  <>
                    {playback.stats?.played ?? 0} spoken
                    {!!playback.stats?.stale && <> · {playback.stats.stale} skipped (over {STALE_AFTER_S} s late)</>}
                  </>
                )}
              </span>
            )}
            <span className="spacer" />
            {room.owner_id === me.user.id && !ended && (
              <button type="button" className="secondary" data-testid="close-room" onClick={closeForEveryone}>
                End for everyone
              </button>
            )}
            <button type="button" className="danger" data-testid="leave-room" onClick={leave}>
              Leave
            </button>
          </div>
        </section>
        <CaptionPanel
          lines={captions.lines}
          lang={lang}
          langOptions={languages.captionOptions}
          langHint={languages.catalogue && lang ? routesTo(languages.catalogue, lang).join("; ") : undefined}
          onLangChange={languages.setCaptions}
          historyLost={historyLost}
          onDismissHistoryLost={() => setHistoryLost(null)}
          socketState={socketState}
          onReconnect={() => socket.current?.reconnectNow()}
          fontSize={fontSize}
          onFontSize={changeFont}
          onDownload={download}
          downloading={downloading}
        />
      </div>
    </main>
  );
}
