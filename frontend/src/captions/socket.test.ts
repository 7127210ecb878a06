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

  send(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
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
