"""Languages: the Russian catalogue is current with the code and complete, and the app speaks it."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from client_desktop.engine.events import RelayFailure, RelayTrouble, RelayUnusable
from client_desktop.links import LinkError, parse_link
from client_desktop.ui.i18n import Language, build, install, load, resolve, ts_path
from client_desktop.ui.language import LanguageBox
from client_desktop.ui.login import LoginView, normalize_server
from client_desktop.ui.moderation import ConfirmRemoval, LockDialog
from client_desktop.ui.preferences import LoginValues
from client_desktop.ui.relay_words import relay_words

from .conftest import Harness
from .fakes import peer


@pytest.fixture
def russian(qapp: QApplication) -> Iterator[None]:
    """The app in Russian for one test (built from the .ts as packaging does, numbers written as
    ``install`` sets them), English after it."""
    build.release("ru")
    translators = load("ru")
    assert len(translators) == 2, "ours and Qt's own catalogue"
    for translator in translators:
        qapp.installTranslator(translator)
    before = QLocale()
    QLocale.setDefault(QLocale("ru"))
    yield
    QLocale.setDefault(before)
    for translator in translators:
        qapp.removeTranslator(translator)


def test_the_russian_catalogue_has_every_string_of_the_code_translated(tmp_path: Path) -> None:
    """lupdate run over the code changes nothing in a copy: no string is missing or left over.
    (After changing a string: ``python -m client_desktop.ui.i18n.build --update``, then translate.)"""
    copy = tmp_path / "voxroom_ru.ts"
    shutil.copy(ts_path("ru"), copy)
    build.update(copy)
    text = copy.read_text(encoding="utf-8")
    assert text == ts_path("ru").read_text(encoding="utf-8"), "the .ts is stale: run build --update"
    assert 'type="unfinished"' not in text
    assert text.count("<message") > 100


def test_the_system_language_is_followed_unless_one_is_chosen() -> None:
    assert resolve(Language.SYSTEM, QLocale("ru_RU")) == "ru"
    assert resolve(Language.SYSTEM, QLocale("de_DE")) == "en"
    assert resolve(Language.ENGLISH, QLocale("ru_RU")) == "en"
    assert resolve(Language.RUSSIAN, QLocale("en_GB")) == "ru"


def test_the_app_installs_the_chosen_language_for_good(qapp: QApplication, qtbot: QtBot) -> None:
    build.release("ru")
    before = QLocale()
    assert install(qapp, Language.ENGLISH) == "en"
    assert install(qapp, Language.RUSSIAN) == "ru"
    try:
        assert QLocale().language() is QLocale.Language.Russian
        view = LoginView(LoginValues())
        qtbot.addWidget(view)
        assert view.advanced.text() == "Дополнительно"
    finally:
        for translator in qapp.findChildren(QTranslator):
            qapp.removeTranslator(translator)
            translator.deleteLater()
        QLocale.setDefault(before)


@pytest.mark.usefixtures("russian")
def test_the_form_speaks_russian_with_its_own_mnemonics_and_errors(qtbot: QtBot) -> None:
    view = LoginView(LoginValues(username=""))
    qtbot.addWidget(view)
    assert view.join_button.text() == "Войти в комнату"
    assert view.host.accessibleName() == "Сервер на этом компьютере"
    view.host.setChecked(True)
    view.hosting_box.network.setChecked(True)
    assert view.password_label.text() == "&Пароль для гостей"
    with pytest.raises(ValueError, match=r"^Введите адрес сервера, например 192\.168\.1\.20:8765\.$"):
        normalize_server(" ")


@pytest.mark.usefixtures("russian")
def test_ban_lengths_are_russian_plurals_and_qt_buttons_are_translated(qtbot: QtBot) -> None:
    dialog = ConfirmRemoval(peer("bob"), ban=True)
    qtbot.addWidget(dialog)
    choices = [dialog.duration.itemText(i) for i in range(dialog.duration.count())]
    assert choices == ["1 час", "1 день", "7 дней", "30 дней"]
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).text() == "Отмена"
    lock = LockDialog()
    qtbot.addWidget(lock)
    assert lock.windowTitle() == "Закрыть комнату"


def test_the_language_choice_is_remembered(qtbot: QtBot, harness: Harness) -> None:
    assert harness.prefs.language() is Language.SYSTEM
    box = LanguageBox(harness.prefs)
    qtbot.addWidget(box)
    assert [box.choice.itemText(i) for i in range(box.choice.count())] == [
        "System language",
        "English",
        "Русский",
    ]
    box.choice.setCurrentIndex(2)
    assert harness.prefs.language() is Language.RUSSIAN
    again = LanguageBox(harness.prefs)
    qtbot.addWidget(again)
    assert again.language() is Language.RUSSIAN


def refused(count: int) -> RelayUnusable:
    return RelayUnusable(
        tuple(
            RelayFailure(f"turn:r{i}:3478 (UDP)", RelayTrouble.REFUSED, "403 Forbidden IP")
            for i in range(count)
        )
    )


@pytest.mark.usefixtures("russian")
def test_the_engine_s_relay_codes_are_russian_words_with_plurals_and_the_relay_s_own_words() -> None:
    assert relay_words(refused(1)).startswith("Ни один сервер-ретранслятор не работает, поэтому звонки")
    assert relay_words(refused(2)).startswith("Ни один из 2 адресов сервера-ретранслятора не работает")
    assert relay_words(refused(5)).startswith("Ни один из 5 адресов сервера-ретранслятора не работает")
    assert relay_words(refused(21)).startswith("Ни один из 21 адреса сервера-ретранслятора не работает")
    assert relay_words(refused(1)).endswith(
        " turn:r0:3478 (UDP): он отказал в ретрансляции (403 Forbidden IP)."
    )
    silent = RelayUnusable((RelayFailure("turn:r:3478 (UDP)", RelayTrouble.NO_ANSWER, waited_s=2.5),))
    assert relay_words(silent).endswith(
        " turn:r:3478 (UDP): нет ответа за 2,5 с (заблокирован в этой сети или не работает)."  # noqa: RUF001
    )


def test_in_english_several_relay_addresses_are_counted() -> None:
    assert relay_words(refused(3)).startswith("None of the 3 relay server addresses works, so calls")


@pytest.mark.usefixtures("russian")
def test_a_refused_link_says_why_in_russian() -> None:
    with pytest.raises(LinkError, match=r"^В этой ссылке есть имя или пароль, .* Попросите новую\.$"):  # noqa: RUF001
        parse_link("voxroom://bob:secret@h:1/r")
    with pytest.raises(
        LinkError, match=r"^Комнату 'a b' из ссылки использовать нельзя\. Имя комнаты состоит из"
    ):
        parse_link("voxroom://h:1/a%20b")
