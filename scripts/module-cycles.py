#!/usr/bin/env python3
"""Finds modules that import each other, directly or through a loop, in every crate.

A module is one source file (`a/b.rs` or `a/b/mod.rs`). An edge M -> T is any path in M's code
(outside its `#[cfg(test)]` blocks) that names an item of T: `crate::t::…`, `super::…`,
`self::t::…`, a `use` tree, or a bare `t::…` where `t` is a module M declares. Declaring a
child (`mod t;`) is not an edge; using or re-exporting its items is.

    scripts/module-cycles.py            # exit 1 and print each loop when there is one
    scripts/module-cycles.py --graph    # also print every edge

Binaries (`src/main.rs`, `src/bin/*.rs`) are their own crate roots: they reach the library only
by its crate name, which is not an edge inside it.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    # Raw strings (`r"…"`, `r#"…"#`), then ordinary ones; `r` must start a token.
    text = re.sub(r'(?<![A-Za-z0-9_])r(#*)"(?:.|\n)*?"\1', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def strip_test_blocks(text: str) -> str:
    """Removes `#[cfg(test)]` items (inline test modules and test-only functions)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        # The item ends at the `;` or at the brace that closes its first `{`.
        depth = 0
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            elif c == ";" and depth == 0:
                j += 1
                break
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use_tree(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> [`a::b`, `a::c::d`, `a::c::e`]."""
    tree = re.sub(r"\s+", "", tree)
    tree = re.sub(r"\bas" + IDENT, "", tree)

    def split_top(s: str) -> list[str]:
        parts, depth, cur = [], 0, ""
        for c in s:
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += c == "{"
            depth -= c == "}"
            cur += c
        if cur:
            parts.append(cur)
        return parts

    def walk(prefix: str, s: str) -> list[str]:
        brace = s.find("{")
        if brace < 0:
            return [prefix + s]
        head, body = s[:brace], s[brace + 1 : s.rindex("}")]
        paths = []
        for part in split_top(body):
            paths.extend(walk(prefix + head, part))
        return paths

    return [p.rstrip(":") for p in walk("", tree)]


class Crate:
    def __init__(self, name: str, src: Path, root_file: Path):
        self.name = name
        self.src = src
        self.modules: dict[tuple, Path] = {}
        self._collect((), root_file)

    def _collect(self, path: tuple, file: Path):
        self.modules[path] = file
        text = strip_comments_and_strings(file.read_text())
        here = file.parent if file.name in ("mod.rs", "lib.rs", "main.rs") else file.with_suffix("")
        for m in re.finditer(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", text):
            child = m.group(1)
            for candidate in (here / f"{child}.rs", here / child / "mod.rs"):
                if candidate.exists():
                    self._collect(path + (child,), candidate)
                    break

    def children(self, path: tuple) -> set[str]:
        return {p[-1] for p in self.modules if len(p) == len(path) + 1 and p[:-1] == path}

    def resolve(self, here: tuple, segments: list[str]):
        """The module a path names, or None when it leaves the crate or stays in `here`."""
        if not segments:
            return None
        first, rest = segments[0], segments[1:]
        if first == "crate":
            base = ()
        elif first == "self":
            base = here
        elif first == "super":
            base = here
            while rest or first == "super":
                if first != "super":
                    break
                base = base[:-1]
                if rest and rest[0] == "super":
                    first, rest = rest[0], rest[1:]
                else:
                    break
        elif first in self.children(here):
            base, rest = here + (first,), rest
        else:
            return None
        target = base
        for seg in rest:
            if target + (seg,) in self.modules:
                target = target + (seg,)
            else:
                break
        return target

    def edges(self) -> dict[tuple, set[tuple]]:
        graph: dict[tuple, set[tuple]] = {m: set() for m in self.modules}
        for module, file in self.modules.items():
            text = strip_test_blocks(strip_comments_and_strings(file.read_text()))
            paths: list[str] = []
            for m in re.finditer(r"\buse\s+([^;]+);", text):
                paths.extend(expand_use_tree(m.group(1)))
            body = re.sub(r"\buse\s+[^;]+;", "", text)
            paths.extend(re.findall(IDENT + r"(?:::" + IDENT + r")+", body))
            for p in paths:
                target = self.resolve(module, [s for s in p.split("::") if s])
                if target is not None and target != module:
                    # A reference to an ancestor's item names that ancestor, not its children.
                    graph[module].add(target)
        return graph


def cycles(graph: dict[tuple, set[tuple]]) -> list[list[tuple]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def crates() -> list[Crate]:
    found = []
    for manifest in sorted((ROOT / "crates").glob("*/Cargo.toml")):
        src = manifest.parent / "src"
        name = manifest.parent.name
        roots = [src / "lib.rs", src / "main.rs", *sorted((src / "bin").glob("*.rs"))]
        for root in roots:
            if root.exists():
                label = name if root.name == "lib.rs" else f"{name} ({root.relative_to(src)})"
                found.append(Crate(label, src, root))
    return found


def main() -> int:
    show_graph = "--graph" in sys.argv
    loops = 0
    for crate in crates():
        graph = crate.edges()
        name = lambda m: "::".join(m) or "(root)"
        if show_graph:
            for m in sorted(graph):
                for t in sorted(graph[m]):
                    print(f"{crate.name}: {name(m)} -> {name(t)}")
        for comp in cycles(graph):
            loops += 1
            print(f"{crate.name}: these modules import each other: " + ", ".join(map(name, comp)))
    modules = sum(len(c.modules) for c in crates())
    if loops:
        print(f"{loops} loop(s) among {modules} modules")
        return 1
    print(f"no module imports another that imports it back ({modules} modules checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
