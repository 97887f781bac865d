"""The package's layers, as each folder's docstring states them: a module imports only from its own layer or those
below it, and the registry's string imports (seqtag.kinds names classes as "module:attribute") count as imports,
so the modules it names may not import it back."""

import ast
from pathlib import Path

from seqtag import kinds

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "seqtag"

# lowest first; a module may import its own layer and those below
LAYERS = [
    ("seqtag.errors", "seqtag.inputs", "seqtag.schema", "seqtag.arguments", "seqtag.version", "seqtag.schedule", "seqtag.settings", "seqtag.kinds", "seqtag.outputs",
     "seqtag.durable", "seqtag.modeldir", "seqtag.bundled", "seqtag.catalog"),
    ("seqtag.data",),
    ("seqtag.models",),
    ("seqtag.training", "seqtag.runtime"),
    ("seqtag.api", "seqtag.package"),
    ("seqtag.report", "seqtag.ray", "seqtag.serve"),
    ("seqtag.cli", "seqtag.__main__", "seqtag"),
]
SIBLINGS_APART = [("seqtag.training", "seqtag.runtime")]  # one layer, but neither imports the other
# Imports that cross a layer upward, each with the reason it is allowed. Every entry must still be needed.
ALLOWED_UP = {
}


def modules() -> dict[str, Path]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqtag"):
            names = {f"{node.module}.{a.name}" for a in node.names}
            found |= {n for n in names if n in known} or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("seqtag")}
    return found & set(known)


def registry_targets() -> set[str]:
    """The modules seqtag.kinds names by string."""
    names = set()
    for kind in kinds.KINDS.values():
        for target in (kind.predictor, kind.trainer):
            if target:
                names.add(target.partition(":")[0])
    return names


def layer(module: str) -> int:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or (p != "seqtag" and module.startswith(p + ".")) for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS")


def test_every_import_goes_down_or_sideways():
    known = modules()
    crossings = set()
    for name, path in known.items():
        for target in imports(path, known) - {name}:  # the package top (`from seqtag import X`) is the top layer
            if layer(target) > layer(name):
                crossings.add((name, target))
            for a, b in SIBLINGS_APART:
                if name.startswith(a) and target.startswith(b) or name.startswith(b) and target.startswith(a):
                    crossings.add((name, target))
    assert crossings - set(ALLOWED_UP) == set()
    assert set(ALLOWED_UP) <= crossings, "an allowed crossing is gone: remove it from ALLOWED_UP"


def test_the_registry_s_string_imports_close_no_loop():
    """kinds names its classes by string so reading it imports no torch; what it names must not import it back,
    directly or through other modules, or the registry and its kinds form a loop no import statement shows."""
    known = modules()
    graph = {name: imports(path, known) - {name, "seqtag"} for name, path in known.items()}
    targets = registry_targets()
    assert targets and targets <= set(known), targets - set(known)
    graph["seqtag.kinds"] |= targets

    def reaches(start, goal, seen):
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    assert not reaches("seqtag.kinds", "seqtag.kinds", {"seqtag.kinds"})


def test_each_folder_says_what_it_owns_and_may_import():
    for folder in PACKAGE.iterdir():
        if folder.is_dir() and (folder / "__init__.py").exists():
            doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
            assert "May import" in doc, folder.name
