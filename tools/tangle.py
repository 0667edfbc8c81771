#!/usr/bin/env python3
"""Tangle the course notebooks into the `eventloop` package.

The notebooks in ``notebooks/`` are the only source of ``eventloop/``.  A code
cell is exported when its first line is a *directive*; the directive is also
the banner that tells the reader where the cell's code goes::

    #| eventloop/handles.py
    #| eventloop/loop.py · replaces new_event_loop
    #| eventloop/base_events.py · class BaseEventLoop · adds call_later, call_at
    #| eventloop/base_events.py · class BaseEventLoop · replaces _run_once · removes _wait

A plain directive appends the cell's top-level code to the module.  A ``class``
directive grows a class that an earlier cell defined: the cell is written as
``class BaseEventLoop(BaseEventLoop): ...`` so that it runs as it stands in the
notebook (a subclass that shadows the old name), and the tangler merges its
members into the one class of the package, in place for ``replaces``, at the
end for ``adds``.  The banner is checked, not trusted: a cell that adds a
member it did not name, or replaces one that does not exist, is an error.

Imports in exported cells are hoisted to the top of their module.  A name that
one module uses and another module defines is imported for it
(``from .handles import Handle``), because inside a notebook that name is
simply a global of the kernel.  Every other free name must be a builtin or an
import, so a module never depends on a demo cell.  Each generated module gets
an ``__all__`` of its public names, and ``eventloop/__init__.py`` re-exports
them all.

Usage::

    python tools/tangle.py              # write eventloop/ from notebooks/
    python tools/tangle.py --check      # exit 1 naming each drifted file
    python tools/tangle.py --upto 2 --out DIR   # the package after chapter 2

Generated files carry a header naming their notebooks and a hash of their
body.  A file whose body no longer matches its hash was edited by hand: the
tangler refuses to overwrite it (move the edit into its notebook, or pass
``--force``).
"""
from __future__ import annotations

import argparse
import ast
import builtins
import hashlib
import json
import re
import symtable
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = "eventloop"

DIRECTIVE = re.compile(r"^#\|\s*(?P<path>\S+\.py)\s*(?P<rest>(?:·.*)?)$")
NOTEBOOK_NAME = re.compile(r"^(?P<number>\d\d)-[a-z0-9-]+\.ipynb$")
HEADER_HASH = re.compile(r"^# body-sha256: (?P<digest>[0-9a-f]{64})$", re.M)
BUILTIN_NAMES = set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__"}


class TangleError(Exception):
    """A notebook asks for something the tangler will not do."""


@dataclass
class Origin:
    """Where a piece of code came from: shown as a marker in the package."""

    notebook: str
    code_cell: int  # 1-based among code cells: equals `In [n]` once executed in order

    def marker(self) -> str:
        return f"# ── {self.notebook} · In [{self.code_cell}]"


@dataclass
class Member:
    """One member of a class: a method (with its decorators) or an attribute."""

    name: str
    source: str  # indented as in the class body
    origin: Origin


@dataclass
class ClassChunk:
    name: str
    header: str  # the `class X(Base):` line(s) and docstring
    members: list[Member]
    origin: Origin


@dataclass
class CodeChunk:
    names: set[str]  # top-level names it defines
    source: str
    origin: Origin


@dataclass
class Module:
    path: str  # e.g. "eventloop/loop.py"
    notebooks: list[str] = field(default_factory=list)
    docstring: str | None = None
    imports: list[str] = field(default_factory=list)
    chunks: list[ClassChunk | CodeChunk] = field(default_factory=list)

    def defined_names(self) -> set[str]:
        names: set[str] = set()
        for chunk in self.chunks:
            names |= {chunk.name} if isinstance(chunk, ClassChunk) else chunk.names
        return names

    def find(self, name: str) -> int | None:
        for index, chunk in enumerate(self.chunks):
            chunk_names = {chunk.name} if isinstance(chunk, ClassChunk) else chunk.names
            if name in chunk_names:
                return index
        return None


# ---------------------------------------------------------------- reading cells


def chapter_notebooks(upto: int | None = None) -> list[Path]:
    """The chapter notebooks in order, up to and including chapter `upto`."""
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if not match:
            raise TangleError(f"{path.name}: notebooks are named NN-lowercase-words.ipynb")
        if upto is None or int(match["number"]) <= upto:
            found.append(path)
    return found


