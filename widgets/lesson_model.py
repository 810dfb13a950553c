"""A lesson's logic, with no widgets: one finding per screen, a guess before the measurement, and
how many seeds the measurement would need.

Each screen (`SCREENS`) asks one question about one finding of the registry, offers three
answers that mirror the verdict scale (the paper's way, no difference, the other way), names the
chart and the controls that matter for it, and keeps the measurement back until a guess is
committed. `seeds_needed` reads the atlas's spread out of the finding's own 95 % t-interval.

    >>> lm = LessonModel(); lm.guess("MIM keeps more"); lm.reveal(); lm.next()
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import traitlets as T
from scipy import stats

from dssl_lite.findings import FINDINGS, Judgement
from dssl_lite.findings import verdicts as V


@dataclass(frozen=True)
class Screen:
    """One finding's screen: the question, three answers (the paper's way, no difference, the
    other way), the chart's axis (`alpha`, `degree`, or `drift` for finding 4's own chart), the
    objectives it draws and the controls beside it."""

    finding: int
    question: str
    answers: tuple
    x_axis: str
    objectives: tuple
    controls: tuple = ("alpha",)


SCREENS = {
    1: Screen(1, "At alpha = 0.01 (about one class per client), which objective keeps more of its IID accuracy?",
              ("MIM keeps more", "about the same", "CL keeps more"), "alpha", ("mim", "cl")),
    2: Screen(2, "From the ring to the complete graph, what happens to MIM's robustness as clients get more "
                 "neighbours?", ("it rises", "it stays flat", "it falls"), "degree", ("mim",),
              ("alpha", "reference")),
    3: Screen(3, "MAR adds to MIM a pull of each client's features towards the global model's. Does it keep "
                 "more of its IID accuracy than MIM?", ("MAR keeps more", "about the same", "MIM keeps more"),
              "alpha", ("mim", "mar")),
    4: Screen(4, "After a round of local training, whose clients' features sit further from the global "
                 "model's: CL's or MIM's?", ("CL's drift further", "about the same", "MIM's drift further"),
              "drift", ("mim", "cl")),
}
ANSWER_VERDICT = (V.SHOWS, V.NO_DIFFERENCE, V.OTHER_WAY)  # answer i predicts verdict i


def seeds_needed(j: Judgement, cap: int = 1000):
    """The fewest seeds at which the 95 % t-interval of `j`'s statistic, at the spread its own
    seeds show, is narrower than the effect they measured -> (seeds, sd); seeds None when not
    measured or one seed, `cap + 1` when more than `cap` would be needed."""
    lo, hi = j.interval
    n = j.seeds
    if n < 2 or not all(map(math.isfinite, (lo, hi, j.estimate))):
        return None, math.nan
    sd = (hi - lo) / 2 * math.sqrt(n) / stats.t.ppf(0.975, n - 1)  # back from the half-width
    effect = abs(j.estimate)
    for m in range(2, cap + 1):
        if stats.t.ppf(0.975, m - 1) * sd / math.sqrt(m) < effect:
            return m, sd
    return cap + 1, sd


def seeds_words(j: Judgement) -> str:
    """`seeds_needed` in a sentence a class can follow."""
    m, sd = seeds_needed(j)
    if m is None:
        return ("How many seeds would this need? The atlas has no measurement with two seeds or more here, so "
                "there is no spread to count from.")
    have = f"The atlas's {j.seeds} seeds measure {j.estimate:+.3f}, and seed to seed it varies by {sd:.3f} (sd)."
    if m > 1000:
        return (f"How many seeds would this need? {have} At that spread an effect this small needs more than "
                f"1,000 seeds before a 95 % interval leaves zero out: for a lesson, it is noise.")
    enough = ("the atlas has enough" if j.seeds >= m else
              f"the atlas has {j.seeds}, so more seeds could still settle it")
    return (f"How many seeds would this need? {have} From {m} seeds on, the 95 % interval's half-width is "
            f"smaller than the effect, so the interval leaves zero out: {enough}.")


def guess_meets(answer_index: int, verdict: str) -> str:
    """The committed guess against the package's verdict, in words."""
    if verdict not in ANSWER_VERDICT:
        return f"The measurement here says: {verdict}; it cannot confirm or refute a guess."
    return "Your guess matches the measurement." if ANSWER_VERDICT[answer_index] == verdict else \
        "Your guess differs from the measurement: what could explain it?"


class LessonModel(T.HasTraits):
    """Which finding is on screen, the guesses committed and the findings revealed."""

    finding = T.Int(1)
    guesses = T.Dict()        # finding -> index of the answer chosen
    revealed = T.List()       # findings whose measurement is on show

    @T.validate("finding")
    def _one_of_the_findings(self, proposal) -> int:
        return min(max(int(proposal["value"]), min(FINDINGS)), max(FINDINGS))

    @property
    def screen(self) -> Screen:
        return SCREENS[self.finding]

    @property
    def shown(self) -> bool:
        return self.finding in self.revealed

    def guess(self, answer: str) -> None:
        self.guesses = {**self.guesses, self.finding: self.screen.answers.index(answer)}

    def reveal(self) -> bool:
        """Show the measurement; only once a guess is committed (False otherwise)."""
        if self.finding not in self.guesses:
            return False
        if not self.shown:
            self.revealed = [*self.revealed, self.finding]
        return True

    def next(self) -> None:
        self.finding += 1

    def previous(self) -> None:
        self.finding -= 1
