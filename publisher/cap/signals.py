"""CMA warning signals (气象灾害预警信号): which type and colour a CAP message carries.

Facts (``shared/reference/channel-apis.md`` §4.2):

* 14 signal types plus 森林火灾 and 雷雨大风 in the public product code scheme ``TTLL``
  (weather.com.cn / Caiyun): TT the type (01 台风 … 16 雷雨大风), LL the colour (01 蓝,
  02 黄, 03 橙, 04 红); e.g. ``0902`` = 雷电黄色 [S64]. The portal writes it as
  ``eventCode`` ``CMA_SIGNAL`` (channels/portal/cap.py), so our own feed reads back.
* Four levels, Ⅳ蓝 / Ⅲ黄 / Ⅱ橙 / Ⅰ红 (中国气象局令第16号, 2007) [S63].
* Colour -> CAP severity 红 Extreme, 橙 Severe, 黄 Moderate, 蓝 Minor: the reference's
  recommended mapping, UNCERTAIN for the Chinese profile GB/T 35965.1 [S65]; we read it
  backwards only when no ``eventCode``/``parameter`` names the colour.

:func:`read_signal` looks, in order, at the ``eventCode`` and ``parameter`` pairs (a
``TTLL`` code under a name that says signal/CMA/预警; a colour word: 红色, 红, Red; a level:
Ⅰ级, I级), then ``severity``, then the Chinese ``headline`` and ``event`` (暴雨橙色预警).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

COLOURS = ("蓝色", "黄色", "橙色", "红色")
LEVELS = {"蓝色": "Ⅳ", "黄色": "Ⅲ", "橙色": "Ⅱ", "红色": "Ⅰ"}
SEVERITY_COLOURS = {"Extreme": "红色", "Severe": "橙色", "Moderate": "黄色", "Minor": "蓝色"}
SIGNAL_CODES = {
    "01": "台风",
    "02": "暴雨",
    "03": "暴雪",
    "04": "寒潮",
    "05": "大风",
    "06": "沙尘暴",
    "07": "高温",
    "08": "干旱",
    "09": "雷电",
    "10": "冰雹",
    "11": "霜冻",
    "12": "大雾",
    "13": "霾",
    "14": "道路结冰",
    "15": "森林火灾",
    "16": "雷雨大风",
}
COLOUR_CODES = {"01": "蓝色", "02": "黄色", "03": "橙色", "04": "红色"}
# Longest first, so that 雷雨大风 is not read as 大风 and 沙尘暴 not as 暴...
SIGNAL_NAMES = sorted(SIGNAL_CODES.values(), key=len, reverse=True)

_WORDS = {
    "red": "红色",
    "orange": "橙色",
    "yellow": "黄色",
    "blue": "蓝色",
    "红": "红色",
    "橙": "橙色",
    "黄": "黄色",
    "蓝": "蓝色",
}
_ENGLISH = re.compile(r"\b(red|orange|yellow|blue)\b", re.IGNORECASE)
_CHINESE = re.compile("(红|橙|黄|蓝)色")
_LEVEL = re.compile(r"^\s*(Ⅰ|Ⅱ|Ⅲ|Ⅳ|IV|III|II|I)\s*级")
_LEVEL_COLOURS = {"Ⅰ": "红色", "I": "红色", "Ⅱ": "橙色", "II": "橙色", "Ⅲ": "黄色", "III": "黄色"}
_LEVEL_COLOURS |= {"Ⅳ": "蓝色", "IV": "蓝色"}
_CODE = re.compile(r"^\s*(\d\d)(\d\d)\s*$")
_CODE_NAMES = re.compile(r"cma|signal|信号|预警|code", re.IGNORECASE)


@dataclass(frozen=True)
class Signal:
    """What a message says of its signal: type (暴雨) and colour (橙色), either may be unknown."""

    signal: str | None
    colour: str | None
    source: str  # where the colour came from: eventCode, parameter, severity, headline, none

    @property
    def level(self) -> str | None:
        return LEVELS.get(self.colour) if self.colour else None


def colour_in(text: str) -> str | None:
    """The colour a value names: 红色, 红, Red, RED, Ⅰ级…; None if it names none."""
    value = text.strip()
    if value.lower() in _WORDS:
        return _WORDS[value.lower()]
    found = _CHINESE.search(value)
    if found:
        return found.group(1) + "色"
    level = _LEVEL.match(value)
    if level:
        return _LEVEL_COLOURS[level.group(1)]
    english = _ENGLISH.search(value)
    return _WORDS[english.group(1).lower()] if english else None


def signal_in(text: str) -> str | None:
    """The CMA signal type a text names (暴雨橙色预警 -> 暴雨), or None."""
    return next((name for name in SIGNAL_NAMES if name in text), None)


def _from_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[str | None, str | None]:
    signal = colour = None
    for name, value in pairs:
        code = _CODE.match(value)
        if code and _CODE_NAMES.search(name):
            signal = signal or SIGNAL_CODES.get(code.group(1))
            colour = colour or COLOUR_CODES.get(code.group(2))
            continue
        signal = signal or signal_in(value)
        colour = colour or colour_in(value)
    return signal, colour


def read_signal(
    event_codes: Iterable[tuple[str, str]],
    parameters: Iterable[tuple[str, str]],
    severity: str,
    texts: Iterable[str | None],
) -> Signal:
    """Type and colour by the rules in the module docstring."""
    written = [t for t in texts if t]
    signal, colour = _from_pairs(event_codes)
    source = "eventCode" if colour else ""
    more_signal, more_colour = _from_pairs(parameters)
    signal = signal or more_signal
    if colour is None and more_colour is not None:
        colour, source = more_colour, "parameter"
    if colour is None and severity in SEVERITY_COLOURS:
        colour, source = SEVERITY_COLOURS[severity], "severity"
    if colour is None:
        colour = next((c for c in (_chinese_colour(t) for t in written) if c), None)
        source = "headline" if colour else "none"
    signal = signal or next((s for s in (signal_in(t) for t in written) if s), None)
    return Signal(signal, colour, source)


def _chinese_colour(text: str) -> str | None:
    found = _CHINESE.search(text)
    return found.group(1) + "色" if found else None
