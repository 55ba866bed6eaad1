"""Audio settings: devices, voice processing, how we decide to transmit, the bitrate, and the cues.

The dialog edits an ``AudioSettings`` value and emits it on Apply/OK; the
window saves it and the bridge applies it to the running call (devices are
switched, the processor reconfigured, the encoder retuned) without
rejoining. Devices are listed as the sound system offers them, and the
lists follow devices that come and go while the dialog is open (the
bridge's ``devices_changed``); listing never touches the running streams.
The meter shows the live input level, with the voice-activity
threshold marked, so the threshold can be set by eye: in a room from the
call's own levels, outside one from the chosen microphone, opened while
the dialog is shown. "Play test tone" sounds 440 Hz through the chosen
speaker. "Sounds" switches the cues (joins, leaves, mute) and sets their
volume, apart from the people's voices. "Window" says whether closing the
window keeps the call in the tray (greyed where the desktop has no tray).
"Language" is saved as it is chosen and applies at the next start.
"""

from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from ..engine import events
from ..engine.device_rules import DeviceList
from ..engine.shapes import TalkMode
from .bridge import Bridge
from .call_bar import LevelMeter
from .language import LanguageBox
from .preferences import BITRATES_BPS, AudioSettings, Preferences


class SettingsDialog(QDialog):
    applied = Signal(object)  # AudioSettings

    def __init__(self, bridge: Bridge, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Audio settings"))
        self.bridge = bridge
        self._settings = bridge.settings
        self.input = self._combo(self.tr("Microphone"))
        self.output = self._combo(self.tr("Speaker"))
        self.meter = LevelMeter()
        self.meter_hint = QLabel()  # says why the meter stays still, if the microphone cannot be opened
        self.meter_hint.setObjectName("hint")
        self.meter_hint.setWordWrap(True)
        self.meter_hint.hide()
        self.tone = QPushButton(self.tr("Play test tone"))
        self.tone.setAccessibleName(self.tr("Play a test tone on the speaker"))
        self.tone.clicked.connect(self.play_tone)
        self.tone_hint = QLabel()
        self.tone_hint.setObjectName("hint")
        self.tone_hint.setWordWrap(True)
        self.tone_hint.hide()
        self.echo = QCheckBox(self.tr("Echo cancellation"))
        self.noise = QCheckBox(self.tr("Noise suppression"))
        self.vad = QRadioButton(self.tr("Voice activity"))
        self.ptt = QRadioButton(self.tr("Push to talk"))
        self.modes = QButtonGroup(self)
        self.modes.addButton(self.vad)
        self.modes.addButton(self.ptt)
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(-80, -10)
        self.threshold.setAccessibleName(self.tr("Voice activity threshold"))
        self.threshold_value = QLabel()
        self.threshold_value.setMinimumWidth(64)
        self.key = QKeySequenceEdit()
        self.key.setMaximumSequenceLength(1)
        self.key.setAccessibleName(self.tr("Push-to-talk key"))
        self.key_hint = QLabel()  # where the key works only while the window has focus
        self.key_hint.setObjectName("hint")
        self.key_hint.setWordWrap(True)
        self.key_hint.hide()
        self.bitrate = self._combo(self.tr("Voice quality"))
        for bps in BITRATES_BPS:
            self.bitrate.addItem(self.tr("{kbps} kbit/s").format(kbps=bps // 1000), bps)
        self.cues = QCheckBox(self.tr("Sounds for joins, leaves, mute and unmute"))
        self.cue_volume = QSlider(Qt.Orientation.Horizontal)
        self.cue_volume.setRange(0, 100)
        self.cue_volume.setAccessibleName(self.tr("Sound volume"))
        self.cue_volume_value = QLabel()
        self.cue_volume_value.setMinimumWidth(64)
        self.cue_volume.valueChanged.connect(
            lambda percent: self.cue_volume_value.setText(self.tr("{percent}%").format(percent=percent))
        )
        self.cues.toggled.connect(self.cue_volume.setEnabled)
        self.keep_in_tray = QCheckBox(self.tr("Closing the window keeps the call in the tray"))
        if not QSystemTrayIcon.isSystemTrayAvailable():
            self.keep_in_tray.setEnabled(False)
            self.keep_in_tray.setToolTip(self.tr("This desktop has no tray: closing the window quits"))
        for widget in (self.echo, self.noise, self.vad, self.ptt, self.cues, self.keep_in_tray):
            widget.setAccessibleName(widget.text())
        self.threshold.valueChanged.connect(self._threshold_moved)
        self.vad.toggled.connect(self._mode_changed)

        devices = QGroupBox(self.tr("Devices"))
        form = QFormLayout(devices)
        form.addRow(self.tr("&Microphone"), self.input)
        form.addRow(self.tr("&Speaker"), self.output)
        form.addRow("", self.tone)
        form.addRow("", self.tone_hint)
        form.addRow(self.tr("Input level"), self.meter)
        form.addRow("", self.meter_hint)
        processing = QGroupBox(self.tr("Voice processing"))
        box = QVBoxLayout(processing)
        box.addWidget(self.echo)
        box.addWidget(self.noise)
        talking = QGroupBox(self.tr("Transmit"))
        grid = QFormLayout(talking)
        grid.addRow(self.vad)
        row = QHBoxLayout()
        row.addWidget(self.threshold, 1)
        row.addWidget(self.threshold_value)
        grid.addRow(self.tr("Threshold"), row)
        grid.addRow(self.ptt)
        grid.addRow(self.tr("Key"), self.key)
        grid.addRow(self.key_hint)  # the whole row: beside a label, its wrapped second line was cut off
        grid.addRow(self.tr("&Quality"), self.bitrate)
        sounds = QGroupBox(self.tr("Sounds"))
        cue_form = QFormLayout(sounds)
        cue_form.addRow(self.cues)
        cue_row = QHBoxLayout()
        cue_row.addWidget(self.cue_volume, 1)
        cue_row.addWidget(self.cue_volume_value)
        cue_label = QLabel(self.tr("&Volume"))
        cue_label.setBuddy(self.cue_volume)  # a row of a layout gets no buddy by itself
        cue_form.addRow(cue_label, cue_row)
        window = QGroupBox(self.tr("Window"))
        QVBoxLayout(window).addWidget(self.keep_in_tray)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        for group in (devices, processing, talking, sounds, window):
            layout.addWidget(group)
        layout.addWidget(LanguageBox(prefs))
        layout.addWidget(buttons)
        bridge.levels.connect(self._levels)
        bridge.input_level.connect(self._input_level)
        bridge.input_meter_failed.connect(self._meter_failed)
        bridge.tone_played.connect(self._tone_played)
        bridge.devices_changed.connect(self._devices_changed)
        bridge.joined.connect(lambda _e: bridge.stop_input_meter())  # the call's levels take over
        bridge.left.connect(self._restart_meter)
        self.input.currentIndexChanged.connect(self._restart_meter)
        if not bridge.can_check_devices:
            self.tone.setEnabled(False)
            self.tone.setToolTip(self.tr("No sound output (started with --no-audio)"))
        self.setMinimumWidth(440)

    def _combo(self, name: str) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(name)
        return combo

    def load(self, settings: AudioSettings) -> None:
        self._settings = settings
        options = settings.options
        self._show_devices(self.bridge.audio_devices(), options.input_device, options.output_device)
        self._restart_meter()
        self.echo.setChecked(options.echo_cancellation)
        self.noise.setChecked(options.noise_suppression)
        self.vad.setChecked(options.talk_mode is not TalkMode.PUSH_TO_TALK)
        self.ptt.setChecked(options.talk_mode is TalkMode.PUSH_TO_TALK)
        self.threshold.setValue(round(options.vad_threshold_dbfs))
        self._threshold_moved(self.threshold.value())
        self.key.setKeySequence(QKeySequence(settings.ptt_key))
        self.bitrate.setCurrentIndex(max(0, self.bitrate.findData(options.bitrate_bps)))
        self._mode_changed()
        self.cues.setChecked(settings.cues)
        self.cue_volume.setValue(round(settings.cue_volume * 100))
        self.cue_volume_value.setText(self.tr("{percent}%").format(percent=self.cue_volume.value()))
        self.cue_volume.setEnabled(settings.cues)
        self.keep_in_tray.setChecked(settings.keep_in_tray and self.keep_in_tray.isEnabled())

    def _show_devices(self, devices: DeviceList, chosen_input: str, chosen_output: str) -> None:
        """Fill both lists, the system default first; a chosen device not listed stays, marked."""
        self.input.blockSignals(True)  # one meter restart by the caller, not one per item
        for combo, listed, chosen in (
            (self.input, devices.inputs, chosen_input),
            (self.output, devices.outputs, chosen_output),
        ):
            combo.clear()
            combo.addItem(self.tr("System default"), "")
            for device in listed:
                combo.addItem(device.label, device.name)
            if chosen and combo.findData(chosen) < 0:
                combo.addItem(self.tr("{device} (not connected)").format(device=chosen), chosen)
            combo.setCurrentIndex(max(0, combo.findData(chosen)))
        self.input.blockSignals(False)

    def _devices_changed(self, devices: DeviceList) -> None:
        """A device came or went while the dialog is open: list it, keeping what is selected."""
        self._show_devices(devices, str(self.input.currentData() or ""), str(self.output.currentData() or ""))

    def value(self) -> AudioSettings:
        options = replace(
            self._settings.options,
            input_device=str(self.input.currentData() or ""),
            output_device=str(self.output.currentData() or ""),
            echo_cancellation=self.echo.isChecked(),
            noise_suppression=self.noise.isChecked(),
            talk_mode=TalkMode.PUSH_TO_TALK if self.ptt.isChecked() else TalkMode.VOICE_ACTIVITY,
            vad_threshold_dbfs=float(self.threshold.value()),
            bitrate_bps=int(self.bitrate.currentData()),
        )
        return AudioSettings(
            options,
            self.key.keySequence().toString() or self._settings.ptt_key,
            self.cues.isChecked(),
            self.cue_volume.value() / 100,
            self.keep_in_tray.isChecked() if self.keep_in_tray.isEnabled() else self._settings.keep_in_tray,
        )

    def show_ptt_limitation(self, limitation: str) -> None:
        """Say where the push-to-talk key does not reach ("" hides the hint)."""
        self.key_hint.setText(limitation)
        self.key_hint.setVisible(bool(limitation))
        QTimer.singleShot(0, self._fit_hints)

    def apply(self) -> None:
        self._settings = self.value()
        self.applied.emit(self._settings)

    def accept(self) -> None:
        self.apply()
        super().accept()

    def _threshold_moved(self, dbfs: int) -> None:
        self.threshold_value.setText(self.tr("{dbfs} dBFS").format(dbfs=dbfs))
        self.meter.threshold_dbfs = float(dbfs) if self.vad.isChecked() else None
        self.meter.update()

    def _mode_changed(self) -> None:
        vad = self.vad.isChecked()
        self.threshold.setEnabled(vad)
        self.key.setEnabled(not vad)
        self._threshold_moved(self.threshold.value())

    def _levels(self, event: events.LevelsChanged) -> None:
        self.meter.set_level(event.input_dbfs, event.transmitting)

    # --- checks outside a call ----------------------------------------------

    def play_tone(self) -> None:
        self.tone.setEnabled(False)
        self.tone.setText(self.tr("Playing…"))
        self.tone_hint.hide()
        self.bridge.play_test_tone(str(self.output.currentData() or ""))

    def _tone_played(self, problem: str) -> None:
        self.tone.setEnabled(True)
        self.tone.setText(self.tr("Play test tone"))
        self.tone_hint.setText(problem)
        self.tone_hint.setVisible(bool(problem))
        QTimer.singleShot(0, self._fit_hints)

    def _restart_meter(self) -> None:
        if self.isVisible() and not self.bridge.in_room:
            self.bridge.start_input_meter(str(self.input.currentData() or ""))

    def _input_level(self, dbfs: float) -> None:
        self.meter.set_level(dbfs, dbfs >= self.threshold.value() if self.vad.isChecked() else False)

    def _meter_failed(self, problem: str) -> None:
        self.meter_hint.setText(problem)
        self.meter_hint.show()
        QTimer.singleShot(0, self._fit_hints)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._restart_meter()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Give each wrapped hint the height of its lines at its width: a form lays the rows out
        by their one-line size hint, which cut a second line (a longer translation wraps). Hints
        that change while the dialog shows are fitted again once laid out."""
        super().resizeEvent(event)
        self._fit_hints()

    def _fit_hints(self) -> None:
        for hint in (self.tone_hint, self.meter_hint, self.key_hint):
            hint.setMinimumHeight(hint.heightForWidth(hint.width()) if hint.text() else 0)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt's name
        self.bridge.stop_input_meter()
        super().hideEvent(event)
