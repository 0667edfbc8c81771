"""tools/tangle.py: from notebook cells to the package.

Most tests build a few notebooks in a temporary folder and point the tangler
at it (its module globals NOTEBOOKS and ROOT are its configuration); the last
ones check the real repository.
"""
import hashlib
import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import tangle  # noqa: E402

sys.path.remove(str(ROOT / "tools"))

_names = itertools.count()


class Repo:
    """A throw-away repository: notebooks/ and, once written, eventloop/."""

    def __init__(self, root: Path):
        self.root = root
        self.notebooks = root / "notebooks"
        self.notebooks.mkdir()
        self.imported = []

    def notebook(self, name, *cells):
        """Write notebooks/NAME; a cell is code (a str) or markdown (("md", text))."""
        nb_cells = []
        for cell in cells:
            if isinstance(cell, tuple):
                nb_cells.append({"cell_type": "markdown", "metadata": {}, "source": cell[1]})
            else:
                # Jupyter stores sources as lists of lines; the tangler must accept that.
                nb_cells.append({
                    "cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                    "source": cell.splitlines(keepends=True),
                })
        document = {"cells": nb_cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (self.notebooks / name).write_text(json.dumps(document), encoding="utf-8")

    def tangle(self, upto=None):
        return tangle.tangle(upto)

    def write(self, files=None, force=False):
        return tangle.write(self.tangle() if files is None else files, self.root, "eventloop", force=force)

    def load(self, files):
        """Write `files` as a package of a fresh name and import it."""
        name = f"tangled_{next(_names)}"
        out = self.root / "out"
        assert tangle.write(files, out, name) == []
        folder = out / name
        spec = importlib.util.spec_from_file_location(
            name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        self.imported.append(name)
        spec.loader.exec_module(module)
        return module


@pytest.fixture
def repo(tmp_path, monkeypatch):
    repo = Repo(tmp_path)
    monkeypatch.setattr(tangle, "NOTEBOOKS", repo.notebooks)
    monkeypatch.setattr(tangle, "ROOT", tmp_path)
    yield repo
    for name in repo.imported:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def body(text):
    """A generated file without its three header lines."""
    return text.split("\n", 3)[3]


def code_of(text):
    """A generated file without comments and blank lines: what the reader sees as code."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


K_CLASS = '''#| eventloop/k.py
"""Module k."""


class K:
    """A class that grows."""

    def a(self):
        return "a"

    def b(self):
        return "b"

    def c(self):
        return "c"
'''


# ---------------------------------------------------------------- exporting cells


def test_a_plain_directive_exports_the_cell_and_demo_cells_stay_out(repo):
    repo.notebook(
        "01-greetings.ipynb",
        ("md", "# Greetings"),
        "demo = 'a demonstration'\nprint(demo)",
        '#| eventloop/greet.py\n"""Greetings."""\nimport textwrap\n\n\ndef hello(name):\n'
        '    return textwrap.shorten(f"hello {name}", 50)\n\n\n_private = 1\n',
    )
    files = repo.tangle()
    assert set(files) == {"eventloop/__init__.py", "eventloop/greet.py"}
    assert all("demonstration" not in text for text in files.values())
    greet = body(files["eventloop/greet.py"])
    assert greet.startswith('"""Greetings."""\n\nimport textwrap\n\n__all__ = (\'hello\',)\n')
    package = repo.load(files)
    assert package.hello("world") == "hello world"
    assert package.__all__ == ("hello",)
    assert package.greet._private == 1


def test_a_cell_is_exported_only_when_its_first_line_is_a_directive(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nx = 1\n", "\n#| eventloop/a.py\ny = 2\n", "# #| eventloop/a.py\nz = 3\n")
    assert code_of(repo.tangle()["eventloop/a.py"]) == ["__all__ = ('x',)", "x = 1"]


def test_class_adds_merges_members_into_the_one_class(repo):
    repo.notebook("01-k.ipynb", K_CLASS)
    repo.notebook(
        "02-more.ipynb",
        "print('demo')",
        "#| eventloop/k.py · class K · adds d, E_VALUE, e\nimport math\n\nclass K(K):\n"
        "    def d(self):\n        return math.floor(4.5)\n\n    E_VALUE = 5\n\n    def e(self):\n        return self.E_VALUE\n",
    )
    files = repo.tangle()
    text = files["eventloop/k.py"]
    assert "class K(K)" not in text and text.count("class K") == 1
    assert "import math\n" in body(text).split("class K")[0]  # hoisted above the class
    order = [re.search(rf"def {m}\(", text).start() for m in "abcde"]
    assert order == sorted(order)
    # The members from chapter 2 are announced by their cell's marker.
    assert "\n    # ── 02-more.ipynb · In [2]\n" in text
    package = repo.load(files)
    k = package.K()
    assert (k.a(), k.d(), k.e()) == ("a", 4, 5)
    assert package.K.__mro__[1] is object


def test_class_replaces_a_member_in_place(repo):
    repo.notebook("01-k.ipynb", K_CLASS)
    repo.notebook(
        "02-b.ipynb",
        "#| eventloop/k.py · class K · replaces b\nclass K(K):\n    def b(self):\n        return 'new b'\n",
    )
    files = repo.tangle()
    text = files["eventloop/k.py"]
    assert "return \"b\"" not in text
    defs = re.findall(r"def (\w+)\(", text)
    assert defs == ["a", "b", "c"]
    assert repo.load(files).K().b() == "new b"


def test_class_removes_a_member(repo):
    repo.notebook("01-k.ipynb", K_CLASS)
    repo.notebook(
        "02-b.ipynb",
        "#| eventloop/k.py · class K · replaces a · removes c\nclass K(K):\n    def a(self):\n        return 'A'\n",
    )
    text = repo.tangle()["eventloop/k.py"]
    assert re.findall(r"def (\w+)\(", text) == ["a", "b"]


def test_an_extension_that_only_removes_is_written_with_pass(repo):
    repo.notebook("01-k.ipynb", K_CLASS)
    repo.notebook("02-b.ipynb", "#| eventloop/k.py · class K · removes b\nclass K(K):\n    pass\n")
    files = repo.tangle()
    assert re.findall(r"def (\w+)\(", files["eventloop/k.py"]) == ["a", "c"]
    assert not hasattr(repo.load(files).K, "b")


def test_a_class_whose_body_is_pass(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/errors.py\nclass LoopError(RuntimeError):\n    pass\n")
    files = repo.tangle()
    assert "class LoopError(RuntimeError):\n    pass\n" in files["eventloop/errors.py"]
    assert issubclass(repo.load(files).LoopError, RuntimeError)


def test_top_level_replaces_in_place_and_removes(repo):
    repo.notebook("01-m.ipynb", "#| eventloop/m.py\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n\n\nH = 3\n")
    repo.notebook("02-m.ipynb", "#| eventloop/m.py · replaces f · removes H\ndef f():\n    return 'new f'\n")
    files = repo.tangle()
    assert re.findall(r"^def (\w+)\(", files["eventloop/m.py"], re.M) == ["f", "g"]
    package = repo.load(files)
    assert package.f() == "new f" and not hasattr(package.m, "H")
    assert package.__all__ == ("f", "g")


# ---------------------------------------------------------------- the banner is checked


BANNER_ERRORS = {
    "adds-unnamed-member": (
        "#| eventloop/k.py · class K · adds d\nclass K(K):\n    def d(self): pass\n    def e(self): pass\n",
        "02-x.ipynb In [1]: K.e is new; say `· adds e`",
    ),
    "adds-existing-member": (
        "#| eventloop/k.py · class K · adds a\nclass K(K):\n    def a(self): pass\n",
        "02-x.ipynb In [1]: K.a exists; say `· replaces a`",
    ),
    "replaces-missing-member": (
        "#| eventloop/k.py · class K · replaces zz\nclass K(K):\n    def zz(self): pass\n",
        "K.zz is new; say `· adds zz`",
    ),
    "banner-names-undefined-member": (
        "#| eventloop/k.py · class K · replaces a, b\nclass K(K):\n    def a(self): pass\n",
        "the banner names b, which the cell does not define",
    ),
    "removes-missing-member": (
        "#| eventloop/k.py · class K · removes zz\nclass K(K):\n    pass\n",
        "removes K.zz, which does not exist",
    ),
    "no-clause": (
        "#| eventloop/k.py · class K\nclass K(K):\n    def d(self): pass\n",
        "say what the cell `adds`, `replaces` or `removes` in K",
    ),
    "wrong-extension-form": (
        "#| eventloop/k.py · class K · adds d\nclass K(object):\n    def d(self): pass\n",
        "write the extension as `class K(K):`",
    ),
    "extension-with-docstring": (
        '#| eventloop/k.py · class K · adds d\nclass K(K):\n    """Doc."""\n    def d(self): pass\n',
        "an extension of K has no docstring of its own",
    ),
    "extension-with-more-code": (
        "#| eventloop/k.py · class K · adds d\nclass K(K):\n    def d(self): pass\nX = 1\n",
        "a `class K` cell holds imports and one `class K(K):` only",
    ),
    "no-such-class": (
        "#| eventloop/other.py · class K · adds d\nclass K(K):\n    def d(self): pass\n",
        "eventloop/other.py has no class K to grow",
    ),
    "redefines-top-level": (
        "#| eventloop/k.py\ndef helper(): return 2\n",
        "02-x.ipynb In [1]: redefines helper in eventloop/k.py; say `· replaces helper`",
    ),
    "redefines-class": (
        "#| eventloop/k.py\nclass K:\n    pass\n",
        "redefines K in eventloop/k.py; say `· replaces K`",
    ),
    "top-level-replaces-undefined": (
        "#| eventloop/k.py · replaces nothing_here\ndef helper2(): pass\n",
        "says it replaces nothing_here, but does not define it",
    ),
    "top-level-removes-undefined": (
        "#| eventloop/k.py · removes nothing_here\n",
        "removes nothing_here, which eventloop/k.py does not define",
    ),
    "adds-without-class": (
        "#| eventloop/k.py · adds helper3\ndef helper3(): pass\n",
        "`adds` goes with `class`",
    ),
    "unknown-clause": (
        "#| eventloop/k.py · class K · extends d\nclass K(K):\n    def d(self): pass\n",
        "unknown clause 'extends d'",
    ),
    "outside-the-package": (
        "#| elsewhere/k.py\nx = 1\n",
        "exports go under eventloop/, not elsewhere/k.py",
    ),
    "unreadable-directive": (
        "#| export\nx = 1\n",
        "cannot read directive '#| export'",
    ),
    "syntax-error": (
        "#| eventloop/k.py\ndef broken(:\n",
        "02-x.ipynb In [1]: invalid syntax",
    ),
    "member-not-a-def": (
        "#| eventloop/k.py · class K · adds d\nclass K(K):\n    def d(self): pass\n    if True:\n        pass\n",
        "class K has a member that is not one def or one assignment",
    ),
    "super-zero-arguments": (
        "#| eventloop/k.py · class K · replaces a\nclass K(K):\n    def a(self):\n        return super().a()\n",
        "super() (or super(K, ...)) inside an extension cell",
    ),
    "super-naming-the-class": (
        "#| eventloop/k.py · class K · replaces a\nclass K(K):\n    def a(self):\n        return super(K, self).a()\n",
        "call the base class explicitly",
    ),
}


@pytest.mark.parametrize("case", list(BANNER_ERRORS))
def test_the_banner_is_checked(repo, case):
    cell, message = BANNER_ERRORS[case]
    repo.notebook("01-k.ipynb", K_CLASS + "\n\ndef helper():\n    return 1\n")
    repo.notebook("02-x.ipynb", cell)
    with pytest.raises(tangle.TangleError) as info:
        repo.tangle()
    assert message in str(info.value)
    assert str(info.value).startswith(("02-x.ipynb In [1]: ", "eventloop/"))


def test_an_explicit_base_class_call_is_allowed_in_an_extension(repo):
    repo.notebook(
        "01-k.ipynb",
        "#| eventloop/k.py\nclass Base:\n    def a(self):\n        return 'base'\n\n\nclass K(Base):\n    def a(self):\n        return 'k'\n",
        "#| eventloop/k.py · class K · adds b, c\nclass K(K):\n    def b(self):\n        return Base.a(self)\n\n"
        "    def c(self):\n        return super(Base, self).__repr__ is not None\n",
    )
    k = repo.load(repo.tangle()).K()
    assert (k.a(), k.b(), k.c()) == ("k", "base", True)


def test_notebook_names_are_checked(repo):
    repo.notebook("Untitled.ipynb", "x = 1")
    with pytest.raises(tangle.TangleError, match=r"Untitled.ipynb: notebooks are named NN-lowercase-words.ipynb"):
        repo.tangle()


# ---------------------------------------------------------------- names between modules


def test_a_name_no_exported_cell_defines_is_refused(repo):
    repo.notebook(
        "01-a.ipynb",
        "def demo_helper():\n    return 1",  # a demonstration cell: not exported
        "#| eventloop/a.py\ndef uses_it():\n    return demo_helper()\n",
    )
    with pytest.raises(tangle.TangleError) as info:
        repo.tangle()
    assert str(info.value) == (
        "eventloop/a.py: uses 'demo_helper', which no exported cell defines or imports "
        "(first cell: 01-a.ipynb In [2])"
    )


def test_names_from_sibling_modules_are_imported(repo):
    repo.notebook(
        "01-a.ipynb",
        "#| eventloop/handles.py\nclass Handle:\n    pass\n\n\ndef _helper():\n    return 'private'\n",
        "#| eventloop/loop.py\nclass Loop:\n    def make(self):\n        return Handle(), _helper()\n",
    )
    files = repo.tangle()
    loop = body(files["eventloop/loop.py"])
    assert "from .handles import Handle, _helper\n" in loop
    assert "import" not in body(files["eventloop/handles.py"])
    init = body(files["eventloop/__init__.py"])
    assert "from .handles import Handle\nfrom .loop import Loop\n" in init
    package = repo.load(files)
    handle, private = package.Loop().make()
    assert isinstance(handle, package.Handle) and private == "private"


def test_a_name_defined_in_two_modules_is_ambiguous(repo):
    repo.notebook(
        "01-a.ipynb",
        "#| eventloop/a.py\ndef twin():\n    pass\n",
        "#| eventloop/b.py\ndef twin():\n    pass\n",
        "#| eventloop/c.py\ndef user():\n    return twin()\n",
    )
    with pytest.raises(tangle.TangleError, match=r"'twin' is defined in eventloop/a.py, eventloop/b.py"):
        repo.tangle()


def test_a_local_of_the_same_name_does_not_hide_a_missing_import(repo):
    repo.notebook(
        "01-a.ipynb",
        "#| eventloop/a.py\ndef helper():\n    return 1\n",
        "#| eventloop/b.py\ndef configure(helper=None):\n    return helper\n\n\ndef use():\n    return helper()\n",
    )
    files = repo.tangle()
    assert "from .a import helper" in files["eventloop/b.py"]


def test_imports_are_hoisted_and_deduplicated(repo):
    repo.notebook(
        "01-a.ipynb",
        '#| eventloop/a.py\n"""Doc."""\nfrom __future__ import annotations\nimport os\n\n\ndef f():\n    return os.sep\n',
        "#| eventloop/a.py\n# a comment about the import\nimport os\nimport sys\n\n\ndef g():\n    return sys.platform, os.name\n",
    )
    text = body(repo.tangle()["eventloop/a.py"])
    assert text.startswith('"""Doc."""\n\nfrom __future__ import annotations\nimport os\nimport sys\n\n')
    assert text.count("import os") == 1
    assert "a comment about the import" not in text


def test_parenthesised_imports_survive_deduplication(repo):
    """Regression: imports used to be deduplicated line by line, so a second
    `from x import (` ... `)` lost its `)` (or its `    name,` lines)."""
    repo.notebook(
        "01-a.ipynb",
        "#| eventloop/a.py\nfrom os.path import (\n    join,\n    sep,\n)\n\n\ndef f():\n    return join, sep\n",
        "#| eventloop/a.py\nfrom os import (\n    sep as separator,\n)\nfrom os.path import (\n    join,\n    sep,\n)\n\n\n"
        "def g():\n    return separator\n",
    )
    files = repo.tangle()
    package = repo.load(files)
    assert package.g() == package.f()[1]
    assert body(files["eventloop/a.py"]).count("from os.path import (") == 1


# ---------------------------------------------------------------- header, markers, chapters


def test_the_header_names_the_notebooks_and_hashes_the_body(repo):
    repo.notebook("00-intro.ipynb", '#| eventloop/__init__.py\n"""The package."""\n')
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\ndef f():\n    pass\n")
    repo.notebook("02-b.ipynb", "print('demo')", "print('demo 2')", "#| eventloop/a.py\ndef g():\n    pass\n")
    files = repo.tangle()
    a = files["eventloop/a.py"]
    lines = a.splitlines()
    assert lines[0] == "# Generated by tools/tangle.py from notebooks/01-a.ipynb, notebooks/02-b.ipynb."
    assert lines[1].startswith("# Do not edit: change the notebook")
    assert lines[2] == "# body-sha256: " + hashlib.sha256(body(a).encode()).hexdigest()
    assert "# ── 01-a.ipynb · In [1]\ndef f():" in a
    assert "# ── 02-b.ipynb · In [3]\ndef g():" in a  # In [k] counts every code cell
    init = files["eventloop/__init__.py"]
    assert init.splitlines()[0] == "# Generated by tools/tangle.py from notebooks/00-intro.ipynb."
    assert code_of(init) == ['"""The package."""', "from .a import f, g", "__all__ = ('f', 'g')"]
    assert not tangle.edited_by_hand(a) and not tangle.edited_by_hand(init)


def test_upto_limits_the_chapters(repo):
    repo.notebook("00-intro.ipynb", '#| eventloop/__init__.py\n"""The package."""\n')
    repo.notebook("01-k.ipynb", K_CLASS)
    repo.notebook("02-b.ipynb", "#| eventloop/k.py · class K · adds d\nclass K(K):\n    def d(self):\n        return 'd'\n")
    repo.notebook("03-c.ipynb", "#| eventloop/c.py\nC = 3\n")
    assert set(repo.tangle(upto=0)) == {"eventloop/__init__.py"}
    assert body(repo.tangle(upto=0)["eventloop/__init__.py"]) == '"""The package."""\n'
    one = repo.tangle(upto=1)
    assert set(one) == {"eventloop/__init__.py", "eventloop/k.py"} and "def d(" not in one["eventloop/k.py"]
    two = repo.tangle(upto=2)
    assert "def d(" in two["eventloop/k.py"] and "eventloop/c.py" not in two
    assert set(repo.tangle()) == set(two) | {"eventloop/c.py"}
    assert not hasattr(repo.load(one).K, "d")
    assert repo.load(two).K().d() == "d"


# ---------------------------------------------------------------- write and check


def test_write_refuses_to_overwrite_a_hand_edited_file_unless_forced(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n")
    assert repo.write() == []
    generated = repo.root / "eventloop" / "a.py"
    edited = generated.read_text().replace("X = 1", "X = 2  # a quick fix")
    generated.write_text(edited)
    refused = repo.write()
    assert refused == [str(generated)]
    assert generated.read_text() == edited
    assert repo.write(force=True) == []
    assert "X = 1" in generated.read_text() and not tangle.edited_by_hand(generated.read_text())


def test_write_deletes_stale_generated_files_but_not_hand_written_ones(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n", "#| eventloop/b.py\nY = 2\n")
    assert repo.write() == []
    hand_written = repo.root / "eventloop" / "notes.py"
    hand_written.write_text("# mine\n")
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n")  # b.py is no longer exported
    refused = repo.write()
    assert not (repo.root / "eventloop" / "b.py").exists()
    assert refused == [str(hand_written)] and hand_written.exists()
    assert repo.write(force=True) == [] and not hand_written.exists()


def test_write_leaves_an_unchanged_file_alone(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n")
    repo.write()
    generated = repo.root / "eventloop" / "a.py"
    stamp = generated.stat().st_mtime_ns
    generated.chmod(0o444)  # a rewrite would fail
    try:
        assert repo.write() == []
    finally:
        generated.chmod(0o644)
    assert generated.stat().st_mtime_ns == stamp


def test_check_reports_stale_missing_stray_and_hand_edited_files(repo):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n", "#| eventloop/b.py\nY = 2\n", "#| eventloop/c.py\nZ = 3\n")
    repo.write()
    assert tangle.check(repo.tangle()) == []
    package = repo.root / "eventloop"
    (package / "a.py").write_text((package / "a.py").read_text().replace("X = 1", "X = 10"))
    (package / "b.py").unlink()
    (package / "stray.py").write_text("# nobody's\n")
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n", "#| eventloop/b.py\nY = 2\n", "#| eventloop/c.py\nZ = 4\n")
    assert tangle.check(repo.tangle()) == [
        "eventloop/a.py: differs from its notebooks (edited by hand)",
        "eventloop/b.py: missing (run python tools/tangle.py)",
        "eventloop/c.py: differs from its notebooks (stale)",
        "eventloop/stray.py: no notebook exports it",
    ]


def test_main_check_and_snapshot_options(repo, tmp_path, capsys):
    repo.notebook("01-a.ipynb", "#| eventloop/a.py\nX = 1\n")
    repo.notebook("02-b.ipynb", "#| eventloop/b.py\nY = 2\n")
    assert tangle.main(["--check"]) == 1
    assert "tangle --check: eventloop/a.py: missing" in capsys.readouterr().err
    assert tangle.main([]) == 0
    assert tangle.main(["--check"]) == 0
    out = tmp_path / "snapshots"
    assert tangle.main(["--upto", "1", "--out", str(out), "--name", "pkg_ch01"]) == 0
    assert sorted(p.name for p in (out / "pkg_ch01").iterdir()) == ["__init__.py", "a.py"]
    with pytest.raises(SystemExit):
        tangle.main(["--upto", "1"])  # a snapshot needs --out
    capsys.readouterr()
    repo.notebook("03-c.ipynb", "#| eventloop/c.py\ndef f():\n    return undefined\n")
    assert tangle.main([]) == 2
    assert "tangle: eventloop/c.py: uses 'undefined'" in capsys.readouterr().err


# ---------------------------------------------------------------- the real repository


def test_the_committed_package_equals_a_fresh_tangle():
    assert tangle.check(tangle.tangle()) == []


def test_chapter_zero_exports_only_the_package_docstring():
    files = tangle.tangle(upto=0)
    assert set(files) == {"eventloop/__init__.py"}
    assert body(files["eventloop/__init__.py"]).startswith('"""eventloop: ')


def test_every_chapter_tangles_into_a_package_that_compiles():
    chapters = sorted(int(p.name[:2]) for p in tangle.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert chapters and chapters == list(range(len(chapters))), chapters
    for chapter in chapters:
        for path, text in tangle.tangle(upto=chapter).items():
            compile(text, f"ch{chapter:02d}:{path}", "exec")


def test_modules_that_import_each_other_are_refused(repo):
    repo.notebook(
        "01-a.ipynb",
        "#| eventloop/a.py\ndef ping():\n    return pong()\n",
        "#| eventloop/b.py\ndef pong():\n    return ping\n",
    )
    with pytest.raises(
        tangle.TangleError,
        match=r"modules import each other: eventloop/a.py → eventloop/b.py → eventloop/a.py",
    ):
        tangle.tangle()
