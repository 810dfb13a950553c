"""The verdict scale: one set of words for every finding, symmetric toward and against the paper.

A finding's statistic comes with a 95 % interval and a smallest effect of interest (`sesoi`, in
the statistic's own unit: below it a difference does not matter for the claim). With the claim's
direction as +:

| the interval ...                               | verdict              |
|---|---|
| lies inside (-sesoi, +sesoi)                   | no difference        |
| lies above 0 (and not inside that band)        | shows                |
| lies below 0 (and not inside that band)        | goes the other way   |
| includes 0 and reaches past the band           | within the noise     |

"No difference" is an equivalence test (the effect, if any, is too small to matter), which is not
the same as "within the noise" (more seeds could still settle it either way). Where a verdict
cannot be given, it says why: `NOT_MEASURED` (no rows), `NO_VERDICT_AT_IID` (nothing is lost at
IID, so there is nothing to compare), `COLLAPSED` (an arm learned nothing a random encoder
lacks: its ratio means nothing), `ONE_SEED` (no interval), and `DISAGREE` when two measures of
one claim point opposite ways.
"""
from __future__ import annotations

import math

SHOWS = "shows"
OTHER_WAY = "goes the other way"
NO_DIFFERENCE = "no difference"
NOISE = "within the noise"
NOT_MEASURED = "not measured"
NO_VERDICT_AT_IID = "no verdict at IID"
COLLAPSED = "cannot tell: an arm collapsed"
ONE_SEED = "cannot tell: one seed"
DISAGREE = "the measures disagree"
SCALE = (SHOWS, NOISE, NO_DIFFERENCE, OTHER_WAY)  # the verdicts an interval can earn
VERDICTS = SCALE + (NOT_MEASURED, NO_VERDICT_AT_IID, COLLAPSED, ONE_SEED, DISAGREE)

# How a verdict is told apart on a page (the explorer, the regime map's figure): the paper's side
# and the other side mirror each other.
COLOURS = {SHOWS: "#1b7f3b", OTHER_WAY: "#b00020", NO_DIFFERENCE: "#6a4c93", NOISE: "#8a8a8a",
           NOT_MEASURED: "#d0d0d0", NO_VERDICT_AT_IID: "#d0d0d0", COLLAPSED: "#e0a000",
           ONE_SEED: "#d0d0d0", DISAGREE: "#e07000"}


def judge(estimate: float, low: float, high: float, n: int, sesoi: float) -> str:
    """The verdict for an `estimate` in the claim's direction with its 95 % interval [low, high]
    over `n` seeds (see the module's table)."""
    if n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return ONE_SEED if n == 1 else NOT_MEASURED
    if -sesoi < low and high < sesoi:
        return NO_DIFFERENCE
    if low > 0:
        return SHOWS
    if high < 0:
        return OTHER_WAY
    return NOISE


def combine(verdicts: list[str]) -> str:
    """One verdict for several measures of one claim: theirs when they agree; `DISAGREE` when one
    shows and another goes the other way; otherwise the weakest ("within the noise" before "no
    difference" before a direction), so no measure is quoted past what all of them support."""
    kinds = set(verdicts)
    if len(kinds) == 1:
        return verdicts[0]
    if {SHOWS, OTHER_WAY} <= kinds:
        return DISAGREE
    for weak in (NOT_MEASURED, ONE_SEED, COLLAPSED, NOISE, NO_DIFFERENCE):
        if weak in kinds:
            return weak
    return DISAGREE

