import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { CaptionSocket, captionsUrl, type CaptionSocketOptions, type SocketState, type WebSocketLike } from "./socket";

class FakeSocket implements WebSocketLike {
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closedWith: number | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  open() {
    this.onopen?.({} as Event);
  }

  binaryType?: string;

  send(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }

  sendBinary(data: ArrayBuffer) {
    this.onmessage?.({ data } as MessageEvent);
  }

  serverClose(code: number, reason = "") {
    this.onclose?.({ code, reason } as CloseEvent);
  }

  close(code?: number) {
    this.closedWith = code ?? 1000;
  }
}

function setup(overrides: Partial<CaptionSocketOptions> = {}) {
  const sockets: FakeSocket[] = [];
  const states: SocketState[] = [];
  const captions: unknown[] = [];
  let lastRoomSeq = 0;
  let token = "tok-1";
  const refreshToken = vi.fn(async () => {
    token = "tok-2";
    return true;
  });
  const socket = new CaptionSocket({
    wsBase: "ws://gw",
    room: "room-1",
    lang: "es",
    lastRoomSeq: () => lastRoomSeq,
    token: () => token,
    refreshToken,
    onCaption: (m) => {
      captions.push(m);
      if (m.type === "final") lastRoomSeq = Math.max(lastRoomSeq, m.room_seq);
    },
    onState: (s) => states.push(s),
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    ...overrides,
  });
  return { socket, sockets, states, captions, refreshToken, last: () => sockets[sockets.length - 1] };
}

const final = (roomSeq: number) => ({
  type: "final",
  segment_id: `s${roomSeq}`,
  room_seq: roomSeq,
  text: "Hi.",
  translation: { language: "es", text: "Hola.", backend: "apertium" },
});

describe("CaptionSocket", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("builds the caption URL with lang and since", () => {
    expect(captionsUrl("ws://gw", "room 1", "es", 7)).toBe("ws://gw/ws/rooms/room%201/captions?lang=es&since=7");
    expect(captionsUrl("wss://gw", "r", "fr", null)).toBe("wss://gw/ws/rooms/r/captions?lang=fr");
  });

  it("sends the token as the bearer subprotocol and replays from 0 on the first connection", () => {
    const { socket, last } = setup();
    socket.start();
    expect(last().url).toBe("ws://gw/ws/rooms/room-1/captions?lang=es&since=0");
    expect(last().protocols).toEqual(["bearer", "tok-1"]);
  });

  it("reconnects after a drop with since = the last room_seq, backing off", () => {
    const { socket, sockets, states, captions, last } = setup();
    socket.start();
    last().open();
    last().send(final(4));
    last().send(final(5));
    last().send({ type: "notice", code: "room_expiring", message: "soon" }); // not a caption
    expect(captions).toHaveLength(2);
    last().serverClose(1006);
    expect(states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1, closeCode: 1006 });
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    expect(last().url).toContain("since=5");
    last().serverClose(1011); // failed again before opening: the wait doubles
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    last().open();
    expect(states.at(-1)).toMatchObject({ status: "open", attempt: 0 });
  });

  it("refreshes the token after 4401 and reconnects with the new one", async () => {
    const { socket, sockets, refreshToken, last } = setup();
    socket.start();
    last().serverClose(4401, "unauthorized: token expired");
    await vi.runAllTimersAsync();
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(sockets).toHaveLength(2);
    expect(last().protocols).toEqual(["bearer", "tok-2"]);
  });

  it("stops for good on 4410 (room closed) and 4403 (not admitted)", () => {
    for (const code of [4410, 4403, 4400]) {
      const { socket, sockets, states, last } = setup();
      socket.start();
      last().open();
      last().serverClose(code, "room closed (closed)");
      vi.advanceTimersByTime(60_000);
      expect(sockets).toHaveLength(1);
      expect(states.at(-1)).toMatchObject({ status: "closed", closeCode: code });
    }
  });

  it("stops for good on 4409 (replaced by a newer connection)", () => {
    const { socket, sockets, states, last } = setup();
    socket.start();
    last().open();
    last().serverClose(4409, "replaced");
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
    expect(states.at(-1)).toMatchObject({ status: "closed", closeCode: 4409, closeReason: "replaced" });
  });

  it.each([
    [1013, 2_000, 30_000],
    [4429, 5_000, 60_000],
  ])("comes back later after %i: from %i ms, doubling, up to %i ms", (code, first, max) => {
    const { socket, sockets, states, last } = setup();
    socket.start();
    last().open();
    last().serverClose(code, "try again later: redis unavailable");
    expect(states.at(-1)).toMatchObject({ status: "reconnecting", attempt: 1, closeCode: code });
    vi.advanceTimersByTime(first - 1);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    last().serverClose(code);
    vi.advanceTimersByTime(2 * first - 1);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    for (let i = 0; i < 8; i++) {
      last().serverClose(code);
      vi.advanceTimersByTime(max);
    }
    expect(sockets).toHaveLength(11); // capped at max: one new try per max wait
    last().open();
    expect(states.at(-1)).toMatchObject({ status: "open", attempt: 0 });
  });

  it("hands a history_lost notice to the page", () => {
    const notices: unknown[] = [];
    const { socket, last } = setup({ onNotice: (n) => notices.push(n) });
    socket.start();
    last().open();
    last().send({ type: "notice", code: "history_lost", reason: "trimmed", message: "captions after room_seq 3 are no longer kept" });
    expect(notices).toEqual([expect.objectContaining({ code: "history_lost", reason: "trimmed" })]);
  });

  it("switches language by reconnecting with the new lang and since", () => {
    const { socket, sockets, last } = setup();
    socket.start();
    last().open();
    last().send(final(9));
    const old = last();
    socket.setLanguage("fr");
    expect(old.closedWith).toBe(1000);
    expect(sockets).toHaveLength(2);
    expect(last().url).toBe("ws://gw/ws/rooms/room-1/captions?lang=fr&since=9");
    old.serverClose(1000); // the old socket's close event no longer reaches the client
    expect(sockets).toHaveLength(2);
  });

  it("does not reconnect after stop()", () => {
    const { socket, sockets, last } = setup();
    socket.start();
    last().open();
    socket.stop();
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });
});

