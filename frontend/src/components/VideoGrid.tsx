// The video grid: one tile per participant, with their video when the relay delivers it and their
// initials otherwise (listen-only participants, or no relay). A remote tile's <video> plays that
// participant's voice; it is registered with the ducker (when given) so their translated speech can
// lower it.
import { useEffect, useRef } from "react";

import type { MediaDucker } from "../playback/ducking";

export interface Tile {
  id: string;
  display: string;
  stream: MediaStream | null;
  local: boolean;
  micOff?: boolean;
  cameraOff?: boolean;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  return (parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : parts[0][0]).toUpperCase();
}

export function VideoTile({ tile, ducker }: { tile: Tile; ducker?: MediaDucker }) {
  const video = useRef<HTMLVideoElement>(null);
  const hasVideo = !!tile.stream && tile.stream.getVideoTracks().length > 0 && !tile.cameraOff;
  useEffect(() => {
    const el = video.current;
    if (el && el.srcObject !== tile.stream) el.srcObject = tile.stream;
  }, [tile.stream]);
  const hasStream = !!tile.stream;
  useEffect(() => {
    const el = video.current;
    if (!ducker || tile.local || !hasStream || !el) return;
    return ducker.register(tile.id, el);
  }, [ducker, tile.id, tile.local, hasStream]);
  return (
    <figure
      className={`video-tile${tile.local ? " local" : ""}`}
      data-testid="video-tile"
      data-display={tile.display}
      data-participant={tile.id}
      data-local={tile.local}
      data-has-video={hasVideo}
    >
      {tile.stream ? (
        <video ref={video} autoPlay playsInline muted={tile.local} aria-label={`Video of ${tile.display}`} hidden={!hasVideo} />
      ) : null}
      {!hasVideo && (
        <div className="avatar" aria-hidden="true">
          {initials(tile.display)}
        </div>
      )}
      <figcaption>
        <span className="name">{tile.display}</span>
        {tile.local && <span className="you"> (you)</span>}
        {tile.micOff && (
          <span className="state" aria-label="microphone off">
            {" "}
            · muted
          </span>
        )}
      </figcaption>
    </figure>
  );
}

export function VideoGrid({ tiles, ducker }: { tiles: Tile[]; ducker?: MediaDucker }) {
  const columns = Math.max(1, Math.ceil(Math.sqrt(tiles.length)));
  return (
    <div className="video-grid" data-testid="video-grid" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
      {tiles.map((tile) => (
        <VideoTile key={`${tile.local ? "local" : "remote"}-${tile.id}`} tile={tile} ducker={ducker} />
      ))}
    </div>
  );
}
