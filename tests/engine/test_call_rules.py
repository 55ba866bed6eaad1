"""Unit tests of rule 3's core (``client_desktop.engine.call_rules.CallRules``) with an explicit clock.

No peer connections and no sleeping: room events, relayed signal payloads,
link reports and a float ``now`` go in, action values come out, and the tests
compare the whole lists. Our own id is ``b`` throughout, so peer ``a`` has the
smaller id (it retries and wins crossed offers) and ``c`` and ``d`` the larger.
"""

from collections.abc import Callable, Mapping

import pytest

from client_desktop.engine.call_rules import (
    ANSWER_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    OFFER_FALLBACK_S,
    RESTART_WAIT_S,
    RETRY_DELAY_S,
    AcceptOffer,
    AddCandidate,
    ApplyAnswer,
    CallAction,
    CallRules,
    CallTiming,
    CloseLink,
    LinkId,
    MakeOffer,
    ReportState,
    SignalPeer,
)
from client_desktop.engine.events import CallState
from protocol.signals import Answer, Bye, Candidate, Offer, Signal, signal_payload

T0 = 1000.0
ME = "b"
L1, L2, L3 = LinkId(1), LinkId(2), LinkId(3)


# --- helpers -------------------------------------------------------------------------------


def in_room(peers: Mapping[str, bool], voice: bool = True, now: float = T0) -> CallRules:
    """Rules freshly joined as ``b`` with these peers (id -> voice); what the join did is dropped."""
    rules = CallRules()
    rules.joined(ME, peers, voice, resumed=False, now=now)
    return rules


def offered_to(peer_id: str) -> CallRules:
    """Rules in a call with ``peer_id`` alone, our offer (link 1) sent and awaiting its answer."""
    rules = in_room({peer_id: True})
    assert rules.link_of(peer_id) == L1
    assert rules.offerer(peer_id) is True
    return rules


def answering(peer_id: str) -> CallRules:
    """Rules that arrived in a call with ``peer_id`` and accepted its offer (link 1)."""
    rules = in_room({}, voice=True)
    rules.peer_arrived(peer_id, True, T0)
    assert rules.signal_received(peer_id, payload(Offer(sdp="their-offer")), T0) == [
        AcceptOffer(peer_id, L1, "their-offer")
    ]
    return rules


def payload(signal: Signal) -> dict[str, object]:
    return signal_payload(signal)


def closed(peer_id: str, link: LinkId) -> list[CallAction]:
    """What dropping a link says, in order."""
    return [CloseLink(peer_id, link), ReportState(peer_id, CallState.CLOSED)]


# --- joining the room ----------------------------------------------------------------------


def test_fresh_join_with_voice_offers_to_every_peer_with_voice() -> None:
    rules = CallRules()
    actions = rules.joined(ME, {"a": True, "c": False, "d": True}, True, resumed=False, now=T0)
    assert actions == [MakeOffer("a", L1), MakeOffer("d", L2)]
    assert rules.self_id == ME
    assert rules.call_states == {"a": CallState.NEW, "d": CallState.NEW}
    assert (rules.offerer("a"), rules.offerer("c")) == (True, None)
    assert (rules.link_of("d"), rules.link_of("c")) == (L2, None)
    assert rules.connected_peers == []
    assert rules.get_timer() == T0 + ANSWER_TIMEOUT_S


def test_join_without_voice_offers_nothing() -> None:
    rules = CallRules()
    assert rules.joined(ME, {"a": True}, False, resumed=False, now=T0) == []
    assert rules.call_states == {}
    assert rules.get_timer() is None


def test_fresh_join_drops_every_link_and_starts_over() -> None:
    rules = offered_to("a")
    actions = rules.joined(ME, {"a": True}, True, resumed=False, now=T0 + 1)
    assert actions == [*closed("a", L1), MakeOffer("a", L2)]
    assert rules.get_timer() == T0 + 1 + ANSWER_TIMEOUT_S


