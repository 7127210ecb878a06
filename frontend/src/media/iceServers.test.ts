import { describe, expect, it } from "vitest";

import { rtcIceServers } from "./iceServers";

describe("rtcIceServers", () => {
  it("keeps TURN credentials and drops the nulls of a STUN entry", () => {
    expect(
      rtcIceServers([
        { urls: ["stun:turn.example.org:3478"], username: null, credential: null },
        { urls: ["turn:turn.example.org:3478?transport=udp"], username: "1767225600:u1", credential: "c2lnbg==" },
      ]),
    ).toEqual([
      { urls: ["stun:turn.example.org:3478"] },
      { urls: ["turn:turn.example.org:3478?transport=udp"], username: "1767225600:u1", credential: "c2lnbg==" },
    ]);
  });

  it("gives none when the answer has none", () => {
    expect(rtcIceServers(undefined)).toEqual([]);
    expect(rtcIceServers([])).toEqual([]);
  });
});
