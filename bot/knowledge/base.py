"""Load and validate the knowledge base from its YAML files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.core.replies import Source
from bot.knowledge.dialog_words import ORGANISATION_TYPES, check_dialog_words
from bot.knowledge.problems import KnowledgeError, review_date

KNOWLEDGE_DIR = Path(__file__).resolve().parent
ENTRY_KINDS = ("myth", "topic", "emergency")
MIN_PHRASINGS = 6
REVIEW_AFTER_DAYS = 365
_ID = re.compile(r"^(myth|topic)\.[a-z0-9]+(-[a-z0-9]+)*$|^emergency$")

try:  # the C loader is several times faster; fall back where libyaml is absent
    YAML_LOADER: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    YAML_LOADER = yaml.SafeLoader
_Loader = YAML_LOADER


__all__ = ["Entry", "KnowledgeBase", "KnowledgeError", "check_knowledge", "load_knowledge"]


@dataclass(frozen=True, slots=True)
class SourceDoc:
    id: str
    title: str
    short: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """One myth, topic or the emergency guidance."""

    id: str
    kind: str
    title: str
    answer: str
    explanation: str
    phrasings: tuple[str, ...]
    sources: tuple[Source, ...]
    related: tuple[str, ...]
    last_reviewed: date
    file: str
    verdict: bool | None = None
    points: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    key: str
    label: str
    detail: str


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries and words, validated. `version` changes whenever any file changes."""

    entries: Mapping[str, Entry]
    sources: Mapping[str, SourceDoc]
    synonyms: Mapping[str, str]
    out_of_scope: tuple[str, ...]
    words: Mapping[str, Any]  # the dialog's texts: questions, outcomes, record, messages
    contacts: Mapping[str, Contact]
    organisation: str
    version: str
    warnings: tuple[str, ...] = field(default=())
    organisation_type: str = ""  # public_authority | voluntary | private; "" when not said
    files_reviewed: Mapping[str, date] = field(default_factory=dict)  # dialog file → date

    def entry(self, entry_id: str) -> Entry:
        return self.entries[entry_id]

    def stale(self, today: date, days: int = REVIEW_AFTER_DAYS) -> list[Entry]:
        """Entries whose `last_reviewed` is more than `days` before `today`."""
        return [e for e in self.entries.values() if (today - e.last_reviewed).days > days]

    def stale_files(self, today: date, days: int = REVIEW_AFTER_DAYS) -> list[tuple[str, date]]:
        """Dialog files (questions, outcomes, record, messages…) due for review."""
        return [(f, d) for f, d in self.files_reviewed.items() if (today - d).days > days]

    def contact_lines(self, keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(
            f"{self.contacts[k].label}: {self.contacts[k].detail}"
            for k in keys
            if k in self.contacts
        )


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(KNOWLEDGE_DIR.parent.parent))
    except ValueError:
        return str(path)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise KnowledgeError(_rel(path), "", f"is not valid YAML{at}") from exc
    except OSError as exc:
        raise KnowledgeError(_rel(path), "", f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeError(
            _rel(path), "", f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc


def _text(raw: Mapping[str, Any], key: str, file: str, entry: str) -> str:
    value = raw.get(key)
    if value is None:
        raise KnowledgeError(file, entry, f"missing field '{key}'")
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(file, entry, f"field '{key}' must be non-empty text")
    return value.strip()


def _text_list(raw: Mapping[str, Any], key: str, file: str, entry: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeError(file, entry, f"field '{key}' must be a list of non-empty texts")
    return tuple(v.strip() for v in value)


def _sources(
    raw: Mapping[str, Any], docs: Mapping[str, SourceDoc], file: str, entry: str
) -> tuple[Source, ...]:
    value = raw.get("sources")
    if not isinstance(value, list) or not value:
        raise KnowledgeError(file, entry, "needs at least one source (doc and section)")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("doc"), str):
            raise KnowledgeError(file, entry, "each source needs 'doc' (a source id) and 'section'")
        doc = docs.get(item["doc"])
        if doc is None:
            raise KnowledgeError(
                file, entry, f"source '{item['doc']}' is not listed in bot/knowledge/sources.yaml"
            )
        section = item.get("section", "")
        if not isinstance(section, str) or not section.strip():
            raise KnowledgeError(file, entry, f"source '{doc.id}' needs a 'section'")
        out.append(Source(doc.title, section.strip(), doc.short))
    return tuple(out)


def parse_entry(raw: Any, docs: Mapping[str, SourceDoc], file: str) -> Entry:
    """Validate one entry's mapping and build it; raise KnowledgeError naming file and entry."""
    if not isinstance(raw, dict):
        raise KnowledgeError(file, "", "must hold one entry: a mapping with 'id', 'title', …")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise KnowledgeError(
            file, str(entry_id or ""), "needs an 'id' like myth.some-words or topic.some-words"
        )
    kind = raw.get("kind", entry_id.split(".")[0])
    if kind not in ENTRY_KINDS or (kind != "emergency" and not entry_id.startswith(kind + ".")):
        raise KnowledgeError(file, entry_id, f"'kind' must match the id prefix (got {kind!r})")
    phrasings = _text_list(raw, "phrasings", file, entry_id)
    if len(phrasings) < MIN_PHRASINGS:
        raise KnowledgeError(
            file, entry_id, f"needs at least {MIN_PHRASINGS} phrasings (has {len(phrasings)})"
        )
    verdict = raw.get("verdict")
    if kind == "myth" and not isinstance(verdict, bool):
        raise KnowledgeError(file, entry_id, "a myth needs 'verdict: false' (or true)")
    if kind != "myth" and verdict is not None:
        raise KnowledgeError(file, entry_id, "only myths carry a 'verdict'")
    related = _text_list(raw, "related", file, entry_id)
    if kind != "emergency" and not related:
        raise KnowledgeError(file, entry_id, "needs at least one 'related' id")
    contacts = _text_list(raw, "contacts", file, entry_id)
    notes = raw.get("notes", "")
    return Entry(
        id=entry_id,
        kind=kind,
        title=_text(raw, "title", file, entry_id),
        answer=_text(raw, "answer", file, entry_id),
        explanation=_text(raw, "explanation", file, entry_id),
        phrasings=phrasings,
        sources=_sources(raw, docs, file, entry_id),
        related=related,
        last_reviewed=review_date(raw, file, entry_id),
        file=file,
        verdict=verdict if kind == "myth" else None,
        points=_text_list(raw, "points", file, entry_id),
        contacts=contacts,
        notes=notes.strip() if isinstance(notes, str) else "",
    )


def _load_sources(path: Path) -> dict[str, SourceDoc]:
    raw = _read_yaml(path)
    file = _rel(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("documents"), list):
        raise KnowledgeError(file, "", "needs a 'documents' list")
    docs: dict[str, SourceDoc] = {}
    for item in raw["documents"]:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "title", "short")
        ):
            raise KnowledgeError(file, str(item), "each document needs 'id', 'title' and 'short'")
        if item["id"] in docs:
            raise KnowledgeError(file, item["id"], "duplicate document id")
        docs[item["id"]] = SourceDoc(item["id"], item["title"], item["short"], item.get("url", ""))
    return docs