def exported_cells(path: Path):
    """Yield (directive match, cell body, origin) for each exported code cell."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for number, cell in enumerate(code_cells, start=1):
        source = "".join(cell["source"])
        first, _, body = source.partition("\n")
        if not first.startswith("#|"):
            continue
        match = DIRECTIVE.match(first.strip())
        origin = Origin(path.name, number)
        if not match:
            raise TangleError(f"{path.name} In [{number}]: cannot read directive {first!r}")
        yield match, body, origin


def parse_clauses(rest: str, where: str) -> dict[str, list[str]]:
    """`· class BaseEventLoop · adds a, b · replaces c` -> {'class': [...], 'adds': [...]}"""
    clauses: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in rest.split("·"))):
        verb, _, names = part.partition(" ")
        if verb not in ("class", "adds", "replaces", "removes"):
            raise TangleError(f"{where}: unknown clause {part!r}")
        clauses[verb] = [n.strip() for n in names.split(",") if n.strip()]
    if "class" in clauses and len(clauses["class"]) != 1:
        raise TangleError(f"{where}: `class` names exactly one class")
    return clauses


def split_statements(source: str, body: list[ast.stmt]) -> list[tuple[ast.stmt, str, int]]:
    """Each statement with its source (leading comments included) and first line index."""
    lines = source.splitlines()
    pieces = []
    start = 0
    for node in body:
        text = "\n".join(lines[start : node.end_lineno]).strip("\n") + "\n"
        pieces.append((node, text, start))
        start = node.end_lineno
    return pieces


def top_level_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def uses_zero_argument_super(node: ast.ClassDef) -> bool:
    """`super()`, or `super(X, self)` naming the class being grown: both mean "the
    previous version of X" in the notebook but X's real base class in the package."""
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super"
        and (not n.args or (isinstance(n.args[0], ast.Name) and n.args[0].id == node.name))
        for n in ast.walk(node)
    )


# ---------------------------------------------------------------- assembling


def add_cell(modules: dict[str, Module], match: re.Match, body: str, origin: Origin) -> None:
    path = match["path"]
    where = f"{origin.notebook} In [{origin.code_cell}]"
    if not path.startswith(PACKAGE + "/"):
        raise TangleError(f"{where}: exports go under {PACKAGE}/, not {path}")
    clauses = parse_clauses(match["rest"], where)
    module = modules.setdefault(path, Module(path))
    if origin.notebook not in module.notebooks:
        module.notebooks.append(origin.notebook)
    try:
        tree = ast.parse(body)
    except SyntaxError as error:
        raise TangleError(f"{where}: {error}") from None

    lines = body.splitlines()
    rest = []
    for node, text, start in split_statements(body, tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            # One entry per statement, not per line: a parenthesised import spans
            # lines, and deduplicating its `)` or `    name,` lines breaks it.
            statement = "\n".join(
                line for line in text.strip().splitlines() if not line.lstrip().startswith("#")
            )
            if statement and statement not in module.imports:
                module.imports.append(statement)
        elif (
            not module.chunks
            and module.docstring is None
            and not rest
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            module.docstring = text.strip()
        else:
            rest.append((node, text, start))

    if "class" in clauses:
        grow_class(module, clauses, rest, lines, origin, where)
    else:
        add_top_level(module, clauses, rest, lines, origin, where)


def add_top_level(module: Module, clauses, statements, lines, origin: Origin, where: str) -> None:
    replaces = set(clauses.get("replaces", []))
    removes = set(clauses.get("removes", []))
    if "adds" in clauses:
        raise TangleError(f"{where}: `adds` goes with `class`; top-level cells add by defining")
    for name in removes:
        index = module.find(name)
        if index is None:
            raise TangleError(f"{where}: removes {name}, which {module.path} does not define")
        del module.chunks[index]
    for node, text, start in statements:
        names = top_level_names(node)
        if isinstance(node, ast.ClassDef):
            chunk = class_chunk(node, lines, start, origin, where)
        else:
            chunk = CodeChunk(names, text, origin)
        existing = [n for n in names if module.find(n) is not None]
        for name in existing:
            if name not in replaces:
                raise TangleError(
                    f"{where}: redefines {name} in {module.path}; say `· replaces {name}` in the directive"
                )
        if existing:
            module.chunks[module.find(existing[0])] = chunk
            replaces -= set(existing)
        else:
            module.chunks.append(chunk)
    if replaces:
        raise TangleError(f"{where}: says it replaces {', '.join(sorted(replaces))}, but does not define it")


def class_chunk(node: ast.ClassDef, lines: list[str], start: int, origin: Origin, where: str) -> ClassChunk:
    """Split a class statement into its header (with docstring) and its members.

    `lines` are the cell's lines and `start` the index where the statement's
    leading comments begin; ast line numbers are 1-based indexes into `lines`.
    """
    body = node.body
    has_docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    members_ast = body[1:] if has_docstring else body
    # `pass` is no member: `class Error(Exception): pass`, or an extension that only `removes`.
    members_ast = [m for m in members_ast if not isinstance(m, ast.Pass)]
    if has_docstring:
        header_end = body[0].end_lineno
    elif members_ast:
        first = members_ast[0]
        header_end = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])]) - 1
        while header_end > node.lineno and lines[header_end - 1].strip().startswith("#"):
            header_end -= 1  # comments that open the body belong to the first member
    else:
        header_end = node.end_lineno
    header = "\n".join(lines[start:header_end]).strip("\n") + "\n"
    members = []
    member_start = header_end
    for member in members_ast:
        text = "\n".join(lines[member_start : member.end_lineno]).strip("\n") + "\n"
        member_start = member.end_lineno
        names = top_level_names(member)
        if len(names) != 1:
            raise TangleError(f"{where}: class {node.name} has a member that is not one def or one assignment")
        members.append(Member(names.pop(), text, origin))
    return ClassChunk(node.name, header, merge_same_name(members), origin)