def test_resumed_join_keeps_the_calls_whose_peer_is_still_in_the_call() -> None:
    rules = offered_to("a")
    assert rules.joined(ME, {"a": True}, True, resumed=True, now=T0 + 1) == []
    assert rules.link_of("a") == L1
    assert rules.get_timer() == T0 + ANSWER_TIMEOUT_S  # the answer timer runs on


def test_resumed_join_with_a_new_self_id_starts_over() -> None:
    rules = offered_to("a")
    actions = rules.joined("e", {"a": True}, True, resumed=True, now=T0)
    assert actions == [*closed("a", L1), MakeOffer("a", L2)]
    assert rules.self_id == "e"


def test_resumed_join_drops_the_peers_that_left_or_left_the_call() -> None:
    rules = in_room({"a": True, "c": True, "d": True})
    actions = rules.joined(ME, {"a": False, "c": True}, True, resumed=True, now=T0)
    assert actions == [*closed("a", L1), *closed("d", L3)]
    assert rules.call_states == {"c": CallState.NEW}


def test_resumed_join_offers_to_peers_in_the_call_without_a_link() -> None:
    rules = offered_to("a")
    assert rules.joined(ME, {"a": True, "c": True}, True, resumed=True, now=T0) == [MakeOffer("c", L2)]


def test_resumed_join_forgets_the_timers_of_peers_that_left() -> None:
    rules = in_room({})
    rules.peer_arrived("c", True, T0)
    assert rules.get_timer() == T0 + OFFER_FALLBACK_S
    assert rules.joined(ME, {}, True, resumed=True, now=T0) == []
    assert rules.get_timer() is None


# --- peers arriving, leaving, turning their voice on or off --------------------------------


def test_a_newcomer_offers_and_we_wait_without_a_timer_when_its_id_is_smaller() -> None:
    rules = in_room({})
    assert rules.peer_arrived("a", True, T0) == []
    assert rules.get_timer() is None
    assert rules.call_states == {}


def test_the_smaller_id_offers_after_the_fallback_delay_when_the_promised_offer_does_not_come() -> None:
    rules = in_room({})
    assert rules.peer_arrived("c", True, T0) == []
    assert rules.get_timer() == T0 + OFFER_FALLBACK_S
    assert rules.handle_timer(T0 + OFFER_FALLBACK_S - 0.01) == []
    assert rules.handle_timer(T0 + OFFER_FALLBACK_S) == [MakeOffer("c", L1)]
    assert rules.offerer("c") is True
    assert rules.get_timer() == T0 + OFFER_FALLBACK_S + ANSWER_TIMEOUT_S


def test_an_offer_arriving_in_time_cancels_the_fallback() -> None:
    rules = in_room({})
    rules.peer_arrived("c", True, T0)
    actions = rules.signal_received("c", payload(Offer(sdp="o")), T0 + 0.5)
    assert actions == [AcceptOffer("c", L1, "o")]
    assert rules.offerer("c") is False
    assert rules.get_timer() == T0 + 0.5 + ANSWER_TIMEOUT_S  # the fallback's place: the link's deadline


def test_no_fallback_for_a_newcomer_without_voice_or_when_we_are_not_in_the_call() -> None:
    rules = in_room({})
    assert rules.peer_arrived("c", False, T0) == []
    assert rules.get_timer() is None
    muted = in_room({}, voice=False)
    assert muted.peer_arrived("c", True, T0) == []
    assert muted.get_timer() is None


def test_a_departed_peer_loses_its_link_and_its_signals_are_ignored() -> None:
    rules = offered_to("a")
    assert rules.peer_departed("a") == closed("a", L1)
    assert rules.get_timer() is None
    assert rules.signal_received("a", payload(Offer(sdp="o")), T0 + 2) == []
    assert rules.peer_departed("a") == []


