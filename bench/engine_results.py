"""The engine benchmark's plan and figures as values: what scenarios take and return, the report reads.

All times are in the unit their name says; ``None`` means nothing was
measured (no click paired, no sample). ``--json`` writes these as they are.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from client_desktop.engine.devices import DEFAULT_STREAMS, StreamSettings


@dataclass(frozen=True)
class Plan:
    """Counts and durations; ``--quick`` shrinks them to fit in a minute."""

    phases: int
    clicks_per_phase: int
    pulse_settings: tuple[StreamSettings, ...]
    pulse_clicks: int
    pulse_stock_runs: int
    """Runs of ``DEFAULT_STREAMS`` (the others run once): each run draws another phase between sinks."""
    setup_trials: int
    cpu_sizes: tuple[int, ...]
    cpu_window_s: float
    loss_trials: int


FULL = Plan(
    phases=5,
    clicks_per_phase=10,
    pulse_settings=(
        DEFAULT_STREAMS,
        StreamSettings(480, "high"),
        StreamSettings(960, "high"),
        StreamSettings(960, "low"),
        StreamSettings(0, "high"),
        StreamSettings(0, "low"),
    ),
    pulse_clicks=20,
    pulse_stock_runs=3,
    setup_trials=10,
    cpu_sizes=(2, 4, 8),
    cpu_window_s=10.0,
    loss_trials=5,
)
QUICK = Plan(
    phases=2,
    clicks_per_phase=6,
    pulse_settings=(DEFAULT_STREAMS,),
    pulse_clicks=12,
    pulse_stock_runs=1,
    setup_trials=3,
    cpu_sizes=(2, 4),
    cpu_window_s=3.0,
    loss_trials=1,
)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def percentile_ms(values_s: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.array(values_s), q)) * 1000 if values_s else None


def median_of(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


@dataclass(frozen=True)
class Latency:
    """Click latencies: percentiles of the paired ones, and how many were sent, heard and paired."""

    p50_ms: float | None
    p95_ms: float | None
    min_ms: float | None
    max_ms: float | None
    clicks_sent: int
    clicks_heard: int
    clicks_paired: int

    @classmethod
    def of(cls, latencies_s: Sequence[float], sent: int, heard: int) -> "Latency":
        return cls(
            p50_ms=rounded(percentile_ms(latencies_s, 50)),
            p95_ms=rounded(percentile_ms(latencies_s, 95)),
            min_ms=rounded(min(latencies_s) * 1000 if latencies_s else None),
            max_ms=rounded(max(latencies_s) * 1000 if latencies_s else None),
            clicks_sent=sent,
            clicks_heard=heard,
            clicks_paired=len(latencies_s),
        )


@dataclass(frozen=True)
class MemoryResult:
    """Mouth-to-ear in memory: paced clocks on both sides, one call per receiver clock phase."""

    latency: Latency
    phases: int
    playout_delay_ms_median: float | None
    codec_delay_ms: float | None


@dataclass(frozen=True)
class CallbackSummary:
    """One direction of a device: callbacks, xruns, and the gaps between callbacks after the first 50."""

    callbacks: int
    xruns: int
    gap_p99_ms: float
    gap_max_ms: float


@dataclass(frozen=True)
class FirstCallbacks:
    """Seconds from starting each engine's audio to its first input and output callbacks."""

    a_in: float | None
    a_out: float | None
    b_in: float | None
    b_out: float | None


@dataclass(frozen=True)
class PulseRun:
    """One call through PulseAudio null sinks, as the child process measured it."""

    callback_ms: tuple[float, ...]
    """Input callback (A) to output callback (B), per paired click."""
    adc_to_dac_ms: tuple[float, ...]
    """The same clicks on PortAudio's ADC/DAC clock (adds the device buffers)."""
    clicks_sent: int
    clicks_heard: int
    reported_latency_ms: tuple[float, ...]
    a_input: CallbackSummary
    b_output: CallbackSummary
    playout_delay_ms_median: float | None
    failures: tuple[str, ...]
    first_callback_s: FirstCallbacks
    reopened_on_defaults: int
    startup_silence_s: tuple[float, ...]


@dataclass(frozen=True)
class PulseSetting:
    """One device setting's runs pooled: each run has its own clock phase between A's input and B's output."""

    setting: StreamSettings
    latency: Latency
    adc_to_dac: Latency
    runs: int
    failed_runs: tuple[str, ...]
    run_p50_ms: tuple[float | None, ...]
    reopened_on_defaults: int
    startup_silence_s: float
    reported_latency_ms: tuple[float, ...]
    first_callback_s: FirstCallbacks
    a_input: CallbackSummary
    b_output: CallbackSummary
    playout_delay_ms_median: float | None
    device_failures: tuple[str, ...]


@dataclass(frozen=True)
class PulseFailure:
    """A device setting none of whose runs finished."""

    setting: StreamSettings
    error: str


@dataclass(frozen=True)
class PulseResult:
    settings: tuple[PulseSetting | PulseFailure, ...]
    stock: PulseSetting | None
    """The setting ``DeviceAudio`` opens by default, if it was measured."""


@dataclass(frozen=True)
class SetupSteps:
    """Milliseconds from each step to the first audible sample of A at B."""

    from_a_start_ms: float
    from_peer_arrived_ms: float
    peer_arrived_to_connected_ms: float
    connected_to_first_packet_ms: float
    first_packet_to_audible_ms: float


@dataclass(frozen=True)
class SetupResult:
    trials: tuple[SetupSteps, ...]
    p50: SetupSteps
    from_peer_arrived_p95_ms: float


@dataclass(frozen=True)
class CpuRow:
    """One mesh size: CPU of this process (median slice), and signs that the loop kept up."""

    engines: int
    peers_each: int
    process_pct: float
    process_pct_slices: tuple[float, ...]
    per_engine_pct: float
    others_pct: float
    loop_lag_p99_ms: float
    frames_lost_or_concealed: int


@dataclass(frozen=True)
class CpuResult:
    rows: tuple[CpuRow, ...]
    per_extra_peer_pct: dict[int, float]
    """By mesh size N: (per engine(N) - per engine(2)) / (N - 2)."""
    per_peer_fit_pct: float | None
    per_extra_peer_largest_pct: float | None


@dataclass(frozen=True)
class BurstTrial:
    """One 300 ms blackout: what the buffer counted, and its delay every 100 ms afterwards."""

    lost: int
    concealed: int
    rebuffers: int
    floor_ms: float
    peak_ms: float
    recovered_s: float | None
    series_ms: tuple[float | None, ...]
    """None where nothing played."""


@dataclass(frozen=True)
class LossResult:
    trials: tuple[BurstTrial, ...]
    recovered_s_median: float | None
    recovered_s_max: float | None
    """None if any trial did not recover within the window."""


@dataclass(frozen=True)
class Failed:
    """A scenario that raised; the others still ran."""

    error: str


Result = MemoryResult | PulseResult | SetupResult | CpuResult | LossResult | Failed


@dataclass(frozen=True)
class Outcome:
    name: str
    elapsed_s: float
    result: Result
