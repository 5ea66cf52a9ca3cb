"""Resolving file references from a manifest or an XML file, refusing those outside the dataset."""

from __future__ import annotations

import os
from pathlib import Path

OUTSIDE_ROOT_FIX = "move the file into the dataset folder, or allow it with --allow-outside-root"


def resolve_reference(
    reference: str, base: Path, root: Path, *, allow_outside_root: bool, what: str
) -> tuple[Path, str | None]:
    """``reference`` made absolute against ``base``, and a problem if it resolves outside ``root``.

    The problem does not name the referring file: the caller prefixes it.
    Symbolic links are followed before the check, so a link inside the dataset
    that points elsewhere is outside too.
    """
    path = Path(os.path.normpath(base / reference))
    if allow_outside_root:
        return path, None
    return path, outside_root(path, root, what=what, named=repr(reference))


def outside_root(path: Path, root: Path, *, what: str, named: str | None = None) -> str | None:
    """A problem sentence if ``path`` (its links followed) resolves outside ``root``, else None.

    The sentence names ``named`` if given (a reference as written), not ``path``: callers
    prefix the file.
    """
    resolved, top = path.resolve(), root.resolve()
    if resolved == top or top in resolved.parents:
        return None
    what = f"the {what} {named}" if named else f"the {what}"
    return (
        f"{what} resolves to {resolved}, outside the dataset folder {top}; refused (fix: {OUTSIDE_ROOT_FIX})"
    )