def test_a_peer_turning_voice_on_is_expected_to_offer() -> None:
    rules = in_room({"a": False, "c": False})
    assert rules.peer_voice("a", True, T0) == []
    assert rules.get_timer() is None  # a is smaller: it offers, we wait
    assert rules.peer_voice("c", True, T0) == []
    assert rules.get_timer() == T0 + OFFER_FALLBACK_S
    assert rules.handle_timer(T0 + OFFER_FALLBACK_S) == [MakeOffer("c", L1)]


def test_a_peer_already_linked_is_not_expected_to_offer_again() -> None:
    rules = offered_to("c")
    assert rules.peer_voice("c", True, T0 + 1) == []  # e.g. it muted: still in the call
    assert rules.get_timer() == T0 + ANSWER_TIMEOUT_S
    assert rules.link_of("c") == L1


def test_a_peer_turning_voice_off_ends_the_call_with_it() -> None:
    rules = offered_to("a")
    assert rules.peer_voice("a", False, T0 + 1) == closed("a", L1)
    assert rules.call_states == {}
    assert rules.get_timer() is None


def test_the_voice_of_an_unknown_peer_is_ignored() -> None:
    rules = in_room({})
    assert rules.peer_voice("c", True, T0) == []
    assert rules.get_timer() is None
    assert rules.signal_received("c", payload(Offer(sdp="o")), T0) == []


# --- our own voice ---------------------------------------------------------------------------


def test_turning_voice_on_offers_to_every_peer_with_voice_whatever_their_ids() -> None:
    rules = in_room({"a": True, "c": False, "d": True}, voice=False)
    assert rules.set_voice(True, T0) == [MakeOffer("a", L1), MakeOffer("d", L2)]
    assert rules.set_voice(True, T0) == []


def test_turning_voice_off_says_bye_to_every_linked_peer_and_cancels_every_timer() -> None:
    rules = in_room({"a": True, "d": True})
    rules.peer_arrived("e", True, T0)  # a fallback timer, with no link
    actions = rules.set_voice(False, T0 + 1)
    assert actions == [
        SignalPeer("a", Bye()),
        *closed("a", L1),
        SignalPeer("d", Bye()),
        *closed("d", L2),
    ]
    assert rules.get_timer() is None
    assert rules.set_voice(False, T0 + 2) == []


def test_an_offer_while_we_are_not_in_the_call_is_answered_with_bye() -> None:
    rules = in_room({"a": True}, voice=False)
    assert rules.signal_received("a", payload(Offer(sdp="o")), T0) == [SignalPeer("a", Bye())]
    assert rules.call_states == {}


# --- signals -------------------------------------------------------------------------------


def test_the_answer_to_our_offer_is_applied_once_and_starts_the_connect_timer() -> None:
    rules = offered_to("a")
    assert rules.signal_received("a", payload(Answer(sdp="ans")), T0 + 1) == [ApplyAnswer(L1, "ans")]
    assert rules.get_timer() == T0 + 1 + CONNECT_TIMEOUT_S
    assert rules.signal_received("a", payload(Answer(sdp="again")), T0 + 2) == []
    assert rules.get_timer() == T0 + 1 + CONNECT_TIMEOUT_S


# --- connecting, and paths that break ------------------------------------------------------


def answered(peer_id: str) -> CallRules:
    """Rules whose offer (link 1) to ``peer_id`` was answered at ``T0 + 1``."""
    rules = offered_to(peer_id)
    rules.signal_received(peer_id, payload(Answer(sdp="ans")), T0 + 1)
    return rules


def connected_to(peer_id: str) -> CallRules:
    rules = answered(peer_id)
    rules.link_state(L1, CallState.CONNECTED, T0 + 2)
    return rules


def test_connecting_in_time_stops_the_connect_timer() -> None:
    rules = answered("c")
    assert rules.link_state(L1, CallState.CONNECTING, T0 + 1.5) == [ReportState("c", CallState.CONNECTING)]
    assert rules.get_timer() == T0 + 1 + CONNECT_TIMEOUT_S
    assert rules.link_state(L1, CallState.CONNECTED, T0 + 2) == [ReportState("c", CallState.CONNECTED)]
    assert rules.get_timer() is None


