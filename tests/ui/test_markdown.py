"""The chat's Markdown subset: what is styled, and that every other character stays as written."""

import pytest

from client_desktop.ui.markdown import MAX_MARKS, MAX_SPANS, Look, Span, spans, tame

B, IT, C, L, M = Look.BOLD, Look.ITALIC, Look.CODE, Look.LINK, Look.MENTION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**bold**", [Span("bold", B)]),
        ("*it* and _it_", [Span("it", IT), Span(" and "), Span("it", IT)]),
        ("`a **b** <i>`", [Span("a **b** <i>", C)]),
        ("***both***", [Span("both", B | IT)]),
        ("**a *b***", [Span("a ", B), Span("b", B | IT)]),
        ("*a **b***", [Span("a ", IT), Span("b", B | IT)]),
        ("**a _b_ c**", [Span("a ", B), Span("b", B | IT), Span(" c", B)]),
        ("**`x`**", [Span("x", B | C)]),
        ("**https://x.org/a_b_c**", [Span("https://x.org/a_b_c", B | L, "https://x.org/a_b_c")]),
    ],
)
def test_the_subset_is_styled(text: str, expected: list[Span]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "**unbalanced",
        "unbalanced**",
        "2 * 3 * 4",
        "snake_case_name and __init__",
        "****",
        "`",
        "``",
        "`unclosed code",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "&lt;b&gt; &amp; &#60;",
        "\u202eevil\u202c and \u2067isolated",
        "a" + "\u0301" * 3,
    ],
)
def test_everything_else_stays_literal(text: str) -> None:
    assert spans(text) == [Span(text)]


def test_markup_inside_styles_is_still_text() -> None:
    shown = spans('**<img src="x">** _<a href="y">z</a>_')
    assert shown == [Span('<img src="x">', B), Span(" "), Span('<a href="y">z</a>', IT)]


def test_a_crossed_pair_keeps_the_loser_as_text() -> None:
    assert spans("_a *b_ c*") == [Span("a *b", IT), Span(" c*")]
    assert spans("*a **b*") == [Span("a **b", IT)]


def test_links_keep_their_punctuation_outside() -> None:
    assert spans("(see https://example.org/a?b=1&c=2).") == [
        Span("(see "),
        Span("https://example.org/a?b=1&c=2", L, "https://example.org/a?b=1&c=2"),
        Span(")."),
    ]


def test_mentions_are_words_in_any_case_with_or_without_at() -> None:
    assert spans("hey @Alice, alice! malice alicey", mention="alice") == [
        Span("hey "),
        Span("@Alice", M),
        Span(", "),
        Span("alice", M),
        Span("! malice alicey"),
    ]
    assert spans("**alice**", mention="alice") == [Span("alice", B | M)]
    assert spans("`alice`", mention="alice") == [Span("alice", C)]


def test_a_name_with_pattern_characters_is_matched_literally() -> None:
    assert spans("hi <b>.* there", mention="<b>.*") == [Span("hi "), Span("<b>.*", M), Span(" there")]
    assert spans("hi <b>xx there", mention="<b>.*") == [Span("hi <b>xx there")]


@pytest.mark.parametrize("text", ["*a" * 1000, "**a" * 666, "_a " * 666, "`a" * 1000, "http://x.org " * 150])
def test_a_message_needing_too_many_spans_is_shown_plain(text: str) -> None:
    assert spans(text) == [Span(text)]
    assert len(spans("*a* " * (MAX_SPANS // 2))) <= MAX_SPANS


def test_a_plain_message_that_mentions_us_is_still_marked_when_shown_plain() -> None:
    text = "alice " * 200
    assert spans(text, mention="alice") == [Span(text, M)]


def test_combining_marks_are_capped_per_character() -> None:
    flood = ("a" + "\u0301\u0302\u0303" * 20) * 10
    tamed = tame(flood)
    assert tamed == ("a" + ("\u0301\u0302\u0303" * 2)[:MAX_MARKS]) * 10
    vietnamese = "Tiếng Việt có dấu"  # precomposed and decomposed both survive
    assert tame(vietnamese) == vietnamese
    decomposed = "e\u0302\u0301"
    assert tame(decomposed) == decomposed
    assert tame("\u20dd" * 9) == "\u20dd" * MAX_MARKS  # enclosing marks (canonical class 0) count too
