"""Which device a direction uses as devices come and go: the pure decision."""

from client_desktop.engine.device_rules import (
    STALL_S,
    STARTUP_S,
    DeviceList,
    Fate,
    Notice,
    Pick,
    SoundDevice,
    StreamLife,
    labelled,
    pick,
    server_gone,
)


def test_the_default_is_always_the_default() -> None:
    assert pick("", ["headset"], "") == Pick("")
    assert pick("", [], "") == Pick("")


def test_a_listed_choice_in_use_stays() -> None:
    assert pick("headset", ["speaker", "headset"], "headset") == Pick("headset")


def test_a_choice_that_vanishes_falls_back_to_the_default_and_says_so() -> None:
    assert pick("headset", ["speaker"], "headset") == Pick("", Notice.LOST)


def test_a_missing_choice_already_on_the_default_stays_quiet() -> None:
    assert pick("headset", ["speaker"], "") == Pick("")


def test_a_choice_that_returns_is_used_again() -> None:
    assert pick("headset", ["speaker", "headset"], "") == Pick("headset", Notice.BACK)


def test_without_a_list_the_choice_is_tried() -> None:
    assert pick("hw:1,0", None, "") == Pick("hw:1,0", Notice.BACK)
    assert pick("hw:1,0", None, "hw:1,0") == Pick("hw:1,0")


def test_portaudio_names_are_their_own_labels() -> None:
    assert DeviceList.named(["mic"], ["out"]) == DeviceList(
        (SoundDevice("mic", "mic"),), (SoundDevice("out", "out"),)
    )


def test_a_description_that_repeats_names_its_devices() -> None:
    assert labelled([("a", "Null Output"), ("b", "Null Output"), ("c", "USB Headset"), ("d", "")]) == (
        SoundDevice("a", "Null Output (a)"),
        SoundDevice("b", "Null Output (b)"),
        SoundDevice("c", "USB Headset"),
        SoundDevice("d", "d"),
    )


def test_a_stream_that_calls_back_after_the_moment_lives() -> None:
    assert (
        StreamLife(opened_s=10.0, last_callback_s=12.5, ended=False).fate(since_s=12.0, now=12.6)
        is Fate.ALIVE
    )


def test_a_stream_portaudio_ended_is_dead_at_once() -> None:
    assert StreamLife(10.0, 12.5, ended=True).fate(since_s=12.0, now=12.6) is Fate.DEAD
    assert StreamLife(10.0, 0.0, ended=True).fate(since_s=10.0, now=10.0) is Fate.DEAD


def test_a_silent_stream_dies_a_stall_after_its_last_callback() -> None:
    life = StreamLife(10.0, 20.0, ended=False)
    assert life.fate(since_s=20.5, now=20.0 + STALL_S) is Fate.UNDECIDED
    assert life.fate(since_s=20.5, now=20.0 + STALL_S + 0.01) is Fate.DEAD


def test_a_new_stream_gets_its_start_up_before_its_silence_counts() -> None:
    life = StreamLife(10.0, 0.0, ended=False)
    assert life.fate(since_s=10.0, now=10.0 + STARTUP_S + STALL_S) is Fate.UNDECIDED
    assert life.fate(since_s=10.0, now=10.0 + STARTUP_S + STALL_S + 0.01) is Fate.DEAD


def test_the_watchdog_asks_with_now_and_hears_only_dead_or_not_yet() -> None:
    life = StreamLife(10.0, 20.0, ended=False)
    assert life.fate(since_s=20.2, now=20.2) is Fate.UNDECIDED
    assert life.fate(since_s=21.5, now=21.5) is Fate.DEAD


def test_both_defaults_failing_is_the_sound_system_gone() -> None:
    assert server_gone(2, []) is True


def test_a_default_that_fails_while_the_other_stream_died_too_is_the_sound_system_gone() -> None:
    assert server_gone(1, [Fate.DEAD]) is True


def test_a_default_that_fails_while_the_other_stream_lives_is_one_device() -> None:
    assert server_gone(1, [Fate.ALIVE]) is False


def test_until_the_other_stream_shows_which_it_is_undecided() -> None:
    assert server_gone(1, [Fate.UNDECIDED]) is None


def test_nothing_unopenable_or_one_direction_alone_is_no_verdict_on_the_server() -> None:
    assert server_gone(0, [Fate.DEAD, Fate.DEAD]) is False
    assert server_gone(1, []) is False