def test_an_answered_link_that_never_connects_fails_and_the_smaller_id_rebuilds_it() -> None:
    rules = answered("c")
    rules.link_state(L1, CallState.CONNECTING, T0 + 1.5)
    deadline = T0 + 1 + CONNECT_TIMEOUT_S
    assert rules.handle_timer(deadline - 0.01) == []
    assert rules.handle_timer(deadline) == closed("c", L1)
    assert rules.handle_timer(deadline + RETRY_DELAY_S) == [MakeOffer("c", L2)]


def test_an_accepted_offer_that_never_connects_fails_and_the_larger_id_waits() -> None:
    rules = answering("a")  # a offered at T0: it rebuilds, not us
    assert rules.get_timer() == T0 + ANSWER_TIMEOUT_S
    assert rules.handle_timer(T0 + ANSWER_TIMEOUT_S) == closed("a", L1)
    assert rules.get_timer() is None


def test_a_stalled_link_is_renegotiated_at_once_by_the_smaller_id() -> None:
    rules = connected_to("c")
    assert rules.link_stalled(L1, T0 + 30) == [*closed("c", L1), MakeOffer("c", L2)]
    assert (rules.link_of("c"), rules.offerer("c")) == (L2, True)
    assert rules.get_timer() == T0 + 30 + ANSWER_TIMEOUT_S


def test_the_larger_id_waits_for_the_new_offer_after_a_stall() -> None:
    rules = connected_to("a")
    assert rules.link_stalled(L1, T0 + 30) == []
    assert rules.get_timer() == T0 + 30 + RESTART_WAIT_S
    assert rules.signal_received("a", payload(Offer(sdp="new")), T0 + 30.2) == [
        *closed("a", L1),
        AcceptOffer("a", L2, "new"),
    ]
    assert rules.get_timer() == T0 + 30.2 + ANSWER_TIMEOUT_S  # the restart timer is gone


def test_the_larger_id_offers_itself_when_no_new_offer_comes_after_a_stall() -> None:
    rules = connected_to("a")
    rules.link_stalled(L1, T0 + 30)
    assert rules.handle_timer(T0 + 30 + RESTART_WAIT_S) == [*closed("a", L1), MakeOffer("a", L2)]


@pytest.mark.parametrize("state", [CallState.NEW, CallState.CONNECTING])
def test_only_a_connected_link_can_stall(state: CallState) -> None:
    rules = answered("c")
    if state is not CallState.NEW:
        rules.link_state(L1, state, T0 + 1.5)
    assert rules.link_stalled(L1, T0 + 2) == []
    assert rules.link_of("c") == L1


def test_a_stall_of_a_replaced_link_is_ignored() -> None:
    rules = connected_to("c")
    rules.link_stalled(L1, T0 + 30)
    assert rules.link_stalled(L1, T0 + 31) == []
    assert rules.link_of("c") == L2


def test_an_answer_without_our_offer_is_ignored() -> None:
    assert in_room({"a": True}, voice=False).signal_received("a", payload(Answer(sdp="x")), T0) == []
    assert answering("c").signal_received("c", payload(Answer(sdp="x")), T0) == []


def test_candidates_go_to_the_current_link_only() -> None:
    candidate = Candidate(
        candidate="candidate:1 1 udp 1 10.0.0.1 5000 typ host", sdp_mid="0", sdp_mline_index=0
    )
    rules = offered_to("a")
    assert rules.signal_received("a", payload(candidate), T0) == [AddCandidate(L1, candidate)]
    end = Candidate(candidate="")
    assert rules.signal_received("a", payload(end), T0) == [AddCandidate(L1, end)]
    assert in_room({"a": True}, voice=False).signal_received("a", payload(candidate), T0) == []


def test_bye_ends_the_call_and_nobody_retries() -> None:
    rules = offered_to("c")  # we are the smaller id, yet a bye is no failure
    assert rules.signal_received("c", payload(Bye()), T0 + 1) == closed("c", L1)
    assert rules.get_timer() is None
    assert rules.signal_received("c", payload(Bye()), T0 + 2) == []


