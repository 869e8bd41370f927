#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Every `unsafe` block needs a `// SAFETY:` comment on its line or in the
# comment block just above it; every `unsafe fn` a `# Safety` doc section
# (or an `unsafe extern "C" fn` callback, which C calls). And `unsafe` stays in
# the abstraction layers: drivers' own files must have none.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bad=0
for f in $(git ls-files 'drivers/*.rs'); do
	out=$(awk -v f="$f" '
		/^[[:space:]]*\/\/\// { if ($0 ~ /# Safety/) doc=1 }
		/^[[:space:]]*\/\// { if ($0 ~ /SAFETY/) s=1; next }
		/^[[:space:]]*#\[/ { next }
		{
			if ($0 ~ /unsafe[[:space:]]*\{/ && !s && $0 !~ /SAFETY/)
				printf "%s:%d: unsafe block without a SAFETY comment\n", f, NR
			if ($0 ~ /unsafe (extern "C" )?fn/ && !doc)
				printf "%s:%d: unsafe fn without a # Safety section\n", f, NR
			if ($0 ~ /[^[:space:]]/) { s=0; doc=0 }
		}' "$f")
	if [ -n "$out" ]; then
		echo "$out"
		bad=1
	fi
done
# The drivers' own logic holds no unsafe.
for f in drivers/block/rvirtio_blk.rs drivers/block/virtio_blk_proto.rs; do
	[ -f "$f" ] || continue
	if grep -n '\bunsafe\b' "$f" | grep -v '^\s*//' | grep -v '//!' | grep -v 'holds no .unsafe' >/dev/null; then
		grep -n '\bunsafe\b' "$f" | grep -v '//' | sed "s|^|$f:|; s|$| (driver logic must be safe Rust)|"
		bad=1
	fi
done
exit $bad
