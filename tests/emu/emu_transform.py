#!/usr/bin/env python3
"""Rewrites a CUDA source (.cu) into C++ for the CPU emulation (tests/emu/include/merino_emu.h).

usage: emu_transform.py INPUT.cu OUTPUT.cpp [--plant OLD NEW]

--plant replaces the first occurrence of OLD (backslash escapes such as \\n allowed) by NEW
before the rewrites, and fails when OLD is not there: the planted-bug tests build kernels with a
barrier removed or a shuffle lane changed and must fail.

Three rewrites, everything else is left as it is (line numbers too: a `#line` directive and
padding keep compiler messages pointing into the .cu file):
  kernel<...><<<grid, block, smem, stream>>>(args)
      -> ::merino_emu::launch(::merino_emu::func_id(kernel<...>), "file.cu:line kernel<...>",
             ::merino_emu::config(grid, block, smem, stream), [&]() { kernel<...>(args); })
     the emulator runs the lambda once per CUDA thread.
  extern __shared__ __align__(n) T name[];
      -> T* const name = ::merino_emu::dynamic_shared<T>();
  __shared__ T a[N], b;
      -> static const char key_a = 0; T (&a)[N] = ::merino_emu::static_shared<T[N]>(&key_a); ...
     one object per block for each declaration (and template instance).
A `__shared__` or `<<<` the rewrites do not understand is an error, never left behind.
"""
import os
import re
import sys


def blank_comments_and_strings(src):
    """src with comments and the insides of string / char literals replaced by spaces
    (newlines kept), so offsets match and nothing inside them is rewritten."""
    out = list(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    i, n = 0, len(src)
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif src[i] in "\"'":
            j = i + 1
            while j < n and src[j] != src[i]:
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def match_back(text, end, open_ch, close_ch):
    """Index of the open_ch matching the close_ch at text[end]."""
    depth = 0
    for k in range(end, -1, -1):
        if text[k] == close_ch:
            depth += 1
        elif text[k] == open_ch:
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced %s%s" % (open_ch, close_ch))


def match_forward(text, start, open_ch, close_ch):
    depth = 0
    for k in range(start, len(text)):
        if text[k] == open_ch:
            depth += 1
        elif text[k] == close_ch:
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced %s%s" % (open_ch, close_ch))


def strip_align(type_text):
    return " ".join(re.sub(r"__align__\s*\([^)]*\)", " ", type_text).split())


def rewrite_launches(src, plain, where):
    edits = []
    pos = 0
    while True:
        at = plain.find("<<<", pos)
        if at < 0:
            return edits
        k = at - 1
        while plain[k].isspace():
            k -= 1
        if plain[k] == ">":
            k = match_back(plain, k, "<", ">") - 1
            while plain[k].isspace():
                k -= 1
        while k >= 0 and (plain[k].isalnum() or plain[k] in "_:"):
            k -= 1
        start = k + 1
        kernel = " ".join(src[start:at].split())
        if not re.match(r"^[\w:]+(\s*<.*>)?$", kernel, re.S):
            raise ValueError("cannot parse the kernel of the launch at offset %d" % at)
        cfg_end = plain.find(">>>", at + 3)
        cfg = src[at + 3:cfg_end]
        k = cfg_end + 3
        while plain[k].isspace():
            k += 1
        if plain[k] != "(":
            raise ValueError("launch of %s: no argument list after >>>" % kernel)
        args_end = match_forward(plain, k, "(", ")")
        args = src[k + 1:args_end]
        old = src[start:args_end + 1]
        label = "%s:%d %s" % (where, src.count("\n", 0, at) + 1, kernel)
        new = ('::merino_emu::launch(::merino_emu::func_id(%s), "%s", ::merino_emu::config(%s), '
               "[&]() { %s(%s); })" % (kernel, label, " ".join(cfg.split()), kernel,
                                       " ".join(args.split())))
        edits.append((start, args_end + 1, new + "\n" * old.count("\n")))
        pos = args_end + 1


DYNAMIC = re.compile(r"\bextern\s+__shared__\s+([^;\[\]]*?)\s*\b(\w+)\s*\[\s*\]\s*;")
STATIC = re.compile(r"\b__shared__\s+([^;]*);")
FIRST = re.compile(r"^(.*?)\b(\w+)\s*((?:\[[^\]]*\]\s*)*)$", re.S)
NEXT = re.compile(r"^\s*(\w+)\s*((?:\[[^\]]*\]\s*)*)$", re.S)


def split_top_level(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([<{":
            depth += 1
        elif ch in ")]>}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def rewrite_shared(src, plain):
    edits = []
    taken = []
    for m in DYNAMIC.finditer(plain):
        t = strip_align(src[m.start(1):m.end(1)])
        name = m.group(2)
        old = src[m.start():m.end()]
        new = "%s* const %s = ::merino_emu::dynamic_shared<%s>();" % (t, name, t)
        edits.append((m.start(), m.end(), new + "\n" * old.count("\n")))
        taken.append((m.start(), m.end()))
    for m in STATIC.finditer(plain):
        if any(a <= m.start() < b for a, b in taken):
            continue
        body = src[m.start(1):m.end(1)]
        parts = split_top_level(body)
        first = FIRST.match(parts[0])
        if not first:
            raise ValueError("cannot parse the __shared__ declaration %r" % body)
        t = strip_align(first.group(1))
        if not t:
            raise ValueError("no type in the __shared__ declaration %r" % body)
        decls = [(first.group(2), first.group(3).strip())]
        for p in parts[1:]:
            d = NEXT.match(p)
            if not d:
                raise ValueError("cannot parse the declarator %r of a __shared__ declaration" % p)
            decls.append((d.group(1), d.group(2).strip()))
        line = src.count("\n", 0, m.start()) + 1
        out = []
        for name, dims in decls:
            key = "merino_emu_key_%s_%d" % (name, line)
            dims = " ".join(dims.split())
            ref = "(&%s)%s" % (name, dims) if dims else "&%s" % name
            out.append("static const char %s = 0; %s %s = ::merino_emu::static_shared<%s%s>(&%s);"
                       % (key, t, ref, t, dims, key))
        old = src[m.start():m.end()]
        edits.append((m.start(), m.end(), " ".join(out) + "\n" * old.count("\n")))
    return edits


def transform(src, path):
    plain = blank_comments_and_strings(src)
    edits = rewrite_launches(src, plain, os.path.basename(path)) + rewrite_shared(src, plain)
    edits.sort()
    for (a, b, _), (c, _d, _e) in zip(edits, edits[1:]):
        if c < b:
            raise ValueError("overlapping rewrites at offsets %d and %d" % (a, c))
    out = src
    for a, b, new in reversed(edits):
        out = out[:a] + new + out[b:]
    return '#line 1 "%s"\n' % path + out


def unescape(text):
    return text.encode().decode("unicode_escape")


def main():
    args = sys.argv[1:]
    if len(args) not in (2, 5) or (len(args) == 5 and args[2] != "--plant"):
        sys.stderr.write("usage: emu_transform.py INPUT.cu OUTPUT.cpp [--plant OLD NEW]\n")
        return 2
    src_path, out_path = args[0], args[1]
    try:
        with open(src_path) as f:
            src = f.read()
        if len(args) == 5:
            old, new = unescape(args[3]), unescape(args[4])
            if old not in src:
                raise ValueError("the text to plant a bug in is not there: %r" % old)
            src = src.replace(old, new, 1)
        out = transform(src, src_path)
    except (OSError, ValueError) as e:
        sys.stderr.write("emu_transform.py: %s: %s\n" % (src_path, e))
        return 2
    with open(out_path, "w") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