def test_crossed_offers_our_offer_wins_when_our_id_is_smaller() -> None:
    rules = offered_to("c")
    assert rules.signal_received("c", payload(Offer(sdp="theirs")), T0 + 1) == []
    assert (rules.link_of("c"), rules.offerer("c")) == (L1, True)
    assert rules.get_timer() == T0 + ANSWER_TIMEOUT_S  # still waiting for the answer to ours


def test_crossed_offers_their_offer_wins_when_their_id_is_smaller() -> None:
    rules = offered_to("a")
    actions = rules.signal_received("a", payload(Offer(sdp="theirs")), T0 + 1)
    assert actions == [*closed("a", L1), AcceptOffer("a", L2, "theirs")]
    assert (rules.link_of("a"), rules.offerer("a")) == (L2, False)
    assert rules.get_timer() == T0 + 1 + ANSWER_TIMEOUT_S  # our answer timer gave way to the link's deadline


def test_a_new_offer_replaces_an_answered_link() -> None:
    rules = offered_to("c")
    rules.signal_received("c", payload(Answer(sdp="ans")), T0)
    actions = rules.signal_received("c", payload(Offer(sdp="rebuilt")), T0 + 5)
    assert actions == [*closed("c", L1), AcceptOffer("c", L2, "rebuilt")]


def test_a_new_offer_replaces_the_link_we_answered() -> None:
    rules = answering("c")
    actions = rules.signal_received("c", payload(Offer(sdp="again")), T0 + 5)
    assert actions == [*closed("c", L1), AcceptOffer("c", L2, "again")]


def test_a_malformed_signal_fails_that_peers_link_only_and_the_smaller_id_retries() -> None:
    rules = in_room({"a": True, "c": True})
    bad_offer = {"kind": "offer"}  # no sdp
    assert rules.signal_received("c", bad_offer, T0 + 1) == closed("c", L2)
    assert rules.call_states == {"a": CallState.NEW}
    assert rules.get_timer() == T0 + 1 + RETRY_DELAY_S
    assert rules.handle_timer(T0 + 1 + RETRY_DELAY_S) == [MakeOffer("c", L3)]
    # From the smaller id: we drop the link and leave the retry to it.
    assert rules.signal_received("a", {"kind": "answer", "sdp": ""}, T0 + 2) == closed("a", L1)
    assert rules.call_states == {"c": CallState.NEW}
    assert rules.get_timer() == T0 + 1 + RETRY_DELAY_S + ANSWER_TIMEOUT_S


def test_unknown_signal_kinds_are_ignored() -> None:
    rules = offered_to("a")
    assert rules.signal_received("a", {"kind": "renegotiate", "sdp": "x"}, T0) == []
    assert rules.signal_received("a", {"sdp": "x"}, T0) == []
    assert rules.call_states == {"a": CallState.NEW}


def test_a_peer_cannot_send_us_a_command() -> None:
    """Our own decisions never travel as wire payloads: ``_offer`` is just an unknown kind."""
    rules = offered_to("c")
    assert rules.signal_received("c", {"kind": "bye"}, T0) == closed("c", L1)  # both in the call, no link
    assert rules.signal_received("c", {"kind": "_offer"}, T0) == []
    assert rules.call_states == {}
    assert rules.get_timer() is None


# --- what the peer connections report --------------------------------------------------------


def test_the_local_description_goes_out_as_offer_or_answer() -> None:
    assert offered_to("a").described(L1, "mine") == [SignalPeer("a", Offer(sdp="mine"))]
    assert answering("c").described(L1, "mine") == [SignalPeer("c", Answer(sdp="mine"))]


