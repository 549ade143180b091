"""openclaw_core/base/lazy_re.py: a pattern compiled on first use answers as the compiled one."""

from __future__ import annotations

import re

from openclaw_core.base.lazy_re import CompiledPattern, LazyPattern, lazy_compile


def test_nothing_is_compiled_until_first_use_then_the_methods_are_the_patterns():
    lazy = lazy_compile(r"(a+)(b)?", re.IGNORECASE)
    assert isinstance(lazy, LazyPattern) and "fullmatch" not in vars(lazy)
    compiled = re.compile(r"(a+)(b)?", re.IGNORECASE)
    assert lazy.fullmatch("AAb").groups() == compiled.fullmatch("AAb").groups() == ("AA", "b")
    # Compiled once: every method is now an attribute of the object itself.
    assert {"match", "search", "sub", "finditer", "pattern"} <= set(vars(lazy))
    assert type(lazy) is CompiledPattern  # no __getattr__ in the way of later lookups
    assert lazy.search("xxaa").span() == (2, 4)
    assert lazy.sub("-", "caab") == "c-"
    assert [m.group() for m in lazy.finditer("a b aa")] == ["a", "aa"]
    assert (lazy.pattern, lazy.flags, lazy.groups) == (compiled.pattern, compiled.flags, compiled.groups)


def test_bytes_patterns_and_private_names():
    lazy = lazy_compile(rb"\d+")
    assert lazy.findall(b"a1b22") == [b"1", b"22"]
    try:
        lazy._nothing
    except AttributeError:
        pass
    else:
        raise AssertionError("private names are not delegated")
