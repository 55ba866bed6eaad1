"""Rule 3 of protocol v1 as a pure core: room events, signals and a clock in, actions out.

Rule 3: a peer whose ``voice`` becomes true offers to every other peer whose
``voice`` is true; those answer and never offer first; when two offers cross,
the smaller peer id's offer wins. On top of the rule, four choices of ours
(``docs/protocol.md``): a link that fails, an offer left unanswered for
``answer_timeout_s``, or an answered link that does not connect within
``connect_timeout_s`` (ICE that cannot connect stays "checking" far longer),
is rebuilt by the peer with the smaller id, so exactly one side retries; when
both turned voice on at once (neither saw the other's voice in time, so
neither offered), the smaller id offers after ``offer_fallback_s``; a peer
not in the call answers an offer with ``bye``; a connected link whose audio
stopped (the path broke: an address change, a NAT rebinding, a relay
restart; aiortc has no ICE restart) is renegotiated on a new connection by
the smaller id at once, or by the larger after ``restart_wait_s`` if no new
offer came (a break that only the larger id sees).

``CallRules`` does no I/O and reads no clock, like aioquic's
``QuicConnection``: every input takes ``now`` and returns the actions to
execute, in order; after each call the owner re-arms one timer at
``get_timer()`` and calls ``handle_timer(now)`` when it fires. The owner (the
aiortc shell in ``mesh.py``) reports back what its peer connections did
(``described``, ``link_state``, ``link_failed``), naming the link by its
``LinkId``: a report about a link that was since replaced is ignored, so
slow or late work of an old connection can never touch the new one.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, auto
from typing import NewType

from protocol.signals import Answer, Bye, Candidate, Offer, Signal, SignalError, decode_signal

from .events import CallState

log = logging.getLogger("voxroom.call")

ANSWER_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
RETRY_DELAY_S = 0.5
OFFER_FALLBACK_S = 1.0
STALL_AFTER_S = 1.0
RESTART_WAIT_S = 1.0

LinkId = NewType("LinkId", int)


@dataclass(frozen=True, slots=True)
class CallTiming:
    answer_timeout_s: float = ANSWER_TIMEOUT_S
    """An offer unanswered this long fails the link; so does an accepted offer not connected by then."""
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    """An answered offer not connected this long fails the link."""
    retry_delay_s: float = RETRY_DELAY_S
    """The smaller id rebuilds a failed link after this pause."""
    offer_fallback_s: float = OFFER_FALLBACK_S
    """How long the smaller id waits for an offer rule 3 promised before making one itself."""
    stall_after_s: float = STALL_AFTER_S
    """A connected link that received audio and then nothing for this long has lost its path
    (every client sends a packet each 20 ms while in the call, silence included); the shell
    measures it and reports ``link_stalled``."""
    restart_wait_s: float = RESTART_WAIT_S
    """How long the larger id waits for the smaller id's new offer after a stall before offering."""


DEFAULT_TIMING = CallTiming()


# --- actions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MakeOffer:
    """Open a peer connection as the offerer; report its offer with ``described``."""

    peer_id: str
    link: LinkId


@dataclass(frozen=True, slots=True)
class AcceptOffer:
    """Open a peer connection with this remote offer; report its answer with ``described``."""

    peer_id: str
    link: LinkId
    sdp: str


@dataclass(frozen=True, slots=True)
class ApplyAnswer:
    link: LinkId
    sdp: str


@dataclass(frozen=True, slots=True)
class AddCandidate:
    link: LinkId
    candidate: Candidate


@dataclass(frozen=True, slots=True)
class CloseLink:
    peer_id: str
    link: LinkId


@dataclass(frozen=True, slots=True)
class SignalPeer:
    """Relay this signal to the peer through the server."""

    peer_id: str
    signal: Signal


@dataclass(frozen=True, slots=True)
class ReportState:
    """Tell the owner where the call with this peer stands."""

    peer_id: str
    state: CallState