def test_link_states_are_reported_once_per_change() -> None:
    rules = in_room({"a": True, "c": True})
    assert rules.link_state(L2, CallState.CONNECTING, T0) == [ReportState("c", CallState.CONNECTING)]
    assert rules.link_state(L2, CallState.CONNECTING, T0) == []
    assert rules.link_state(L2, CallState.CONNECTED, T0) == [ReportState("c", CallState.CONNECTED)]
    assert rules.link_state(L1, CallState.CONNECTED, T0) == [ReportState("a", CallState.CONNECTED)]
    assert rules.connected_peers == ["a", "c"]  # in the order the links were made
    assert rules.call_states == {"a": CallState.CONNECTED, "c": CallState.CONNECTED}


def test_a_failed_link_is_dropped_and_the_smaller_id_rebuilds_it() -> None:
    rules = answering("c")
    assert rules.link_state(L1, CallState.FAILED, T0 + 1) == [
        ReportState("c", CallState.FAILED),
        *closed("c", L1),
    ]
    assert rules.get_timer() == T0 + 1 + RETRY_DELAY_S
    assert rules.handle_timer(T0 + 1 + RETRY_DELAY_S) == [MakeOffer("c", L2)]
    assert rules.offerer("c") is True


def test_a_failed_link_with_a_smaller_id_is_left_to_it_to_rebuild() -> None:
    rules = offered_to("a")
    assert rules.link_state(L1, CallState.FAILED, T0 + 1) == [
        ReportState("a", CallState.FAILED),
        *closed("a", L1),
    ]
    assert rules.get_timer() is None


def test_an_error_on_a_link_fails_it_like_a_failed_state() -> None:
    rules = offered_to("c")
    assert rules.link_failed(L1, "bad sdp", T0 + 1) == closed("c", L1)
    assert rules.handle_timer(T0 + 1 + RETRY_DELAY_S) == [MakeOffer("c", L2)]


def test_no_retry_when_the_peer_left_the_call_meanwhile() -> None:
    rules = offered_to("c")
    rules.link_failed(L1, "ice", T0)
    assert rules.peer_voice("c", False, T0 + 0.1) == []
    assert rules.get_timer() is None
    assert rules.handle_timer(T0 + 1) == []


def test_an_unanswered_offer_fails_and_the_smaller_id_offers_again() -> None:
    rules = offered_to("c")
    assert rules.handle_timer(T0 + ANSWER_TIMEOUT_S - 0.01) == []
    assert rules.handle_timer(T0 + ANSWER_TIMEOUT_S) == closed("c", L1)
    retry_at = T0 + ANSWER_TIMEOUT_S + RETRY_DELAY_S
    assert rules.get_timer() == retry_at
    assert rules.handle_timer(retry_at) == [MakeOffer("c", L2)]


def test_an_unanswered_offer_to_a_smaller_id_fails_without_retry() -> None:
    rules = offered_to("a")
    assert rules.handle_timer(T0 + ANSWER_TIMEOUT_S) == closed("a", L1)
    assert rules.get_timer() is None


def test_timing_is_configurable() -> None:
    rules = CallRules(CallTiming(answer_timeout_s=2.0, retry_delay_s=0.25, offer_fallback_s=0.125))
    rules.joined(ME, {"c": True}, True, resumed=False, now=T0)
    assert rules.get_timer() == T0 + 2.0
    assert rules.handle_timer(T0 + 2.0) == closed("c", L1)
    assert rules.get_timer() == T0 + 2.25
    rules.peer_arrived("d", True, T0 + 2.0)
    assert rules.get_timer() == T0 + 2.125


@pytest.mark.parametrize(
    "report",
    [
        lambda r: r.described(L1, "late"),
        lambda r: r.link_state(L1, CallState.CONNECTED, T0),
        lambda r: r.link_failed(L1, "late", T0),
    ],
    ids=["described", "link_state", "link_failed"],
)
def test_reports_about_a_replaced_link_are_ignored(report: Callable[[CallRules], list[CallAction]]) -> None:
    rules = offered_to("a")
    rules.signal_received("a", payload(Offer(sdp="theirs")), T0)  # link 2 replaces link 1
    assert report(rules) == []
    assert rules.call_states == {"a": CallState.NEW}
    assert rules.link_of("a") == L2