const speech = (segment: string, bytes: number) => ({
  type: "speech",
  segment_id: segment,
  speaker: "u-ana",
  speaker_name: "Ana",
  seq: 1,
  room_seq: 1,
  translation: { language: "es", text: "Hola." },
  codec: "opus",
  sample_rate: 48000,
  duration_ms: 800,
  tts_backend: "espeak",
  voice: "es",
  audio_bytes: bytes,
});

describe("CaptionSocket in audio mode", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function audioSetup() {
    const spoken: [string, number][] = [];
    const warnings: string[] = [];
    const t = setup({
      audio: true,
      onSpeech: (header, audio) => spoken.push([header.segment_id, audio.byteLength]),
      warn: (message) => warnings.push(message),
    });
    t.socket.start();
    t.last().open();
    return { ...t, spoken, warnings };
  }

  it("asks for audio=1 and binary frames as ArrayBuffer", () => {
    const { last } = audioSetup();
    expect(last().url).toBe("ws://gw/ws/rooms/room-1/captions?lang=es&since=0&audio=1");
    expect(last().binaryType).toBe("arraybuffer");
    expect(captionsUrl("ws://gw", "r", "es", null, false)).toBe("ws://gw/ws/rooms/r/captions?lang=es");
  });

  it("pairs each speech header with the next binary frame, captions passing in between", () => {
    const { last, spoken, captions, warnings } = audioSetup();
    last().send(speech("s1", 4));
    last().send(final(1));
    last().sendBinary(new ArrayBuffer(4));
    last().send(speech("s2", 2));
    last().sendBinary(new ArrayBuffer(2));
    expect(spoken).toEqual([["s1", 4], ["s2", 2]]);
    expect(captions).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it("pairs a cloned voice's header (cloned_audio_ready) with its audio like the quick voice's", () => {
    const { last, spoken, warnings } = audioSetup();
    last().send(speech("s1", 4));
    last().sendBinary(new ArrayBuffer(4));
    last().send({ ...speech("s1", 6), type: "cloned_audio_ready", tts_backend: "xtts" });
    last().sendBinary(new ArrayBuffer(6));
    expect(spoken).toEqual([["s1", 4], ["s1", 6]]);
    expect(warnings).toEqual([]);
  });

  it("drops and logs a binary frame without a header or of the wrong length, and a header left alone", () => {
    const { socket, last, spoken, warnings } = audioSetup();
    last().sendBinary(new ArrayBuffer(3)); // no header
    last().send(speech("s1", 4));
    last().sendBinary(new ArrayBuffer(5)); // length mismatch: dropped, the header is used up
    last().sendBinary(new ArrayBuffer(4)); // no header any more
    last().send(speech("s2", 4));
    last().send(speech("s3", 1)); // s2 never got its audio
    last().sendBinary(new ArrayBuffer(1));
    last().sendBinary(new Uint8Array(2) as unknown as ArrayBuffer); // not an ArrayBuffer
    expect(spoken).toEqual([["s3", 1]]);
    expect(warnings).toEqual([
      "speech frame dropped: no speech header before it",
      "speech frame dropped: length differs from audio_bytes",
      "speech frame dropped: no speech header before it",
      "speech frame dropped: header without its audio",
      "speech frame dropped: not an ArrayBuffer",
    ]);
    expect(socket.dropped).toBe(5);
  });

  it("forgets a pending header when the socket reconnects", () => {
    const { last, spoken, warnings } = audioSetup();
    last().send(speech("s1", 4));
    last().serverClose(1006);
    vi.advanceTimersByTime(600);
    last().open();
    last().sendBinary(new ArrayBuffer(4));
    expect(spoken).toEqual([]);
    expect(warnings).toEqual(["speech frame dropped: no speech header before it"]);
  });

  it("turns audio on and off by reconnecting, with since", () => {
    const t = setup();
    t.socket.start();
    t.last().open();
    t.last().send(final(3));
    t.socket.setAudio(false); // unchanged: no reconnection
    expect(t.sockets).toHaveLength(1);
    t.socket.setAudio(true);
    expect(t.sockets[0].closedWith).toBe(1000);
    expect(t.last().url).toBe("ws://gw/ws/rooms/room-1/captions?lang=es&since=3&audio=1");
    t.last().open();
    t.socket.setAudio(false);
    expect(t.last().url).toBe("ws://gw/ws/rooms/room-1/captions?lang=es&since=3");
    expect(t.last().binaryType).toBeUndefined();
  });
});
