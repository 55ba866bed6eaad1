"""Which device a direction uses as devices come and go: the pure decision."""

from client_desktop.engine.device_rules import DeviceList, Notice, Pick, SoundDevice, labelled, pick


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
