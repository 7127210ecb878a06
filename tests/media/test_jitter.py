"""The jitter buffer, driven with an explicit clock: order, wrap-around, duplicates, late packets,
losses and sender restarts."""

from __future__ import annotations

from babelroom.media.jitter import MAX_DROPOUT, JitterBuffer
from babelroom.media.rtp import RtpPacket


def pkt(seq: int) -> RtpPacket:
    return RtpPacket(111, False, seq & 0xFFFF, 960 * seq & 0xFFFFFFFF, 1, bytes([seq & 0xFF]))


def seqs(slots) -> list:
    return [(s.packet.sequence if s.packet else None) for s in slots]


def test_in_order_packets_pass_at_once():
    jb = JitterBuffer(max_wait_s=0.06)
    for k in range(5):
        slots = jb.push(pkt(k), now=k * 0.02)
        assert seqs(slots) == [k] and slots[0].held_s == 0
    assert jb.depth == 0 and jb.deadline() is None


def test_a_late_packet_within_the_wait_is_put_back_in_order():
    jb = JitterBuffer(max_wait_s=0.06)
    assert seqs(jb.push(pkt(0), 0.00)) == [0]
    assert seqs(jb.push(pkt(2), 0.04)) == []  # 1 is missing: 2 waits
    assert jb.deadline() == 0.04 + 0.06
    slots = jb.push(pkt(1), 0.05)
    assert seqs(slots) == [1, 2] and abs(slots[1].held_s - 0.01) < 1e-9
    assert jb.stats.reordered == 1 and jb.stats.lost == 0


def test_a_missing_packet_is_declared_lost_after_the_wait_and_a_late_one_dropped():
    jb = JitterBuffer(max_wait_s=0.06)
    jb.push(pkt(0), 0.00)
    jb.push(pkt(2), 0.04)
    jb.push(pkt(3), 0.06)
    assert jb.poll(0.099) == []
    slots = jb.poll(0.10)
    assert seqs(slots) == [None, 2, 3] and slots[0].index == 1
    assert jb.push(pkt(1), 0.11) == [] and jb.stats.late == 1 and jb.stats.lost == 1


def test_the_buffer_never_holds_more_than_max_packets():
    jb = JitterBuffer(max_wait_s=10.0, max_packets=3)
    jb.push(pkt(0), 0)
    assert [seqs(jb.push(pkt(k), 0)) for k in (2, 3, 4)] == [[], [], []]
    assert seqs(jb.push(pkt(5), 0)) == [None, 2, 3, 4, 5]


def test_duplicates_are_dropped_whether_held_or_released():
    jb = JitterBuffer()
    jb.push(pkt(0), 0)
    jb.push(pkt(2), 0)
    assert jb.push(pkt(2), 0) == [] and jb.push(pkt(0), 0) == []
    assert jb.stats.duplicates == 2 and jb.stats.late == 0


def test_sequence_numbers_wrap_around():
    jb = JitterBuffer(max_wait_s=0.06)
    out = []
    for k, seq in enumerate([65533, 65534, 0, 65535, 1, 2]):  # 0 arrives before 65535
        out += jb.push(pkt(seq), k * 0.02)
    assert seqs(out) == [65533, 65534, 65535, 0, 1, 2]
    assert [s.index for s in out] == list(range(65533, 65539))
    assert jb.stats.reordered == 1 and jb.stats.lost == 0


def test_a_sender_restart_resets_the_buffer_once_confirmed():
    jb = JitterBuffer()
    for k in range(3):
        jb.push(pkt(k), 0)
    far = 3 + MAX_DROPOUT + 100
    assert jb.push(pkt(far), 0) == []  # one far packet: maybe a stray
    assert seqs(jb.push(pkt(far + 1), 0)) == [far, far + 1]  # the next one confirms the restart
    assert jb.stats.resets == 1 and jb.stats.lost == 0


def test_a_stray_far_packet_is_ignored():
    jb = JitterBuffer()
    jb.push(pkt(0), 0)
    assert jb.push(pkt(40_000), 0) == []
    assert seqs(jb.push(pkt(1), 0)) == [1]
    assert jb.stats.resets == 0 and jb.stats.late == 1


def test_flush_releases_everything_with_the_losses():
    jb = JitterBuffer(max_wait_s=10.0)
    jb.push(pkt(0), 0)
    jb.push(pkt(3), 0)
    assert seqs(jb.flush(1.0)) == [None, None, 3] and jb.stats.lost == 2