def _load_contacts(path: Path) -> tuple[str, str, dict[str, Contact]]:
    raw = _read_yaml(path)
    file = _rel(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("contacts"), dict):
        raise KnowledgeError(file, "", "needs 'organisation' and a 'contacts' mapping")
    org = raw.get("organisation")
    if not isinstance(org, str) or not org.strip():
        raise KnowledgeError(file, "", "needs 'organisation' (the organisation's name)")
    org_type = raw.get("type", "")
    if org_type not in ("", None, *ORGANISATION_TYPES):
        raise KnowledgeError(
            file, "type", f"must be one of {', '.join(ORGANISATION_TYPES)} (got {org_type!r})"
        )
    contacts: dict[str, Contact] = {}
    for key, item in raw["contacts"].items():
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) and item[k].strip() for k in ("label", "detail")
        ):
            raise KnowledgeError(file, str(key), "each contact needs 'label' and 'detail'")
        contacts[str(key)] = Contact(str(key), item["label"].strip(), item["detail"].strip())
    return org.strip(), str(org_type or ""), contacts


REQUIRED_CONTACTS = (
    "safeguarding_lead",
    "childrens_front_door",
    "adults_front_door",
    "police_non_emergency",
    "out_of_hours",
)


def load_knowledge(
    directory: Path = KNOWLEDGE_DIR, organisation_file: Path | None = None
) -> KnowledgeBase:
    """Read every knowledge file, validate it and return the knowledge base.

    Raises KnowledgeError for the first problem found, naming the file and entry.
    """
    kb, problems = _checked(directory, organisation_file)
    if problems or kb is None:
        first = problems[0]
        more = len(problems) - 1
        if more:
            first = KnowledgeError(
                first.file,
                first.entry,
                f"{first.problem} (and {more} more: run 'canishare knowledge check')",
            )
        raise first
    return kb


def check_knowledge(
    directory: Path = KNOWLEDGE_DIR, organisation_file: Path | None = None
) -> list[KnowledgeError]:
    """Every problem in the knowledge files (empty when all is well)."""
    return _checked(directory, organisation_file)[1]


