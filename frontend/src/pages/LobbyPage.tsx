// The lobby: the user's rooms with their occupancy, the plan's limits and features, the languages
// the user speaks and reads captions in (remembered per user), creating a room and joining one (from
// the list or by its id). The list is loaded on arrival and on "Refresh" only:
// every call counts against the plan's requests per hour.
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { useApi } from "../api/instance";
import type { Me, Room, Tier } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { LanguagePicker } from "../components/LanguagePicker";
import { TierCard, TierTable } from "../components/TierCard";
import { useLanguageChoice } from "../languageChoice";
import { routesTo } from "../languages";
import { VOICE_HREF, navigate, roomHref } from "../router";
import { rememberJoin } from "./joinCache";

interface Props {
  me: Me;
  onMeChanged: () => void;
}

/** A room id from a pasted id or invite link (…#/rooms/<id>). */
export function roomIdFrom(input: string): string {
  const text = input.trim();
  const match = /rooms\/([0-9a-fA-F-]{36})/.exec(text);
  return match ? match[1] : text;
}

export function occupancy(room: Room, me: Me): string {
  const n = room.participants.length;
  const cap = room.owner_id === me.user.id ? me.effective.limits.participants_per_room : null;
  const people = `${n} ${n === 1 ? "person" : "people"}`;
  return cap === null ? `${people} in the room` : `${n} of ${cap} places taken`;
}

/** "Label speakers sharing a microphone" for a new room: Pro (the tier's `diarization` feature); shown
 * disabled with the reason otherwise. */
export function DiarizationChoice({ allowed, checked, onChange }: { allowed: boolean; checked: boolean; onChange: (on: boolean) => void }) {
  return (
    <label className="checkbox" title={allowed ? undefined : "Speaker labels are a Pro feature"}>
      <input
        type="checkbox"
        data-testid="create-room-diarization"
        checked={allowed && checked}
        disabled={!allowed}
        onChange={(e) => onChange(e.target.checked)}
      />
      Label speakers sharing a microphone (“Speaker 1:”, “Speaker 2:” in captions and transcripts)
      {!allowed && <span className="muted"> · Pro</span>}
    </label>
  );
}

export function LobbyPage({ me, onMeChanged }: Props) {
  const api = useApi();
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [tiers, setTiers] = useState<Tier[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [listenOnly, setListenOnly] = useState(false);
  const [diarization, setDiarization] = useState(false);
  const canDiarize = me.effective.features.diarization;
  const [joinId, setJoinId] = useState("");
  const [busy, setBusy] = useState(false);
  const languages = useLanguageChoice(me.user.id);

  const load = useCallback(() => api.rooms().then(setRooms, setError), [api]);

  useEffect(() => {
    void load();
    api.tiers().then(setTiers, () => undefined);
  }, [api, load]);

  async function create(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const room = await api.createRoom(name.trim(), listenOnly, listenOnly ? null : languages.spoken, canDiarize && diarization);
      rememberJoin(room);
      onMeChanged();
      navigate(roomHref(room.id, listenOnly));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  function joinById(event: FormEvent) {
    event.preventDefault();
    const id = roomIdFrom(joinId);
    if (id) navigate(roomHref(id, listenOnly));
  }

  return (
    <main className="lobby" data-testid="lobby">
      <div className="lobby-main">
        <ErrorNotice error={error} onDismiss={() => setError(null)} />
        <section className="card" aria-labelledby="create-title">
          <h2 id="create-title">Start a call</h2>
          <form className="inline-form" onSubmit={create} aria-label="Create a room">
            <label className="grow">
              Room name
              <input
                data-testid="create-room-name"
                required
                maxLength={200}
                placeholder="Weekly sync"
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            </label>
            <button type="submit" className="primary" data-testid="create-room-submit" disabled={busy || !name.trim()}>
              {busy ? "Creating…" : "Create and join"}
            </button>
          </form>
          <form className="inline-form" onSubmit={joinById} aria-label="Join a room by id">
            <label className="grow">
              Room id or invite link
              <input
                data-testid="join-room-id"
                placeholder="e.g. 3f2b…"
                value={joinId}
                onChange={(e) => setJoinId(e.target.value)}
              />
            </label>
            <button type="submit" data-testid="join-room-id-submit" disabled={!joinId.trim()}>
              Join
            </button>
          </form>
          <div className="inline-form" role="group" aria-label="Your languages" data-testid="lobby-languages">
            <LanguagePicker
              label="I speak"
              testId="spoken-language-picker"
              value={languages.spoken}
              options={languages.spokenOptions}
              onChange={languages.setSpoken}
              disabled={listenOnly}
            />
            <LanguagePicker
              label="Captions in"
              testId="lobby-caption-language-picker"
              value={languages.captions}
              options={languages.captionOptions}
              onChange={languages.setCaptions}
              hint={languages.catalogue && languages.captions ? routesTo(languages.catalogue, languages.captions).join("; ") : undefined}
            />
          </div>
          {languages.error !== null && <ErrorNotice error={languages.error} onRetry={languages.retry} />}
          <label className="checkbox">
            <input
              type="checkbox"
              data-testid="listen-only"
              checked={listenOnly}
              onChange={(e) => setListenOnly(e.target.checked)}
            />
            Listen only (no camera or microphone; takes no speaking slot)
          </label>
          <DiarizationChoice allowed={canDiarize} checked={diarization} onChange={setDiarization} />
        </section>

        <section className="card" aria-labelledby="rooms-title">
          <div className="card-head">
            <h2 id="rooms-title">Your rooms</h2>
            <button type="button" className="secondary" data-testid="refresh-rooms" onClick={() => void load()}>
              Refresh
            </button>
          </div>
          {rooms === null ? (
            <p className="muted">Loading…</p>
          ) : rooms.length === 0 ? (
            <p className="muted" data-testid="no-rooms">
              No open rooms. Create one, or paste an invite link above.
            </p>
          ) : (
            <ul className="room-list" data-testid="room-list">
              {rooms.map((room) => (
                <li key={room.id} data-testid="room-row" data-room-id={room.id} data-occupancy={room.participants.length}>
                  <div className="room-info">
                    <strong className="room-name">{room.name}</strong>
                    <span className="muted" data-testid="room-occupancy">
                      {occupancy(room, me)}
                      {room.expires_at && <> · closes {new Date(room.expires_at).toLocaleTimeString([], { timeStyle: "short" })}</>}
                    </span>
                    <span className="participants">{room.participants.map((p) => p.display_name).join(", ")}</span>
                  </div>
                  <a className="button primary" href={roomHref(room.id, listenOnly)} data-testid="join-room">
                    Join<span className="visually-hidden"> {room.name}</span>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
      <aside className="lobby-side">
        <a className="button secondary voice-link" href={VOICE_HREF} data-testid="my-voice-link">
          My voice: translations spoken in your own voice
        </a>
        <TierCard me={me} />
        <TierTable tiers={tiers} current={me.effective.tier} />
      </aside>
    </main>
  );
}
