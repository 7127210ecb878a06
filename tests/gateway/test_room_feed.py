"""The room feed's merge of one XREAD over a room's streams (finals, partials, notices) into one order."""

from babelroom.gateway.room_feed import in_order, room_streams

PARTIALS, FINALS, NOTICES = room_streams("r")


def reply(**streams: list[str]) -> list:
    names = {"partials": PARTIALS, "finals": FINALS, "notices": NOTICES}
    return [(names[k].encode(), [(i.encode(), {b"m": i.encode()}) for i in ids]) for k, ids in streams.items()]


def ids(entries) -> list[tuple[str, str]]:
    return [(stream, entry_id) for stream, entry_id, _ in entries]


def test_entries_of_all_streams_come_in_id_order_partials_first_within_a_millisecond():
    got = in_order(reply(finals=["5-0", "9-0"], partials=["4-0", "5-0", "5-1", "7-0"], notices=["6-0"]),
                   room_streams("r"), count=100)
    assert ids(got) == [(PARTIALS, "4-0"), (PARTIALS, "5-0"), (PARTIALS, "5-1"), (FINALS, "5-0"), (NOTICES, "6-0"),
                        (PARTIALS, "7-0"), (FINALS, "9-0")]


def test_entries_after_the_last_of_a_full_stream_wait_for_the_next_read():
    """A stream that returned ``count`` entries may hold older entries than another stream's next ones."""
    got = in_order(reply(partials=["1-0", "2-0", "3-0"], finals=["2-5", "8-0"]), room_streams("r"), count=3)
    assert ids(got) == [(PARTIALS, "1-0"), (PARTIALS, "2-0"), (FINALS, "2-5"), (PARTIALS, "3-0")]
