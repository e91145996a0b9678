"""`canishare manifest teams`: build the Teams app package (a zip) and check it before upload.

The package is `manifest/teams/manifest.json` with the bot's id filled in from
`MicrosoftAppId`, plus the colour and outline icons. Teams rejects a package for reasons that
are easy to check here first: missing fields, ids that are not GUIDs, a bot id that is not this
bot's, icons of the wrong size, an outline icon that is not white on transparent. Given
Microsoft's JSON schema for the manifest (`--schema FILE`), the manifest is validated against it
too; the tests always do, with the schema from Microsoft's own package.

Nothing here needs the bot's secret: a managed identity has none.
"""

from __future__ import annotations

import io
import json
import re
import struct
import sys
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bot.settings import Settings

SOURCE_DIR: Final = Path(__file__).resolve().parents[3] / "manifest" / "teams"
DEFAULT_OUTPUT: Final = Path("var") / "canishare-teams.zip"
FILES: Final = ("manifest.json", "color.png", "outline.png")
SUPPORTED_VERSIONS: Final = ("1.29",)
SCHEMA_URL: Final = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/v{version}/MicrosoftTeams.schema.json"
)
REQUIRED_COMMANDS: Final = ("share", "myth", "help")
REQUIRED_SCOPES: Final = ("personal", "team")
COLOR_SIZE: Final = 192
OUTLINE_SIZE: Final = 32
APP_ID_NAMESPACE: Final = uuid.UUID("5b0e3f0c-6f5e-4c1e-9a58-6a1c0d7c2b11")
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
GUID: Final = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER: Final = re.compile(r"^\d+\.\d+\.\d+$")
HEX_COLOUR: Final = re.compile(r"^#[0-9a-fA-F]{6}$")
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2
BUMPS: Final = ("major", "minor", "patch")
PLACEHOLDER_NAMES: Final = frozenset({"your organisation", "your organization", "contoso"})
PLACEHOLDER_HOSTS: Final = re.compile(
    r"^https?://([^/]*\.)?(example\.(org|com|net)|contoso\.com|localhost)(/|:|$)", re.IGNORECASE
)


# ---------------------------------------------------------------------- PNG, no PIL needed
def png_bytes(width: int, height: int, rgba: bytes) -> bytes:
    """An 8-bit RGBA PNG from raw pixels (rows top to bottom, 4 bytes a pixel)."""
    if len(rgba) != width * height * 4:
        raise ValueError("pixel data does not match the size")
    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    bit_depth: int
    colour_type: int
    has_alpha: bool  # an alpha channel or a tRNS chunk
    pixels: bytes | None  # RGBA, when the format is one we decode (8-bit RGB/RGBA)


class PngError(ValueError):
    pass


