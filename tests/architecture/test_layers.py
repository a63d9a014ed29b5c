"""The layers docs/architecture.md describes, kept true: import direction, no cycles."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("siam_keras", "training", "export")


def modules():
    """{module name: path} of every module of the library and the pipelines."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports(path, known):
    """The project modules `path` imports, anywhere in it (deferred imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph():
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def _package(name):
    return name.rpartition(".")[0] if name.count(".") else name


def test_no_import_cycles_deferred_imports_included():
    edges = graph()
    # A package's __init__ re-exporting its modules is not a cycle with them.
    edges = {m: {t for t in targets if not (m == _package(t) or t == _package(m) and
                                             m.startswith(t + "."))}
             for m, targets in edges.items()}
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_the_library_never_imports_the_pipelines_nor_they_each_other():
    edges = graph()
    for package, forbidden in (("siam_keras", ("training", "export")), ("training", ("export",)),
                               ("export", ("training",))):
        offending = {m: sorted(t for t in targets if t.split(".")[0] in forbidden)
                     for m, targets in edges.items() if m.split(".")[0] == package}
        assert not {m: t for m, t in offending.items() if t}, package


#: The guide whose table of layers this test reads and enforces.
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def documented_layers():
    """{package: rank} from the table of layers in docs/architecture.md (the table whose
    header is `| layer | packages | needs |`; row order is the rank)."""
    lines = ARCHITECTURE.read_text(encoding="utf-8").splitlines()
    start = lines.index("| layer | packages | needs |") + 2  # past the header and |---|
    rows = []
    for line in lines[start:]:
        if not line.startswith("| "):
            break
        rows.append(line)
    return {name: rank for rank, row in enumerate(rows)
            for name in re.findall(r"`((?:siam_keras(?:\.\w+)?)|training|export)`",
                                   row.split("|")[2])}


def test_layers_import_only_the_layers_before_them():
    """The Architecture guide's table: runtime <- models <- explanations and evaluation
    <- front ends <- pipelines."""
    order = documented_layers()
    assert order["siam_keras.runtime"] == 0 and order["export"] == max(order.values())
    packages = {name for name in modules() if name.count(".") == 1 or name in ("training", "export")}
    unlisted = sorted(name for name in packages if name.startswith("siam_keras.") and
                      name not in order and (ROOT / name.replace(".", "/")).is_dir())
    assert not unlisted, f"packages missing from docs/architecture.md's table of layers: {unlisted}"

    def layer(module):
        matches = [rank for prefix, rank in order.items()
                   if module == prefix or module.startswith(prefix + ".")]
        return max(matches) if matches else None

    wrong = []
    for module, targets in graph().items():
        own = layer(module)
        if own is None:
            continue
        wrong += [(module, t) for t in targets if layer(t) is not None and layer(t) > own]
    assert not wrong, wrong


def test_nothing_uses_a_private_keras_attribute():
    private = re.compile(r"\.(_flatten_layers|_tf_trackable|_layers\b|_trackable_children|"
                         r"_inbound_nodes|_keras_history|_tracker|_functional)")
    hits = [f"{path.relative_to(ROOT)}:{number}" for path in modules().values()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if private.search(line) and not line.lstrip().startswith("#")]
    assert not hits, hits
