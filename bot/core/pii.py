"""Notice personal details in free text, so the bot can ask for a case reference instead.

Deliberately cautious: it flags what looks like a name, date of birth, NHS number, UK
postcode, phone number, email address or street address. A false alarm costs a re-type; a
missed name in a record channel costs a child's privacy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache

# ---------------------------------------------------------------------- normalising text
# Line breaks of every kind become "\n"; a record field that must be one line gets a space.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")
# Letters that are blank on screen but are not format characters (Hangul fillers, the
# combining grapheme joiner): stripped like zero-width characters.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u034f")
# Lower-case Cyrillic letters that read as Latin ones in most fonts but that Unicode's
# confusables list (about capitals and exact look-alikes) does not fold.
_EXTRA_LOOK_ALIKES = {"к": "k", "м": "m", "т": "t", "н": "h", "в": "b", "п": "n", "г": "r"}


def _dropped(ch: str) -> bool:
    """Format characters (zero-width spaces and joiners, soft hyphens, bidi controls, BOMs,
    tags) and control characters other than a line break or tab."""
    category = unicodedata.category(ch)
    return category == "Cf" or (category == "Cc" and ch not in "\n\t") or ch in _INVISIBLE_LETTERS


def clean_text(text: str, *, one_line: bool = False) -> str:
    """Text as it is stored: NFKC, line breaks unified, format and control characters
    (zero-width, soft hyphen, bidi overrides) removed; `one_line` turns line breaks into
    spaces, so a value cannot start a forged line of its own in a posted record."""
    text = unicodedata.normalize("NFKC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = "".join(ch for ch in text if not _dropped(ch)).replace("\t", " ")
    if one_line:
        text = " ".join(text.split())
    return text


KINDS = ("name", "date_of_birth", "nhs_number", "phone", "postcode", "email", "address")
_HIDDEN = re.compile("[\u00ad\u034f\u115f\u1160\u180e\u200b-\u200f\u2060-\u2064\u3164\ufeff\uffa0]")


@cache
def _look_alikes() -> dict[int, str]:
    """Each letter or digit that looks like an ASCII one, mapped to it (Unicode's
    confusables list, through confusable_homoglyphs, plus a few Cyrillic lower-case letters)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[int, str] = {}
    for ascii_char, entries in confusables_data.items():
        if len(ascii_char) == 1 and ascii_char.isascii() and ascii_char.isalnum():
            for entry in entries:
                other = entry["c"]
                if len(other) == 1 and not other.isascii():
                    table.setdefault(ord(other), ascii_char)
    for other, entries in confusables_data.items():
        if len(other) != 1 or other.isascii():
            continue
        for entry in entries:
            c = entry["c"]
            if len(c) == 1 and c.isascii() and c.isalnum():
                table.setdefault(ord(other), c)
    table.update({ord(k): v for k, v in _EXTRA_LOOK_ALIKES.items()})
    # Unicode folds I and l together; a capital look-alike must stay a capital for the checks
    for code, c in table.items():
        if c == "l" and chr(code).isupper():
            table[code] = "I"
    return table


