"""The engine benchmark's markdown report: a headline table against the targets, then details."""

import ctypes
from collections.abc import Sequence
from typing import assert_never

from engine_results import (
    CpuResult,
    Failed,
    Latency,
    LossResult,
    MemoryResult,
    Outcome,
    PulseFailure,
    PulseResult,
    PulseSetting,
    SetupResult,
)
from vxbench_machine import Machine

from client_desktop.engine import opus
from client_desktop.engine.devices import StreamSettings

M2E_MEMORY_P50_MS = 30.0
M2E_MEMORY_P95_MS = 45.0
M2E_PULSE_P50_MS = 50.0
SETUP_P50_MS = 150.0
CPU_PER_PEER_PCT = 2.0
LOSS_RECOVERY_S = 2.0

Row = tuple[str, str, str, str]
"""(measure, result, target, verdict)."""


def opus_version() -> str:
    """The libopus the engine loads (``opus.find_opus``: PyAV's, else the system's): version and origin."""
    lib = opus.load_library()
    lib.opus_get_version_string.restype = ctypes.c_char_p
    origin = "PyAV's" if opus.pyav_library() else "the system's"
    return f"{lib.opus_get_version_string().decode()} ({origin})"


def label(setting: StreamSettings) -> str:
    return f"{setting.blocksize}, {setting.latency}"


def _fmt(value: float | None, unit: str = " ms") -> str:
    return "—" if value is None else f"{value:g}{unit}"


def _verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value <= limit else "**not met**"


def render_report(outcomes: Sequence[Outcome], machine: Machine, libopus: str, quick: bool) -> str:
    lines = [
        f"# Engine benchmark{' (quick)' if quick else ''}",
        "",
        f"Machine: {machine.nproc} x {machine.cpu}, Python {machine.python}, {libopus}, "
        f"load average at start {list(machine.loadavg)}.",
        "",
        "| measure | result | target | verdict |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for o in outcomes for a, b, c, d in _rows(o)),
    ]
    for outcome in outcomes:
        lines += _details(outcome)
    return "\n".join(lines)


def _rows(outcome: Outcome) -> list[Row]:
    """The headline rows of one scenario."""
    result = outcome.result
    match result:
        case MemoryResult(latency=latency):
            n = f"n={latency.clicks_paired}/{latency.clicks_sent}"
            return [
                (
                    "mouth-to-ear, in memory, p50",
                    f"{_fmt(latency.p50_ms)} ({n})",
                    "≤ 30 ms (stock aiortc ~80 ms)",
                    _verdict(latency.p50_ms, M2E_MEMORY_P50_MS),
                ),
                (
                    "mouth-to-ear, in memory, p95",
                    _fmt(latency.p95_ms),
                    "≤ 45 ms",
                    _verdict(latency.p95_ms, M2E_MEMORY_P95_MS),
                ),
            ]
        case PulseResult(stock=stock):
            return [] if stock is None else _pulse_rows(stock)
        case SetupResult():
            return [
                (
                    "call set-up (B learns of A → A audible at B), p50",
                    f"{_fmt(result.p50.from_peer_arrived_ms)} "
                    f"(p95 {_fmt(result.from_peer_arrived_p95_ms)}, n={len(result.trials)})",
                    "≤ 150 ms",
                    _verdict(result.p50.from_peer_arrived_ms, SETUP_P50_MS),
                )
            ]
        case CpuResult(per_extra_peer_largest_pct=largest):
            return [
                (
                    "client CPU per extra mesh peer (% of one core)",
                    f"{_fmt(largest, ' %')} (fit {_fmt(result.per_peer_fit_pct, ' %')})",
                    "≤ 2 %",
                    _verdict(largest, CPU_PER_PEER_PCT),
                )
            ]
        case LossResult(recovered_s_max=worst):
            text = (
                "not within 3 s"
                if worst is None
                else f"{result.recovered_s_median} s median, {worst} s worst"
            )
            verdict = "**not met**" if worst is None else _verdict(worst, LOSS_RECOVERY_S)
            return [("back within 10 ms of the delay floor after a 300 ms burst", text, "≤ 2 s", verdict)]
        case Failed(error=error):
            return [(outcome.name, f"failed: {error}", "", "n/a")]
        case _:
            assert_never(result)


def _pulse_rows(stock: PulseSetting) -> list[Row]:
    """Two rows: engine-added (callback to callback, the measure asked for) and with PortAudio's buffers."""
    latency, adc = stock.latency, stock.adc_to_dac
    n = f"n={latency.clicks_paired}/{latency.clicks_sent}, {stock.runs} runs"
    return [
        (
            f"mouth-to-ear, PulseAudio null sinks, DeviceAudio ({label(stock.setting)}), engine-added "
            "(input callback → output callback), p50 / p95",
            f"{_fmt(latency.p50_ms)} / {_fmt(latency.p95_ms)} ({n})",
            "≤ 50 ms p50 (stock 170-190 ms)",
            _verdict(latency.p50_ms, M2E_PULSE_P50_MS),
        ),
        (
            "same clicks, ADC → DAC (adds the device buffers PortAudio reports), p50 / p95",
            f"{_fmt(adc.p50_ms)} / {_fmt(adc.p95_ms)}",
            "(≤ 50 ms p50 if read as the whole path)",
            _verdict(adc.p50_ms, M2E_PULSE_P50_MS),
        ),
    ]


