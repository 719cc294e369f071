"""What makes a string of digits a resident ID, a mobile or a bank card number.

Each check works on plain ASCII digits (the scanner has folded and joined them already) and
is strict, because every false alarm holds up a notice:

* resident ID, 18 characters (GB 11643-1999): a province code, a real birth date between
  1900 and today, and the ISO 7064 MOD 11-2 check character;
* resident ID, old 15-digit form (issued until 2004): a province code and a real birth date
  ``YYMMDD`` in the 1900s, no check digit;
* mobile: 11 digits whose first three are an allocated mainland mobile prefix (MIIT numbering
  plan: 13x, 145-149, 15x but 154, 162 and 165-167, 170-178, 18x, 19x but 194), optionally after
  the country code 86 / 0086;
* bank card: 16 to 19 digits with a card-scheme prefix (UnionPay 62/60/81, Visa 4, Mastercard
  51-55 and 2221-2720, JCB 3528-3589, domestic 9) passing the Luhn check, and not an ID.

Unified social credit codes (GB 32100-2015) identify organisations, which are public; their
check (MOD 31) lets the scanner leave them alone when the text calls them so.
"""

from __future__ import annotations

from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

# Province-level codes of GB/T 2260 (plus 71 Taiwan, 81/82 Hong Kong and Macao).
PROVINCES = frozenset(
    str(code)
    for first, last in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71))
    for code in range(first, last + 1)
) | {"81", "82"}

MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in "0123456789"]
    + [f"14{d}" for d in "56789"]
    + [f"15{d}" for d in "012356789"]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in "012345678"]
    + [f"18{d}" for d in "0123456789"]
    + [f"19{d}" for d in "012356789"]
)
COUNTRY_CODES = ("0086", "86")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _born(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def resident_id_18(value: str) -> bool:
    """An 18-character resident ID (``value`` is 17 digits and a digit or X)."""
    if len(value) != 18 or not value[:17].isdigit() or value[:2] not in PROVINCES:
        return False
    if not _born(int(value[6:10]), int(value[10:12]), int(value[12:14])):
        return False
    return id_check_char(value[:17]) == value[17].upper()


def resident_id_15(value: str) -> bool:
    """An old 15-digit resident ID: province, then a birth date YYMMDD in the 1900s."""
    if len(value) != 15 or not value.isdigit() or value[:2] not in PROVINCES:
        return False
    return _born(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def mobile(value: str) -> str | None:
    """The 11-digit national number when ``value`` is a mobile (with or without 86/0086)."""
    for code in ("", *COUNTRY_CODES):
        if value.startswith(code) and len(value) == len(code) + 11:
            national = value[len(code) :]
            if national[:3] in MOBILE_PREFIXES:
                return national
    return None


def luhn(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_scheme(number: str) -> bool:
    if number[0] in "49" or number[:2] in ("60", "62", "81"):
        return True
    if "51" <= number[:2] <= "55" or "2221" <= number[:4] <= "2720":
        return True
    return "3528" <= number[:4] <= "3589"


def bank_card(value: str) -> bool:
    return (
        16 <= len(value) <= 19
        and value.isdigit()
        and _card_scheme(value)
        and luhn(value)
        and not resident_id_18(value)
    )


def social_credit_code(value: str) -> bool:
    """A unified social credit code (18 characters, GB 32100-2015 MOD 31 check)."""
    code = value.upper()
    if len(code) != 18 or any(ch not in USCC_ALPHABET for ch in code):
        return False
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(code, USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]