def _checked(
    directory: Path, organisation_file: Path | None
) -> tuple[KnowledgeBase | None, list[KnowledgeError]]:
    """The knowledge base, read once, and every problem found reading it (the base is only
    to be used when there are none)."""
    problems: list[KnowledgeError] = []
    try:
        kb = _build(directory, organisation_file, problems)
    except KnowledgeError as exc:
        return None, [*problems, exc]
    return kb, problems


def _entry_files(directory: Path) -> list[Path]:
    return sorted((directory / "entries").rglob("*.yaml"))


def _build(
    directory: Path,
    organisation_file: Path | None,
    problems: list[KnowledgeError] | None = None,
) -> KnowledgeBase:
    def fail(exc: KnowledgeError) -> None:
        if problems is None:
            raise exc
        problems.append(exc)

    docs = _load_sources(directory / "sources.yaml")
    digest = hashlib.sha256()
    entries: dict[str, Entry] = {}
    for path in _entry_files(directory):
        digest.update(path.read_bytes())
        file = _rel(path)
        try:
            entry = parse_entry(_read_yaml(path), docs, file)
        except KnowledgeError as exc:
            fail(exc)
            continue
        if entry.id in entries:
            fail(KnowledgeError(file, entry.id, f"duplicate id (also in {entries[entry.id].file})"))
            continue
        entries[entry.id] = entry
    org_path = organisation_file or directory / "organisation.yaml"
    organisation, organisation_type, contacts = _load_contacts(org_path)
    for entry in entries.values():
        for rel in entry.related:
            if rel not in entries:
                fail(KnowledgeError(entry.file, entry.id, f"related id '{rel}' does not exist"))
        for key in entry.contacts:
            if key not in contacts:
                fail(KnowledgeError(entry.file, entry.id, f"contact '{key}' is not configured"))
    for key in REQUIRED_CONTACTS:
        if key not in contacts:
            fail(KnowledgeError(_rel(org_path), key, "this contact is required"))
    synonyms_raw = _read_yaml(directory / "synonyms.yaml")
    synonyms = _synonyms(synonyms_raw, _rel(directory / "synonyms.yaml"))
    oos_raw = _read_yaml(directory / "out_of_scope.yaml")
    if not isinstance(oos_raw, dict) or not isinstance(oos_raw.get("phrasings"), list):
        raise KnowledgeError(_rel(directory / "out_of_scope.yaml"), "", "needs a 'phrasings' list")
    words: dict[str, Any] = {}
    for path in sorted((directory / "dialog").glob("*.yaml")):
        digest.update(path.read_bytes())
        raw = _read_yaml(path)
        if not isinstance(raw, dict):
            raise KnowledgeError(_rel(path), "", "must be a mapping")
        words[path.stem] = raw
        words.setdefault("_files", {})[path.stem] = _rel(path)
    # every file that can change what the bot says is part of the version a record carries
    for p in (
        directory / "sources.yaml",
        directory / "synonyms.yaml",
        directory / "out_of_scope.yaml",
        directory / "emergency_signals.yaml",
        directory / "emergency_examples.yaml",
        directory / "signals.yaml",
        org_path,
    ):
        if p.exists():
            digest.update(p.read_bytes())
    kb = KnowledgeBase(
        entries=entries,
        sources=docs,
        synonyms=synonyms,
        out_of_scope=tuple(str(p) for p in oos_raw["phrasings"]),
        words=words,
        contacts=contacts,
        organisation=organisation,
        version="kb-" + digest.hexdigest()[:10],
        organisation_type=organisation_type,
        files_reviewed=_files_reviewed(words),
    )
    files = {k: v for k, v in words.get("_files", {}).items()}
    for problem in check_dialog_words(
        words, files=files, sources=set(docs), contacts=set(contacts)
    ):
        fail(problem)
    return kb


def _files_reviewed(words: Mapping[str, Any]) -> dict[str, date]:
    """Each dialog file's review date, where it is readable (the check reports the rest)."""
    out: dict[str, date] = {}
    for stem, file in words.get("_files", {}).items():
        try:
            out[file] = review_date(words[stem], file, "")
        except KnowledgeError:
            continue
    return out


def _synonyms(raw: Any, file: str) -> dict[str, str]:
    """Flatten `{canonical: [variant, …]}` groups into variant → canonical."""
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), dict):
        raise KnowledgeError(file, "", "needs a 'groups' mapping of canonical: [variants]")
    out: dict[str, str] = {}
    for canonical, variants in raw["groups"].items():
        if not isinstance(variants, list):
            raise KnowledgeError(file, str(canonical), "variants must be a list")
        for v in variants:
            out[str(v).lower()] = str(canonical).lower()
    return out