def merge_same_name(members: list[Member]) -> list[Member]:
    """A property's getter and setter are one member."""
    merged: list[Member] = []
    for member in members:
        if merged and merged[-1].name == member.name:
            merged[-1] = Member(member.name, merged[-1].source + "\n" + member.source, member.origin)
        else:
            merged.append(member)
    return merged


def grow_class(module: Module, clauses, statements, lines, origin: Origin, where: str) -> None:
    (name,) = clauses["class"]
    if len(statements) != 1 or not isinstance(statements[0][0], ast.ClassDef):
        raise TangleError(f"{where}: a `class {name}` cell holds imports and one `class {name}({name}):` only")
    node, _, start = statements[0]
    bases = [ast.unparse(b) for b in node.bases]
    if node.name != name or bases != [name] or node.keywords or node.decorator_list:
        raise TangleError(f"{where}: write the extension as `class {name}({name}):`")
    if uses_zero_argument_super(node):
        raise TangleError(
            f"{where}: super() (or super({name}, ...)) inside an extension cell means the previous "
            f"version of {name} in the notebook but the real base class in the package; "
            "call the base class explicitly"
        )
    index = module.find(name)
    if index is None or not isinstance(module.chunks[index], ClassChunk):
        raise TangleError(f"{where}: {module.path} has no class {name} to grow")
    target: ClassChunk = module.chunks[index]
    extension = class_chunk(node, lines, start, origin, where)
    if isinstance(node.body[0], ast.Expr):
        raise TangleError(f"{where}: an extension of {name} has no docstring of its own")
    existing = {m.name: i for i, m in enumerate(target.members)}
    adds = set(clauses.get("adds", []))
    replaces = set(clauses.get("replaces", []))
    removes = set(clauses.get("removes", []))
    if not (adds or replaces or removes):
        raise TangleError(f"{where}: say what the cell `adds`, `replaces` or `removes` in {name}")
    for member_name in removes:
        if member_name not in existing:
            raise TangleError(f"{where}: removes {name}.{member_name}, which does not exist")
    for member in extension.members:
        if member.name in existing:
            if member.name not in replaces:
                raise TangleError(f"{where}: {name}.{member.name} exists; say `· replaces {member.name}`")
            target.members[existing[member.name]] = member
            replaces.discard(member.name)
        else:
            if member.name not in adds:
                raise TangleError(f"{where}: {name}.{member.name} is new; say `· adds {member.name}`")
            target.members.append(member)
            adds.discard(member.name)
    target.members = [m for m in target.members if m.name not in removes]
    missing = adds | replaces
    if missing:
        raise TangleError(f"{where}: the banner names {', '.join(sorted(missing))}, which the cell does not define")


# ---------------------------------------------------------------- writing


