// The join answer's `ice_servers` (STUN/TURN with time-limited TURN credentials, issue 8) as the
// RTCIceServer entries RTCPeerConnection takes: null username/credential (a STUN entry) left out.
import type { IceServer } from "../api/types";

export function rtcIceServers(servers: IceServer[] | undefined): RTCIceServer[] {
  return (servers ?? []).map(({ urls, username, credential }) => ({
    urls,
    ...(username != null ? { username } : {}),
    ...(credential != null ? { credential } : {}),
  }));
}