def skeleton(text: str) -> str:
    """What a text looks like, for the personal-details check: cleaned, accents and other
    combining marks dropped, look-alike letters (Cyrillic "о" for "o") folded to ASCII, every
    kind of digit made 0–9 and every dash a hyphen."""
    text = unicodedata.normalize("NFKD", clean_text(text))
    out: list[str] = []
    table = _look_alikes()
    for ch in text:
        if ch.isascii():
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category.startswith("M"):
            continue
        if category == "Nd":
            out.append(str(unicodedata.digit(ch)))
        elif category == "Pd":
            out.append("-")
        elif category == "Zs":
            out.append(" ")
        else:
            out.append(table.get(ord(ch), ch))
    return unicodedata.normalize("NFC", "".join(out))


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"(?<![\w/.-])\+?\(?\d[\d\s().-]{7,16}\d(?![\w/])")
_DOB_WORDS = re.compile(r"\b(d\.?o\.?b\.?|date of birth|born( on| in)?|birthday)\b", re.IGNORECASE)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = re.compile(
    r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b"
    rf"|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTHS})[a-z]*\.?,?\s+(\d{{4}})\b",
    re.IGNORECASE,
)
_STREET = re.compile(
    r"\b\d{1,4}[a-z]?,?\s+[A-Z][a-z]+(\s[A-Z][a-z]+)?\s+"
    r"(Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Court|Ct"
    r"|Gardens|Gdns|Place|Pl|Terrace|Grove|Hill|Park|Square|Walk|View|Mews|Row|Rise)\b",
)
_TITLED = re.compile(r"\b(Mr|Mrs|Ms|Miss|Mx|Dr|Master)\.?\s+[A-Z][a-z'-]+")
_CALLED = re.compile(r"\b(called|named|name is|names|nicknamed|known as)\s+([A-Za-z][a-z'-]+)")
_NOT_A_NAME_AFTER_CALLED = frozenset(
    [
        "the",
        "a",
        "an",
        "it",
        "him",
        "her",
        "them",
        "me",
        "us",
        "my",
        "his",
        "their",
        "our",
        "your",
        "back",
        "out",
        "in",
        "off",
        "up",
        "for",
        "to",
        "about",
        "police",
        "social",
        "services",
        "ambulance",
        "999",
        "101",
        "on",
        "by",
        "at",
        "into",
        "round",
        "over",
        "this",
        "that",
        "who",
        "when",
        "because",
        "after",
        "before",
        "and",
        "or",
        "but",
    ]
)
_CAP_PAIR = re.compile(r"\b([A-Z][a-z'-]+)\s+([A-Z][a-z'-]{1,})\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass(frozen=True)
class PersonalDetails:
    """Finds personal details; built once from the first-name list in the knowledge base."""

    first_names: frozenset[str]
    not_surnames: frozenset[str]

    @classmethod
    def from_lists(cls, first_names: Iterable[str], not_surnames: Iterable[str]) -> PersonalDetails:
        _look_alikes()  # built now, at start-up, not on someone's first message
        return cls(
            frozenset(n.lower() for n in first_names), frozenset(w.lower() for w in not_surnames)
        )

    def find(self, text: str, today: date | None = None) -> list[str]:
        """The kinds of personal detail found, in a stable order (empty when none). The text
        is checked as it looks (`skeleton`), so hidden characters and look-alike letters
        inside a name or number do not hide it."""
        if not text:
            return []
        if text.isascii():
            return self._kinds(text, today)
        # A hidden character may join two words ("Jess<ZWSP>Smith") or split one ("Je<ZWSP>ss"):
        # check the text both ways, as one reader or another would see it.
        found = self._kinds(skeleton(text), today)
        spaced = _HIDDEN.sub(" ", text)
        if spaced != text:
            found += [k for k in self._kinds(skeleton(spaced), today) if k not in found]
        return [k for k in KINDS if k in found]

    def _kinds(self, text: str, today: date | None) -> list[str]:
        kinds: list[str] = []
        if self._has_name(text):
            kinds.append("name")
        if self._has_dob(text, today or date.today()):
            kinds.append("date_of_birth")
        numbers = self._numbers(text)
        kinds.extend(k for k in ("nhs_number", "phone") if k in numbers)
        if _POSTCODE.search(text):
            kinds.append("postcode")
        if _EMAIL.search(text):
            kinds.append("email")
        if _STREET.search(text):
            kinds.append("address")
        return kinds

    def _has_name(self, text: str) -> bool:
        if _TITLED.search(text):
            return True
        for m in _CALLED.finditer(text):
            if m.group(2).lower() not in _NOT_A_NAME_AFTER_CALLED:
                return True
        for m in _CAP_PAIR.finditer(text):
            if m.group(1).lower() in self.first_names and (
                m.group(2).lower() not in self.not_surnames
            ):
                return True
        return any(w.lower().strip("'-") in self.first_names for w in _WORD.findall(text))

    def _has_dob(self, text: str, today: date) -> bool:
        dates = list(_DATE.finditer(text))
        if not dates:
            return False
        if _DOB_WORDS.search(text):
            return True
        for m in dates:
            year_text = m.group(3) or m.group(6)
            year = int(year_text)
            if len(year_text) == 2:
                year += 2000 if year <= today.year % 100 else 1900
            if year <= today.year - 2:  # an old full date is more likely a birth date than an event
                return True
        return False

    def _numbers(self, text: str) -> set[str]:
        found: set[str] = set()
        for m in _DIGIT_RUN.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if len(digits) == 10 and not digits.startswith("0") and _nhs_checksum_ok(digits):
                found.add("nhs_number")
            elif (m.group(0).lstrip("(").startswith("+44") and 11 <= len(digits) <= 13) or (
                digits.startswith("0") and len(digits) in (10, 11)
            ):
                found.add("phone")
            elif len(digits) == 10 and re.fullmatch(
                r"\d{3}[\s-]?\d{3}[\s-]?\d{4}", m.group(0).strip()
            ):
                found.add("nhs_number")  # shaped like an NHS number even if mistyped
        return found


def _nhs_checksum_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])