def render_chunk(chunk: ClassChunk | CodeChunk) -> str:
    if isinstance(chunk, CodeChunk):
        return f"{chunk.origin.marker()}\n{chunk.source}"
    parts = [f"{chunk.origin.marker()}\n{chunk.header}"]
    previous = chunk.origin
    for member in chunk.members:
        if member.origin != previous:
            parts.append(f"    {member.origin.marker()}\n")
            previous = member.origin
        parts.append(member.source)
    return "\n".join(parts)


def free_names(source: str) -> set[str]:
    """Names that some scope of the module reads from the module's globals but
    that the module never binds: they must come from a sibling module."""
    module = symtable.symtable(source, "<tangled>", "exec")
    bound = {s.get_name() for s in module.get_symbols() if s.is_assigned() or s.is_imported()}
    bound |= {t.get_name() for t in module.get_children()}  # top-level def and class
    read: set[str] = set()

    def visit(table, top):
        for symbol in table.get_symbols():
            if not symbol.is_referenced():
                continue
            # At the top, every read name is global; below, only those that no
            # enclosing function binds (locals, parameters, closures do not count).
            if top or symbol.is_global() or (table.get_type() == "class" and not symbol.is_local()
                                             and not symbol.is_free()):
                read.add(symbol.get_name())
        for child in table.get_children():
            visit(child, False)

    visit(module, True)
    return read - bound - BUILTIN_NAMES


def public_names(module: Module) -> list[str]:
    return sorted(n for n in module.defined_names() if not n.startswith("_"))


def module_body(module: Module, modules: dict[str, Module]) -> str:
    code = "\n\n".join(render_chunk(c).rstrip("\n") + "\n" for c in module.chunks)
    names = public_names(module)
    relative = link_names(module, modules, code)
    parts = []
    if module.docstring:
        parts.append(module.docstring + "\n")
    imports = sorted(module.imports, key=lambda line: (not line.startswith("from __future__"),))
    for group in (imports, relative):
        if group:
            parts.append("\n".join(group) + "\n")
    if names or (module.chunks and not module.path.endswith("__init__.py")):
        parts.append(f"__all__ = {tuple(names)!r}\n")  # () for a module with nothing public
    parts.append(code)
    return "\n".join(parts)


