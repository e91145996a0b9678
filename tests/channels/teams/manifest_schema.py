"""Microsoft's JSON schema for the Teams app manifest, from Microsoft's own npm package.

The schema is never copied into this repository: the first test that needs it installs the
package from the npm registry (as CI does) into a cache inside `.venv`, and every later run
reads it from there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any, Final

PACKAGE: Final = "@microsoft/app-manifest"
PACKAGE_VERSION: Final = "1.1.2"  # ships the schemas up to v1.30
SCHEMA_VERSION: Final = "1.29"
CACHE: Final = Path(__file__).parents[3] / ".venv" / "cache" / f"app-manifest-{PACKAGE_VERSION}"
MEMBER: Final = f"package/build/json-schemas/teams/v{SCHEMA_VERSION}/MicrosoftTeams.schema.json"
NPM_TIMEOUT_SECONDS: Final = 180


def teams_manifest_schema() -> dict[str, Any]:
    """The v1.29 schema, fetched once with `npm pack` and kept in the cache."""
    target = CACHE / "MicrosoftTeams.schema.json"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed once to fetch {PACKAGE} (apt-get install npm)")
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--silent"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_SECONDS,
            check=True,
        )
        tarball = CACHE / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(MEMBER)
            if source is None:
                raise RuntimeError(f"{PACKAGE}@{PACKAGE_VERSION} has no {MEMBER}")
            target.write_bytes(source.read())
        tarball.unlink()
    schema: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return schema
