"""The library's layout: one subpackage per layer of the pipeline's data flow, imports only downward, and every
dvc.yaml stage depending on exactly the library files its stage module imports.

The layers, lowest first: config, io, progress; data; model; training; evaluation; report; then the CLI (cli,
__main__, options), the only part of xcrl_cli that may import `stages/`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

PACKAGE = ROOT / "xcrl_cli"
LAYERS = {"config": 0, "io": 0, "progress": 0, "data": 1, "model": 2, "training": 3, "evaluation": 4, "report": 5,
          "cli": 6, "__main__": 6, "options": 6}
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "io.py", "progress.py", "options.py", "config", "data", "model",
             "training", "evaluation", "report"}
# Files a module reads beside itself: a stage importing the module depends on them too.
DATA_FILES = {"xcrl_cli/report/inputs.py": ["xcrl_cli/report/published_values.yaml"]}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_path(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.exists():
            return path
    return None


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Every project module `path` (or `source` as if it were there) imports, at module level or inside a function,
    with the packages they sit in."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names if module_path(f"{target}.{a.name}"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    project = {name for name in found if name.split(".")[0] in ("xcrl_cli", "stages") and module_path(name)}
    return project | {".".join(name.split(".")[:i]) for name in project for i in range(1, name.count(".") + 1)}


def layer(name: str) -> int:
    parts = name.split(".")
    if len(parts) == 1:
        return 0
    assert parts[1] in LAYERS, f"{name}: xcrl_cli/{parts[1]} is in no layer; layers: {sorted(LAYERS)}"
    return LAYERS[parts[1]]


def library_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_only_the_cli_io_progress_options_and_config_sit_at_the_top():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    unexpected, missing = sorted(entries - TOP_LEVEL), sorted(TOP_LEVEL - entries)
    assert not unexpected and not missing, f"xcrl_cli/: move {unexpected} into a layer; missing: {missing}"


@pytest.mark.parametrize("package", ["config", "data", "model", "training", "evaluation", "report"])
def test_every_layer_says_what_it_holds_and_may_import(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc and "import" in doc, f"xcrl_cli/{package}/__init__.py needs a docstring saying what it may import"


def layer_violations(path: Path, source: str | None = None) -> list[str]:
    """The imports of `path` (or of `source` placed there) that run up the layers, or from the library into stages/."""
    name = module_name(path)
    bad = []
    for target in sorted(imported_modules(path, source)):
        if target.startswith("stages") and layer(name) < LAYERS["cli"]:
            bad.append(f"{name} imports {target}: the library never imports stages/")
        elif target.startswith("xcrl_cli.") and layer(target) > layer(name):
            bad.append(f"{name} (layer {layer(name)}) imports {target} (layer {layer(target)})")
    return bad


def test_imports_run_only_down_the_layers():
    bad = [line for path in library_modules() for line in layer_violations(path)]
    assert not bad, "\n".join(bad)


def test_an_upward_import_is_caught():
    """The check itself: a data module importing the model layer, and one importing stages, are both reported."""
    source = "import json\n\n\ndef f():\n    from ..model.losses import Segments\n    from stages.train import train\n"
    assert layer_violations(PACKAGE / "data" / "probe.py", source) == [
        "xcrl_cli.data.probe imports stages: the library never imports stages/",
        "xcrl_cli.data.probe imports stages.train: the library never imports stages/",
        "xcrl_cli.data.probe (layer 1) imports xcrl_cli.model (layer 2)",
        "xcrl_cli.data.probe (layer 1) imports xcrl_cli.model.losses (layer 2)",
    ]
    assert layer_violations(PACKAGE / "report" / "probe.py", source.replace("stages.train", "..data.raw")) == []


def closure(path: Path) -> set[Path]:
    """`path` and every project file it imports, directly or through another, with the data files they read."""
    seen, todo = set(), [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo += [module_path(name) for name in imported_modules(current)]
    files = {p.relative_to(ROOT).as_posix() for p in seen if p.relative_to(ROOT).parts[0] == "xcrl_cli"}
    return {ROOT / f for f in files | {d for f in files for d in DATA_FILES.get(f, [])}}


def expand(dep: str) -> set[Path]:
    path = ROOT / dep
    return {p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts} if path.is_dir() else {path}


def stage_modules() -> list[tuple[str, str, list[str]]]:
    """(dvc stage, its stage module, its deps) for every stage whose command is an `xcrl` subcommand."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    out = []
    for name, stage in stages.items():
        body = stage.get("do", stage)
        command = body["cmd"].split()
        assert command[0] == "xcrl", f"dvc.yaml stage {name}: {body['cmd']!r} is not an xcrl subcommand"
        out.append((name, f"stages/{command[1]}.py", body["deps"]))
    return out


@pytest.mark.parametrize("stage,module,deps", stage_modules(), ids=[s[0] for s in stage_modules()])
def test_each_stage_depends_on_exactly_the_library_files_it_imports(stage, module, deps):
    assert module in deps, f"dvc.yaml stage {stage}: its own module {module} is not a dep"
    declared = set().union(*(expand(d) for d in deps if d.startswith("xcrl_cli")))
    needed = closure(ROOT / module)
    missing = sorted(p.relative_to(ROOT).as_posix() for p in needed - declared)
    extra = sorted(p.relative_to(ROOT).as_posix() for p in declared - needed)
    assert not missing and not extra, f"dvc.yaml stage {stage}: add {missing}, remove {extra}"