def read_png(data: bytes) -> Png:
    """Parse a PNG enough to check its size, transparency and (for 8-bit RGB/RGBA) pixels."""
    if not data.startswith(PNG_SIGNATURE):
        raise PngError("is not a PNG file")
    pos = len(PNG_SIGNATURE)
    header: tuple[int, ...] | None = None
    idat = bytearray()
    transparent = False
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length] or b"\0\0\0\0")
        if len(body) != length or zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise PngError("is damaged (a chunk is cut short or fails its checksum)")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"tRNS":
            transparent = True
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise PngError("has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    has_alpha = colour in (4, 6) or transparent
    pixels = None
    if depth == 8 and colour in (2, 6) and interlace == 0:
        channels = 4 if colour == 6 else 3
        try:
            raw = zlib.decompress(bytes(idat))
        except zlib.error as exc:
            raise PngError(f"has damaged image data ({exc})") from None
        pixels = _unfilter(raw, width, height, channels)
        if channels == 3:
            pixels = b"".join(pixels[i : i + 3] + b"\xff" for i in range(0, len(pixels), 3))
    return Png(width, height, depth, colour, has_alpha, pixels)


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> bytes:
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise PngError("has less image data than its size says")
    out = bytearray()
    prev = bytearray(stride)
    pos = 0
    for _ in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += stride + 1
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF
            elif kind != 0:
                raise PngError(f"uses an unknown row filter ({kind})")
        out += line
        prev = line
    return bytes(out)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


# ---------------------------------------------------------------------- build
def teams_app_id(bot_id: str) -> str:
    """The Teams app's own id: stable for this bot, so an upload updates the same app."""
    return str(uuid.uuid5(APP_ID_NAMESPACE, bot_id.lower()))


def fill_manifest(template: Mapping[str, Any], bot_id: str) -> dict[str, Any]:
    """The manifest with `{{MicrosoftAppId}}` and `{{TeamsAppId}}` filled in."""
    text = json.dumps(template)
    text = text.replace("{{MicrosoftAppId}}", bot_id).replace(
        "{{TeamsAppId}}", teams_app_id(bot_id)
    )
    filled: dict[str, Any] = json.loads(text)
    return filled


def build_package(source: Path, bot_id: str) -> bytes:
    """The upload zip: the filled-in manifest and both icons at the top level."""
    template = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest = fill_manifest(template, bot_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for name in FILES[1:]:
            z.writestr(name, (source / name).read_bytes())
    return buffer.getvalue()


# ---------------------------------------------------------------------- validate
def validate_package(package: bytes, bot_id: str) -> list[str]:
    """Every problem Teams would reject the package for (as far as we can tell offline)."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as z:
            names = set(z.namelist())
            files = {n: z.read(n) for n in names if n in FILES}
    except zipfile.BadZipFile:
        return ["the package is not a zip file"]
    problems = [f"the package has no {n} at its top level" for n in FILES if n not in files]
    problems += [f"the package has an unexpected file {n}" for n in sorted(names - set(FILES))]
    if "manifest.json" not in files:
        return problems
    try:
        manifest = json.loads(files["manifest.json"].decode("utf-8"))
    except ValueError as exc:
        return [*problems, f"manifest.json is not valid JSON: {exc}"]
    if not isinstance(manifest, dict):
        return [*problems, "manifest.json must hold a JSON object"]
    problems += check_manifest(manifest, bot_id)
    icons = manifest.get("icons") or {}
    for role, size in (("color", COLOR_SIZE), ("outline", OUTLINE_SIZE)):
        name = icons.get(role)
        if isinstance(name, str) and name in files:
            problems += check_icon(name, files[name], size, outline=role == "outline")
        elif isinstance(name, str):
            problems.append(f"icons.{role} names {name}, which is not in the package")
    return problems


def check_manifest(m: Mapping[str, Any], bot_id: str) -> list[str]:
    problems: list[str] = []

    def need(path: str) -> Any:
        value: Any = m
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value in (None, "", [], {}):
            problems.append(f"manifest.json: {path} is required")
        return value

    version = need("manifestVersion")
    schema = need("$schema")
    if version and version not in SUPPORTED_VERSIONS:
        problems.append(
            f"manifest.json: manifestVersion {version} is not one of {SUPPORTED_VERSIONS}"
        )
    elif version and schema != SCHEMA_URL.format(version=version):
        problems.append(f"manifest.json: $schema should be {SCHEMA_URL.format(version=version)}")
    app_version = need("version")
    if app_version and not SEMVER.match(str(app_version)):
        problems.append(f"manifest.json: version must look like 1.0.0 (got {app_version!r})")
    app_id = need("id")
    if app_id and not GUID.match(str(app_id)):
        problems.append(f"manifest.json: id must be a GUID (got {app_id!r})")
    for path in (
        "developer.name",
        "developer.websiteUrl",
        "developer.privacyUrl",
        "developer.termsOfUseUrl",
    ):
        value = need(path)
        if path != "developer.name" and value and not str(value).startswith("https://"):
            problems.append(f"manifest.json: {path} must be an https:// URL")
    for path, limit in (
        ("name.short", 30),
        ("name.full", 100),
        ("description.short", 80),
        ("description.full", 4000),
    ):
        value = need(path)
        if value and len(str(value)) > limit:
            problems.append(f"manifest.json: {path} must be at most {limit} characters")
    need("icons.color")
    need("icons.outline")
    colour = need("accentColor")
    if colour and not HEX_COLOUR.match(str(colour)):
        problems.append("manifest.json: accentColor must be a colour like #1F6FB2")
    bots = need("bots")
    if isinstance(bots, list) and bots:
        problems += check_bot(bots[0], bot_id)
        if len(bots) > 1:
            problems.append("manifest.json: only one bot is allowed")
    return problems


def check_bot(bot: Mapping[str, Any], bot_id: str) -> list[str]:
    problems: list[str] = []
    found = str(bot.get("botId", ""))
    if not GUID.match(found):
        problems.append(f"manifest.json: bots[0].botId must be a GUID (got {found!r})")
    elif found.lower() != bot_id.lower():
        problems.append(f"manifest.json: bots[0].botId is {found}, but MicrosoftAppId is {bot_id}")
    scopes = bot.get("scopes") or []
    for scope in REQUIRED_SCOPES:
        if scope not in scopes:
            problems.append(f"manifest.json: bots[0].scopes must include {scope}")
    listed: dict[str, list[str]] = {}
    for n, command_list in enumerate(bot.get("commandLists") or []):
        titles = [str(c.get("title", "")) for c in command_list.get("commands") or []]
        if len(titles) > 10:
            problems.append(f"manifest.json: commandLists[{n}] has more than 10 commands")
        if len(set(titles)) != len(titles):
            problems.append(f"manifest.json: commandLists[{n}] repeats a command")
        for c in command_list.get("commands") or []:
            if not c.get("title") or len(str(c["title"])) > 32:
                problems.append(f"manifest.json: commandLists[{n}] has an empty or too long title")
            if not c.get("description") or len(str(c["description"])) > 128:
                problems.append(
                    f"manifest.json: command {c.get('title')!r} needs a short description"
                )
        for scope in command_list.get("scopes") or []:
            if scope not in scopes:
                problems.append(
                    f"manifest.json: commandLists[{n}] uses scope {scope}, which the bot lacks"
                )
            listed.setdefault(scope, []).extend(titles)
    for scope in REQUIRED_SCOPES:
        missing = [c for c in REQUIRED_COMMANDS if c not in listed.get(scope, [])]
        if missing:
            problems.append(f"manifest.json: the {scope} command list lacks {', '.join(missing)}")
    return problems


def schema_problems(manifest: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Every way the manifest breaks Microsoft's JSON schema for its version."""
    import jsonschema

    validator = jsonschema.Draft4Validator(schema)
    found = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    return [
        f"manifest.json: {'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: "
        f"{e.message[:300]}"
        for e in found
    ]


def placeholder_warnings(manifest: Mapping[str, Any]) -> list[str]:
    """Names and links still as shipped (they show on the app's About page in Teams)."""
    developer = manifest.get("developer") or {}
    warnings = []
    name = str(developer.get("name", ""))
    if name.strip().lower() in PLACEHOLDER_NAMES:
        warnings.append(
            f"developer.name is still the placeholder {name!r}: put your organisation's name in "
            "manifest/teams/manifest.json"
        )
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        url = str(developer.get(key, ""))
        if PLACEHOLDER_HOSTS.match(url):
            warnings.append(
                f"developer.{key} is still a placeholder link ({url}): point it at your own "
                "page in manifest/teams/manifest.json"
            )
    return warnings


def bump_version(source: Path, part: str) -> str:
    """Raise the app's `version` in the manifest template (Teams offers an update only when
    it goes up); return the new version."""
    path = source / "manifest.json"
    text = path.read_text(encoding="utf-8")
    template = json.loads(text)
    old = str(template.get("version", ""))
    if not SEMVER.match(old):
        raise ValueError(f"version must look like 1.0.0 to be bumped (got {old!r})")
    major, minor, patch = (int(n) for n in old.split("."))
    new = {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[part]
    # change that one value in place, so the file keeps its layout
    updated, count = re.subn(
        r'("version"\s*:\s*")' + re.escape(old) + '"', rf"\g<1>{new}" + '"', text, count=1
    )
    if count != 1 or json.loads(updated).get("version") != new:
        raise ValueError("could not find the app's version in manifest.json")
    path.write_text(updated, encoding="utf-8")
    return new


def check_icon(name: str, data: bytes, size: int, *, outline: bool) -> list[str]:
    try:
        png = read_png(data)
    except PngError as exc:
        return [f"{name} {exc}"]
    problems = []
    if (png.width, png.height) != (size, size):
        problems.append(f"{name} must be {size}x{size} pixels (it is {png.width}x{png.height})")
    if outline:
        if not png.has_alpha:
            problems.append(f"{name} must have a transparent background")
        elif png.pixels is not None:
            problems += _check_outline_pixels(name, png.pixels)
    return problems


def _check_outline_pixels(name: str, rgba: bytes) -> list[str]:
    """Teams wants the outline icon white on transparent, nothing else."""
    alphas = rgba[3::4]
    if 0 not in alphas:
        return [f"{name} must have a transparent background"]
    for i in range(0, len(rgba), 4):
        r, g, b, a = rgba[i : i + 4]
        if a and min(r, g, b) < 0xF0:
            return [f"{name} must be white on transparent (found a coloured pixel)"]
    return []


# ---------------------------------------------------------------------- command
def teams_manifest_cmd(
    settings: Settings,
    base_url: str,
    output: Path | None,
    *,
    bump: str | None = None,
    schema: Path | None = None,
    source: Path = SOURCE_DIR,
) -> int:
    """Build and check the Teams app package; print what to do with it."""
    bot_id = settings.ms_app_id
    if not bot_id:
        print(
            "canishare: MicrosoftAppId is not set. Register the bot first (docs/teams-setup.md) "
            "and put its application (client) id in MicrosoftAppId.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not GUID.match(bot_id):
        print(f"canishare: MicrosoftAppId must be a GUID (got {bot_id!r})", file=sys.stderr)
        return EXIT_USAGE
    rules = None
    if schema is not None:
        try:
            rules = json.loads(schema.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"canishare: cannot read the schema {schema}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if bump is not None:
        try:
            print(f"version is now {bump_version(source, bump)} in {source / 'manifest.json'}")
        except (OSError, ValueError) as exc:
            print(f"canishare: cannot bump the version: {exc}", file=sys.stderr)
            return EXIT_INVALID
    try:
        package = build_package(source, bot_id)
    except (OSError, ValueError) as exc:
        print(f"canishare: cannot build the Teams package from {source}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    problems = validate_package(package, bot_id)
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        filled = json.loads(z.read("manifest.json"))
    if rules is not None:
        problems += schema_problems(filled, rules)
    for warning in placeholder_warnings(filled):
        print(f"warning: {warning}", file=sys.stderr)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s): the package was not written.", file=sys.stderr)
        return EXIT_INVALID
    target = output or DEFAULT_OUTPUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(package)
    print(f"wrote {target} for bot {bot_id}, app version {filled.get('version')}")
    print("upload it in Teams: Apps → Manage your apps → Upload an app (see docs/teams-setup.md)")
    if base_url:
        if not base_url.startswith("https://"):
            print(f"warning: {base_url} is not https; Azure Bot needs an https messaging endpoint")
        print(f"messaging endpoint for the Azure Bot resource: {base_url}/api/messages")
    return 0
