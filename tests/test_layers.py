"""The package's layers: no module imports from a layer above its own, and the modules
that check flags load no TensorFlow."""

import ast
import pathlib
import subprocess
import sys

import pytest
from runner import CHILD_TIMEOUT

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dcgan"
# Bottom to top. A module may import its own layer and the layers below it.
LAYERS = (
    "dcgan.options",
    "dcgan.io",
    "dcgan.data",
    "dcgan.gan",
    "dcgan.distribute",
    "dcgan.step",
    "dcgan.evaluation",
    "dcgan.config",
    "dcgan.run",
    "commands",  # python -m dcgan.<name>, their plumbing (dcgan.cli), dcgan.benchmarks
)
# The public names of two modules of the gan layer.
ALIASES = {"dcgan.losses": "dcgan.gan", "dcgan.objective": "dcgan.gan"}
# Modules that state the choices and rules flags are checked with: free of TensorFlow.
TENSORFLOW_FREE = (
    "dcgan.options",
    "dcgan.data",
    "dcgan.data.choices",
    "dcgan.gan.choices",
    "dcgan.gan.objective",
    "dcgan.step.choices",
    "dcgan.distribute.choices",
    "dcgan.evaluation.choices",
    "dcgan.config",
    "dcgan.config.flags",
)


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(name: str) -> int:
    """The rank of module ``name`` in ``LAYERS``."""
    name = ALIASES.get(name, name)
    for rank, prefix in enumerate(LAYERS):
        if name == prefix or name.startswith(prefix + "."):
            return rank
    if name == "dcgan":
        return 0
    return LAYERS.index("commands")  # a top-level module, or dcgan.benchmarks


def imported(path: pathlib.Path) -> set[str]:
    """The dcgan modules ``path`` imports anywhere, function bodies included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from dcgan.x import y` may name a module y or a name of x: y's layer if
            # it is a module of x, else x's.
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = any(
                    (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(suffix).exists()
                    for suffix in (".py", "")
                )
                found.add(candidate if is_module else node.module)
    return {name for name in found if name == "dcgan" or name.startswith("dcgan.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


def above(name: str, imports: set[str]) -> list[str]:
    """The modules of ``imports`` in a layer above module ``name``'s."""
    return sorted(other for other in imports if layer(other) > layer(name))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_from_a_layer_above_its_own(path):
    name = module_name(path)
    bad = above(name, imported(path))
    assert not bad, f"{name} ({LAYERS[layer(name)]}) imports {bad} from a layer above"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_every_module_says_what_it_is_for_on_its_first_line(path):
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and docstring.split("\n")[0].strip(), f"{module_name(path)}: no docstring"


def test_the_layers_cover_every_subpackage():
    subpackages = {p.parent for p in PACKAGE.rglob("__init__.py")} - {PACKAGE}
    ranked = {module_name(p / "__init__.py") for p in subpackages}
    assert ranked <= {*LAYERS, "dcgan.benchmarks"}


def test_an_import_from_above_is_caught_even_inside_a_function(tmp_path):
    source = tmp_path / "module.py"
    source.write_text(
        '"""A step module that reaches up."""\n'
        "from dcgan.gan import losses\n"
        "from dcgan.io.storage import read_text\n"
        "def build():\n"
        "    from dcgan.run import builder\n"
    )
    imports = imported(source)
    assert imports == {"dcgan.gan.losses", "dcgan.io.storage", "dcgan.run.builder"}
    assert above("dcgan.step.trainer", imports) == ["dcgan.run.builder"]
    assert above("dcgan.run.loop", imports) == []
    assert layer("dcgan.losses") == layer("dcgan.gan.losses")  # the public alias


def test_the_flag_checking_modules_load_no_tensorflow():
    code = (
        "import importlib, sys\n"
        f"for name in {TENSORFLOW_FREE!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=CHILD_TIMEOUT
    )
    assert result.returncode == 0, result.stderr
