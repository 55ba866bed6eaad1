"""The per-room chat order of a replica: once each, in id order, gaps read back after a second."""

from protocol import ChatPosted
from signaling_server.chat_order import GAP_WAIT_S, ChatOrder


def chat(n: int) -> ChatPosted:
    return ChatPosted(id=n, from_="p", username="u", text=f"t{n}", ts=n)


def ids(chats: list[ChatPosted]) -> list[int]:
    return [c.id for c in chats]


def test_chats_wait_for_the_one_before_and_come_once() -> None:
    order = ChatOrder()
    order.start("r", 4)
    assert ids(order.offer("r", chat(6), 0.0)) == []
    assert ids(order.offer("r", chat(4), 0.0)) == []  # known before the start
    assert ids(order.offer("r", chat(5), 0.1)) == [5, 6]
    assert ids(order.offer("r", chat(6), 0.2)) == []  # announced twice
    assert order.delivered("r") == 6
    assert order.overdue(10.0) == []


def test_a_room_not_followed_delivers_nothing_and_a_second_start_keeps_the_place() -> None:
    order = ChatOrder()
    assert order.offer("r", chat(1), 0.0) == []
    assert order.delivered("r") is None
    order.start("r", 0)
    assert ids(order.offer("r", chat(1), 0.0)) == [1]
    order.start("r", 0)
    assert order.delivered("r") == 1


def test_a_gap_is_read_back_after_a_second_then_again_until_filled() -> None:
    order = ChatOrder()
    order.start("r", 0)
    order.offer("r", chat(3), 0.0)
    assert order.overdue(GAP_WAIT_S / 2) == []
    assert order.overdue(GAP_WAIT_S) == [("r", 0)]
    assert order.overdue(GAP_WAIT_S + 0.1) == []  # asked; again only a second later
    assert order.overdue(2 * GAP_WAIT_S) == [("r", 0)]
    assert ids(order.fill("r", [chat(1), chat(2), chat(3)], 2.0)) == [1, 2, 3]
    assert order.overdue(10.0) == []


def test_an_id_the_store_no_longer_has_is_skipped() -> None:
    order = ChatOrder()
    order.start("r", 0)
    order.offer("r", chat(5), 0.0)
    assert ids(order.fill("r", [chat(3), chat(4)], 1.0)) == [3, 4, 5]  # 1 and 2 were pruned


def test_rooms_without_members_here_are_forgotten() -> None:
    order = ChatOrder()
    order.start("a", 0)
    order.start("b", 0)
    order.keep_only({"b"})
    assert order.rooms() == ["b"]
