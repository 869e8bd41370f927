#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The rules for `unsafe`, over every Rust file under drivers/ (tracked, or
# new and not ignored by git; not bindgen's *_generated.rs):
#
#   - every `unsafe` block and every `unsafe impl` has a `// SAFETY:` comment
#     on its line or in the comment block just above it (attributes and
#     blank lines may come between);
#   - every `unsafe fn` (an `unsafe extern "C" fn` callback, which C calls,
#     too) and `unsafe trait` has a `# Safety` section in its doc comment;
#   - `unsafe` stays in the abstraction layers, the directories
#     drivers/lib, drivers/virtio, drivers/recovery, drivers/block/mq and
#     drivers/scsi/midlayer (or its old name drivers/scsi/scsi). Every other
#     Rust file under drivers/ is a driver's own and holds no `unsafe` at
#     all: not a block, fn, impl or trait (the word in a comment, a doc
#     comment or a string literal is not code).
#
# Comments and string literals are told from code by a small Rust lexer
# (nested block comments, raw strings, char literals and lifetimes), so the
# word in them neither counts nor hides code after them.
#
# Prints the driver files it found and the number of `unsafe` in them (0
# when it passes), and every violation as FILE:LINE: what. Exits 1 on a
# violation, or if it finds no driver file at all (a layout it does not
# understand must not pass unchecked).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'drivers/*.rs' | sort -u)
else
	mapfile -t files < <(find drivers -name '*.rs' | sort)
fi

python3 - "${files[@]}" <<'EOF'
import re
import sys

LAYERS = ("drivers/lib/", "drivers/virtio/", "drivers/recovery/", "drivers/block/mq/",
          "drivers/scsi/midlayer/", "drivers/scsi/scsi/")
IDENT = re.compile(r"[A-Za-z0-9_]")
UNSAFE = re.compile(r"(?<![A-Za-z0-9_])unsafe(?![A-Za-z0-9_])")
CHAR_LIT = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F_]*\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
RAW_OPEN = re.compile(r"b?r(#*)\"")


def lex(text):
    """[(code, comment)] per line: the line's code with string and char
    literals blanked, and the text of the comments on it."""
    out, code, com = [], [], []
    i, n = 0, len(text)

    def newline():
        out.append(("".join(code), "".join(com)))
        code.clear()
        com.clear()

    while i < n:
        c = text[i]
        if c == "\n":
            newline()
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            com.append(text[i:j])
            i = j
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            com.append("/*")
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                elif text[i] == "\n":
                    newline()
                    i += 1
                else:
                    com.append(text[i])
                    i += 1
        elif c in "rb" and (i == 0 or not IDENT.match(text[i - 1])) and RAW_OPEN.match(text, i):
            m = RAW_OPEN.match(text, i)
            end = '"' + m.group(1)
            code.append(m.group(0))
            i = m.end()
            while i < n and not text.startswith(end, i):
                if text[i] == "\n":
                    newline()
                i += 1
            code.append(end)
            i += len(end)
        elif c == '"':
            code.append('"')
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                if i < n and text[i] == "\n":
                    newline()
                i += 1
            code.append('"')
            i += 1
        elif c == "'" and CHAR_LIT.match(text, i):
            code.append("' '")
            i = CHAR_LIT.match(text, i).end()
        else:
            code.append(c)
            i += 1
    if code or com:
        newline()
    return out


def is_driver(path):
    return not path.startswith(LAYERS)


def check(path, lines):
    """Violations of the comment rules; the lines of every `unsafe`."""
    bad, where = [], []
    safety = doc = False
    for ln, (code, com) in enumerate(lines, 1):
        stripped = code.strip()
        if not stripped:
            if "SAFETY" in com:
                safety = True
            if com.lstrip().startswith("///") and "# Safety" in com:
                doc = True
            continue
        if stripped.startswith(("#[", "#![")):
            continue
        for m in UNSAFE.finditer(code):
            where.append(ln)
            # What the `unsafe` qualifies: the code after it, on this line or
            # the next ones.
            rest, k = code[m.end():], ln
            while not rest.strip() and k < len(lines):
                rest, k = lines[k][0], k + 1
            rest = rest.strip()
            if re.match(r'(extern\s*"[^"]*"\s*)?fn\b|trait\b', rest):
                if not doc:
                    what = rest.split()[0] if rest else "?"
                    bad.append(f"{path}:{ln}: unsafe {'fn' if what == 'extern' else what} "
                               "without a # Safety section")
            elif not (safety or "SAFETY" in com):
                what = "impl" if rest.startswith("impl") else "block"
                bad.append(f"{path}:{ln}: unsafe {what} without a SAFETY comment")
        safety = doc = False
    return bad, where


bad, drivers, in_drivers, in_layers = [], [], 0, 0
files = [f for f in sys.argv[1:] if f.endswith(".rs") and not f.endswith("_generated.rs")]
for path in files:
    try:
        with open(path, encoding="utf-8") as f:
            lines = lex(f.read())
    except FileNotFoundError:
        continue  # deleted in the work tree, not yet in the index
    b, where = check(path, lines)
    bad += b
    if is_driver(path):
        drivers.append(path)
        in_drivers += len(where)
        bad += [f"{path}:{ln}: unsafe in a driver's own file (it belongs in an abstraction layer)"
                for ln in where]
    else:
        in_layers += len(where)

for line in bad:
    print(line)
print(f"check-safety: {len(files)} Rust files under drivers/; driver files ({len(drivers)}): "
      + " ".join(drivers))
print(f"check-safety: unsafe in driver files: {in_drivers}; in the abstraction layers: {in_layers}")
if not drivers:
    print("check-safety: no driver files found: is drivers/ laid out as this script expects?")
    sys.exit(1)
sys.exit(1 if bad else 0)
EOF