def link_names(module: Module, modules: dict[str, Module], code: str) -> list[str]:
    """`from .other import Name` for each name this module takes from a sibling."""
    own = module.defined_names()
    imports_source = "\n".join(module.imports)
    imported = free_names(imports_source) | {
        (a.asname or a.name).split(".")[0]
        for node in ast.walk(ast.parse(imports_source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for a in node.names
    }
    needed: dict[str, list[str]] = {}
    for name in sorted(free_names(code) - own - imported):
        homes = [m for m in modules.values() if m is not module and name in m.defined_names()]
        if not homes:
            first = min(
                (c.origin for c in module.chunks), key=lambda o: (o.notebook, o.code_cell)
            )
            raise TangleError(
                f"{module.path}: uses {name!r}, which no exported cell defines or imports "
                f"(first cell: {first.notebook} In [{first.code_cell}])"
            )
        if len(homes) > 1:
            raise TangleError(f"{module.path}: {name!r} is defined in {', '.join(m.path for m in homes)}")
        needed.setdefault(Path(homes[0].path).stem, []).append(name)
    return [f"from .{stem} import {', '.join(names)}" for stem, names in sorted(needed.items())]


def package_init(modules: dict[str, Module]) -> str:
    lines = []
    for module in modules.values():
        names = public_names(module)
        if names and not module.path.endswith("__init__.py"):
            lines.append(f"from .{Path(module.path).stem} import {', '.join(names)}")
    return "\n".join(lines) + "\n"


def with_header(body: str, notebooks: list[str]) -> str:
    digest = hashlib.sha256(body.encode()).hexdigest()
    sources = ", ".join(f"notebooks/{n}" for n in notebooks) or "every chapter's exports"
    return (
        f"# Generated by tools/tangle.py from {sources}.\n"
        "# Do not edit: change the notebook, then run `python tools/tangle.py`.\n"
        f"# body-sha256: {digest}\n"
        f"{body}"
    )


def tangle(upto: int | None = None) -> dict[str, str]:
    """Every file of the package, as {path relative to the repo: text}."""
    modules: dict[str, Module] = {}
    for notebook in chapter_notebooks(upto):
        for match, body, origin in exported_cells(notebook):
            add_cell(modules, match, body, origin)
    init_path = f"{PACKAGE}/__init__.py"
    init = modules.pop(init_path, Module(init_path))
    files = {
        module.path: with_header(module_body(module, modules), module.notebooks)
        for module in modules.values()
    }
    init_body = module_body(init, modules) if init.chunks or init.docstring else ""
    reexports = package_init(modules)
    all_names = sorted({n for m in modules.values() for n in public_names(m)} | set(public_names(init)))
    init_text = "\n\n".join(filter(None, [init_body.rstrip("\n"), reexports.rstrip("\n")]))
    init_text += f"\n\n__all__ = {tuple(all_names)!r}\n" if all_names else "\n"
    files[init_path] = with_header(init_text.lstrip("\n"), init.notebooks)
    refuse_import_cycles(files)
    return files


def refuse_import_cycles(files: dict[str, str]) -> None:
    """Modules that import names from each other cannot both finish importing."""
    imports = {
        Path(path).stem: set(re.findall(r"^from \.(\w+) import", text, re.M))
        for path, text in files.items()
        if not path.endswith("__init__.py")
    }

    def visit(stem, trail):
        if stem in trail:
            cycle = trail[trail.index(stem):] + [stem]
            raise TangleError(
                "modules import each other: " + " → ".join(f"{PACKAGE}/{s}.py" for s in cycle)
                + "; move the names they share into one of them"
            )
        for other in sorted(imports.get(stem, ())):
            visit(other, trail + [stem])

    for stem in sorted(imports):
        visit(stem, [])


def edited_by_hand(text: str) -> bool:
    """True when a generated file's body no longer matches the hash in its header."""
    match = HEADER_HASH.search(text)
    if not match:
        return True
    body = text[match.end() + 1 :]
    return hashlib.sha256(body.encode()).hexdigest() != match["digest"]


def write(files: dict[str, str], out: Path, package_dir: str, force: bool = False) -> list[str]:
    """Write `files` so that `eventloop/x.py` lands in `out/package_dir/x.py`."""
    target = out / package_dir
    refused = []
    expected = set()
    for path, text in files.items():
        destination = target / Path(path).relative_to(PACKAGE)
        expected.add(destination)
        if destination.exists():
            current = destination.read_text(encoding="utf-8")
            if current == text:
                continue
            if edited_by_hand(current) and not force:
                refused.append(str(destination))
                continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    for stale in target.glob("**/*.py") if target.exists() else []:
        if stale not in expected:
            if edited_by_hand(stale.read_text(encoding="utf-8")) and not force:
                refused.append(str(stale))
            else:
                stale.unlink()
    return refused


def check(files: dict[str, str]) -> list[str]:
    """Problems that make the committed package differ from a fresh tangle."""
    problems = []
    target = ROOT / PACKAGE
    for path, text in sorted(files.items()):
        on_disk = ROOT / path
        if not on_disk.exists():
            problems.append(f"{path}: missing (run python tools/tangle.py)")
        elif on_disk.read_text(encoding="utf-8") != text:
            how = "edited by hand" if edited_by_hand(on_disk.read_text(encoding="utf-8")) else "stale"
            problems.append(f"{path}: differs from its notebooks ({how})")
    for stray in sorted(target.glob("**/*.py")):
        relative = stray.relative_to(ROOT).as_posix()
        if relative not in files:
            problems.append(f"{relative}: no notebook exports it")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if eventloop/ differs from a fresh tangle")
    parser.add_argument("--upto", type=int, help="tangle chapters 0..UPTO only")
    parser.add_argument("--out", type=Path, help="write the package under this folder instead of the repo")
    parser.add_argument("--name", default=PACKAGE, help="package folder name under --out (default: eventloop)")
    parser.add_argument("--force", action="store_true", help="overwrite files edited by hand")
    args = parser.parse_args(argv)
    try:
        files = tangle(args.upto)
    except TangleError as error:
        print(f"tangle: {error}", file=sys.stderr)
        return 2
    if args.check:
        problems = check(files)
        for problem in problems:
            print(f"tangle --check: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if args.upto is not None and args.out is None:
        parser.error("--upto writes a snapshot: give it --out DIR")
    refused = write(files, args.out or ROOT, args.name, force=args.force)
    for path in refused:
        print(f"tangle: refusing to overwrite {path}: it was edited by hand "
              "(move the change into its notebook, or use --force)", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