def _details(outcome: Outcome) -> list[str]:
    result = outcome.result
    match result:
        case MemoryResult():
            return _memory_details(result)
        case PulseResult():
            return _pulse_details(result)
        case SetupResult():
            return _setup_details(result)
        case CpuResult():
            return _cpu_details(result)
        case LossResult():
            return _loss_details(result)
        case Failed():
            return []
        case _:
            assert_never(result)


def _memory_details(mem: MemoryResult) -> list[str]:
    latency = mem.latency
    return [
        "",
        f"In memory: {mem.phases} calls, receiver clock at {mem.phases} phases across 20 ms; "
        f"min {_fmt(latency.min_ms)}, max {_fmt(latency.max_ms)}; of which Opus encode+decode alone "
        f"{_fmt(mem.codec_delay_ms)}, receiver playout delay (median) {_fmt(mem.playout_delay_ms_median)}.",
    ]


def _pulse_details(pulse: PulseResult) -> list[str]:
    lines = [
        "",
        "PulseAudio null sinks, real `DeviceAudio` on both sides, one setting per child process. Callback "
        "to callback; `ADC→DAC` is the same clicks on PortAudio's ADC/DAC times (adds its buffers). "
        "First callbacks: seconds from starting audio to A in/out, B in/out. Silent start: the longest time "
        "without any callback in the first 3 s (the engine's watchdog must allow for it). Reopened: times "
        "the engine fell back to the default devices (then B plays into A's input: figures invalid).",
        "",
        "| blocksize, latency | p50 / p95 | clicks heard | ADC→DAC p50 / p95 | PortAudio latency in/out | "
        "first callbacks | silent start | reopened | callbacks A in / B out (xruns, max gap) | "
        "playout delay |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting in pulse.settings:
        lines.append(_pulse_row(setting))
    return lines


def _pulse_row(s: PulseSetting | PulseFailure) -> str:
    if isinstance(s, PulseFailure):
        return f"| {label(s.setting)} | {s.error} | | | | | | | | |"
    i, o, first = s.a_input, s.b_output, s.first_callback_s
    firsts = " / ".join(_fmt(t, "") for t in (first.a_in, first.a_out, first.b_in, first.b_out))
    runs = f" (runs: {', '.join(_fmt(v, '') for v in s.run_p50_ms)})" if s.runs > 1 else ""
    invalid = " (invalid: reopened on the defaults)" if s.reopened_on_defaults else ""
    return (
        f"| {label(s.setting)} | {_p50_p95(s.latency)}{runs}{invalid} | "
        f"{s.latency.clicks_paired}/{s.latency.clicks_sent} | {_p50_p95(s.adc_to_dac)} | "
        f"{list(s.reported_latency_ms)} ms | {firsts} s | {s.startup_silence_s} s | "
        f"{s.reopened_on_defaults} | "
        f"{i.callbacks} ({i.xruns}, {i.gap_max_ms} ms) / {o.callbacks} ({o.xruns}, {o.gap_max_ms} ms) | "
        f"{_fmt(s.playout_delay_ms_median)} |"
    )


def _p50_p95(latency: Latency) -> str:
    return f"{_fmt(latency.p50_ms)} / {_fmt(latency.p95_ms)}"


def _setup_details(setup: SetupResult) -> list[str]:
    p50 = setup.p50
    return [
        "",
        f"Set-up breakdown (p50 of {len(setup.trials)}): A's start() → audible {_fmt(p50.from_a_start_ms)}; "
        f"B's PeerArrived → connected {_fmt(p50.peer_arrived_to_connected_ms)}, → first packet "
        f"+{_fmt(p50.connected_to_first_packet_ms)}, → audible +{_fmt(p50.first_packet_to_audible_ms)}.",
    ]


def _cpu_details(cpu: CpuResult) -> list[str]:
    lines = [
        "",
        "CPU: user+system time of this process (all threads, getrusage) ÷ wall time = % of one core, "
        "median of 5 slices of the window; per engine = that ÷ N; "
        "per extra peer = (per engine(N) - per engine(2)) ÷ (N - 2); "
        "fit = b in process(N) = a·N + b·N·(N-1). The signaling server runs in another process, "
        "not counted.",
        "",
        "| engines | peers each | process % | per engine % | per extra peer % | other processes % | "
        "loop lag p99 | frames lost/concealed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in cpu.rows:
        step = _fmt(cpu.per_extra_peer_pct.get(r.engines), "")
        lines.append(
            f"| {r.engines} | {r.peers_each} | {r.process_pct} | {r.per_engine_pct} | {step} | "
            f"{r.others_pct} | {r.loop_lag_p99_ms} ms | {r.frames_lost_or_concealed} |"
        )
    return lines


def _loss_details(loss: LossResult) -> list[str]:
    lines = ["", "Playout delay after a 300 ms blackout (every 100 ms for 3 s; — = not playing):", ""]
    for t in loss.trials:
        series = " ".join(_fmt(d, "") for d in t.series_ms)
        lines.append(
            f"- floor {t.floor_ms} ms, peak {t.peak_ms} ms, back at {t.recovered_s} s "
            f"(lost {t.lost}, concealed {t.concealed}, re-buffered {t.rebuffers}): {series}"
        )
    return lines