CallAction = MakeOffer | AcceptOffer | ApplyAnswer | AddCandidate | CloseLink | SignalPeer | ReportState


# --- state ---------------------------------------------------------------------------


class _Timer(Enum):
    ANSWER_TIMEOUT = auto()
    CONNECT_TIMEOUT = auto()
    RETRY = auto()
    OFFER_FALLBACK = auto()
    RESTART = auto()


@dataclass(slots=True)
class _Link:
    peer_id: str
    id: LinkId
    offerer: bool
    awaiting_answer: bool
    state: CallState = CallState.NEW


class CallRules:
    """Our side of the calls with every peer of one room."""

    def __init__(self, timing: CallTiming = DEFAULT_TIMING) -> None:
        self.timing = timing
        self.self_id = ""
        self.voice = False
        self._peer_voice: dict[str, bool] = {}
        self._links: dict[str, _Link] = {}
        self._by_id: dict[LinkId, _Link] = {}
        self._timers: dict[str, tuple[float, _Timer]] = {}
        self._next_link = 0

    # --- queries -----------------------------------------------------------------

    @property
    def connected_peers(self) -> list[str]:
        """Peers whose call is connected, in the order their links were made."""
        return [p for p, link in self._links.items() if link.state is CallState.CONNECTED]

    @property
    def call_states(self) -> dict[str, CallState]:
        """Every peer we have a link with, and where that link stands."""
        return {p: link.state for p, link in self._links.items()}

    def offerer(self, peer_id: str) -> bool | None:
        """Whether our side made the current link's offer; None without a link."""
        link = self._links.get(peer_id)
        return None if link is None else link.offerer

    def link_of(self, peer_id: str) -> LinkId | None:
        link = self._links.get(peer_id)
        return None if link is None else link.id

    def get_timer(self) -> float | None:
        """When ``handle_timer`` must next be called, or None."""
        return min((at for at, _ in self._timers.values()), default=None)

    # --- what the room says ----------------------------------------------------------

    def joined(
        self, self_id: str, peers: Mapping[str, bool], voice: bool, resumed: bool, now: float
    ) -> list[CallAction]:
        """In the room (again); ``peers`` maps each other peer to its voice.

        A fresh join starts over; a resumed one keeps the calls that still have a peer.
        """
        actions: list[CallAction] = []
        if not resumed or self_id != self.self_id:
            for peer_id in list(self._links):
                self._drop(peer_id, actions)
        self.self_id, self.voice = self_id, voice
        self._peer_voice = dict(peers)
        for peer_id in [*self._links, *(p for p in self._timers if p not in self._links)]:
            if not peers.get(peer_id):  # gone, or its voice went off (and its `bye` was lost)
                self._drop(peer_id, actions)
        if voice:
            for peer_id, their_voice in peers.items():
                if their_voice:
                    self._offer(peer_id, now, actions)
        return actions

    def peer_arrived(self, peer_id: str, voice: bool, now: float) -> list[CallAction]:
        """A newcomer offers to us, not we to it."""
        self._peer_voice[peer_id] = voice
        actions: list[CallAction] = []
        if voice:
            self._expect_offer(peer_id, now)
        return actions

    def peer_departed(self, peer_id: str) -> list[CallAction]:
        self._peer_voice.pop(peer_id, None)
        actions: list[CallAction] = []
        self._drop(peer_id, actions)
        return actions

    def peer_voice(self, peer_id: str, voice: bool, now: float) -> list[CallAction]:
        """A peer's state changed; only its ``voice`` matters to the call."""
        if peer_id not in self._peer_voice:
            return []
        self._peer_voice[peer_id] = voice
        actions: list[CallAction] = []
        if voice:
            self._expect_offer(peer_id, now)
        else:
            self._drop(peer_id, actions)  # it sends `bye` too; either way the call with it is over
        return actions

    def set_voice(self, voice: bool, now: float) -> list[CallAction]:
        """Join or leave the call while staying in the room."""
        actions: list[CallAction] = []
        if voice == self.voice:
            return actions
        self.voice = voice
        if voice:
            for peer_id, their_voice in self._peer_voice.items():
                if their_voice:
                    self._offer(peer_id, now, actions)
        else:
            for peer_id in list(self._links):
                actions.append(SignalPeer(peer_id, Bye()))
                self._drop(peer_id, actions)
            self._timers.clear()
        return actions

    def signal_received(self, from_id: str, payload: Mapping[str, object], now: float) -> list[CallAction]:
        """A ``signal`` relayed from a peer. Malformed input fails that peer's link only."""
        actions: list[CallAction] = []
        if from_id not in self._peer_voice:
            log.info("signal from unknown peer %s ignored", from_id)
            return actions
        try:
            signal = decode_signal(payload)
        except SignalError as exc:
            log.warning("call with %s failed: %s", from_id, exc)
            self._fail(from_id, now, actions)
            return actions
        match signal:
            case None:
                log.info("unknown signal kind %r from %s ignored", payload.get("kind"), from_id)
            case Offer(sdp=sdp):
                self._offered(from_id, sdp, now, actions)
            case Answer(sdp=sdp):
                link = self._links.get(from_id)
                if link is not None and link.offerer and link.awaiting_answer:
                    link.awaiting_answer = False
                    self._timers[from_id] = (now + self.timing.connect_timeout_s, _Timer.CONNECT_TIMEOUT)
                    actions.append(ApplyAnswer(link.id, sdp))
            case Candidate():
                if (link := self._links.get(from_id)) is not None:
                    actions.append(AddCandidate(link.id, signal))
            case Bye():
                self._drop(from_id, actions)
        return actions

    # --- what the peer connections say -------------------------------------------------

    def described(self, link_id: LinkId, sdp: str) -> list[CallAction]:
        """The link's local description (our offer, or our answer) is ready to send."""
        link = self._by_id.get(link_id)
        if link is None:
            return []
        return [SignalPeer(link.peer_id, Offer(sdp=sdp) if link.offerer else Answer(sdp=sdp))]

    def link_state(self, link_id: LinkId, state: CallState, now: float) -> list[CallAction]:
        """The peer connection's state changed; ``failed`` drops it (and the smaller id retries)."""
        link = self._by_id.get(link_id)
        actions: list[CallAction] = []
        if link is None or state is link.state:
            return actions
        log.info("call with %s: %s", link.peer_id, state)
        link.state = state
        actions.append(ReportState(link.peer_id, state))
        if (
            state is CallState.CONNECTED
            and self._timers.get(link.peer_id, (0, None))[1] is _Timer.CONNECT_TIMEOUT
        ):
            del self._timers[link.peer_id]
        if state is CallState.FAILED:
            self._fail(link.peer_id, now, actions)
        return actions

    def link_stalled(self, link_id: LinkId, now: float) -> list[CallAction]:
        """The connected link's audio stopped coming: renegotiate it on a new connection."""
        link = self._by_id.get(link_id)
        actions: list[CallAction] = []
        if link is None or link.state is not CallState.CONNECTED:
            return actions
        if self.self_id < link.peer_id:
            log.warning(
                "call with %s: no audio for %g s, reconnecting", link.peer_id, self.timing.stall_after_s
            )
            self._restart(link.peer_id, now, actions)
        else:
            log.warning("call with %s: no audio, waiting for its new offer", link.peer_id)
            self._timers[link.peer_id] = (now + self.timing.restart_wait_s, _Timer.RESTART)
        return actions

    def link_failed(self, link_id: LinkId, reason: str, now: float) -> list[CallAction]:
        """Work on the link raised (bad SDP, a candidate aiortc refused …)."""
        link = self._by_id.get(link_id)
        actions: list[CallAction] = []
        if link is not None:
            log.warning("call with %s failed: %s", link.peer_id, reason)
            self._fail(link.peer_id, now, actions)
        return actions

    def handle_timer(self, now: float) -> list[CallAction]:
        actions: list[CallAction] = []
        for peer_id, (at, kind) in list(self._timers.items()):
            if at > now:
                continue
            del self._timers[peer_id]
            if kind is _Timer.ANSWER_TIMEOUT:
                log.warning(
                    "call with %s failed: no answer within %g s", peer_id, self.timing.answer_timeout_s
                )
                self._fail(peer_id, now, actions)
            elif kind is _Timer.CONNECT_TIMEOUT:
                log.warning("call with %s failed: not connected in time", peer_id)
                self._fail(peer_id, now, actions)
            elif kind is _Timer.RESTART:
                log.warning("call with %s: no new offer came, reconnecting", peer_id)
                self._restart(peer_id, now, actions)
            else:
                self._offer(peer_id, now, actions)
        return actions

    # --- the rules -----------------------------------------------------------------------

    def _offer(self, peer_id: str, now: float, actions: list[CallAction]) -> None:
        if not (self.voice and self._peer_voice.get(peer_id)) or peer_id in self._links:
            return
        link = self._new_link(peer_id, offerer=True)
        actions.append(MakeOffer(peer_id, link.id))
        self._timers[peer_id] = (now + self.timing.answer_timeout_s, _Timer.ANSWER_TIMEOUT)

    def _offered(self, peer_id: str, sdp: str, now: float, actions: list[CallAction]) -> None:
        old = self._links.get(peer_id)
        if old is not None and old.offerer and old.awaiting_answer and self.self_id < peer_id:
            return  # crossed offers: ours wins (its answer timer runs on); they drop theirs
        self._timers.pop(peer_id, None)  # the offer we were waiting for (see _expect_offer)
        if not self.voice:
            actions.append(SignalPeer(peer_id, Bye()))  # not in the call: say so rather than hang
            return
        if old is not None:
            self._drop(peer_id, actions)
        link = self._new_link(peer_id, offerer=False)
        actions.append(AcceptOffer(peer_id, link.id, sdp))
        self._timers[peer_id] = (now + self.timing.answer_timeout_s, _Timer.CONNECT_TIMEOUT)

    def _expect_offer(self, peer_id: str, now: float) -> None:
        """Rule 3 says a peer whose voice turns on offers to us; it cannot if it had not yet
        seen our voice (both turned on at once, or it joined as we turned on). The smaller id
        offers after a pause if nothing came: it would win a crossed offer anyway."""
        if self.voice and peer_id not in self._links and self.self_id < peer_id:
            self._timers[peer_id] = (now + self.timing.offer_fallback_s, _Timer.OFFER_FALLBACK)

    def _restart(self, peer_id: str, now: float, actions: list[CallAction]) -> None:
        self._drop(peer_id, actions)
        self._offer(peer_id, now, actions)

    def _fail(self, peer_id: str, now: float, actions: list[CallAction]) -> None:
        """Drop the link; the smaller id rebuilds it after a short pause."""
        self._drop(peer_id, actions)
        if self.self_id < peer_id and peer_id in self._peer_voice:
            self._timers[peer_id] = (now + self.timing.retry_delay_s, _Timer.RETRY)

    def _drop(self, peer_id: str, actions: list[CallAction]) -> None:
        self._timers.pop(peer_id, None)
        link = self._links.pop(peer_id, None)
        if link is not None:
            del self._by_id[link.id]
            actions.append(CloseLink(peer_id, link.id))
            actions.append(ReportState(peer_id, CallState.CLOSED))

    def _new_link(self, peer_id: str, offerer: bool) -> _Link:
        self._next_link += 1
        link = _Link(peer_id, LinkId(self._next_link), offerer, awaiting_answer=offerer)
        self._links[peer_id] = link
        self._by_id[link.id] = link
        return link
