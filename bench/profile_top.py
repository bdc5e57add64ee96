"""The top frames of a py-spy profile in its raw (collapsed stacks) format.

py-spy ``record --format raw`` writes one line per distinct stack: the frames from the
outermost to the innermost, joined by ``;``, then a space and the sample count. Self
time is the innermost frame's; inclusive time counts a frame once per stack it is on.

Usage: python bench/profile_top.py PROFILE.txt [--k 15]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

#: "function (path/to/module.py:123)" -> "function (module.py)"; lines would split a
#: function's time over its lines
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^():]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame.strip()
    parts = m["file"].split("/")
    where = "/".join(parts[-2:]) if len(parts) > 1 else parts[-1]
    return f"{m['fn']} ({where})"


def top_frames(text: str, k: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Total samples, and the ``k`` frames with the most self and inclusive samples.

    >>> prof = "main (a.py:1);work (b.py:2) 3\\nmain (a.py:1);idle (c.py:9) 1\\n"
    >>> total, own, incl = top_frames(prof, k=2)
    >>> total, own, incl
    (4, [('work (b.py)', 3), ('idle (c.py)', 1)], [('main (a.py)', 4), ('work (b.py)', 3)])
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return total, own.most_common(k), inclusive.most_common(k)


def report(path: Path, k: int = 15) -> str:
    """The top self and inclusive frames of the profile at ``path``, as text."""
    total, own, incl = top_frames(path.read_text(errors="replace"), k)
    lines = [f"{path.name}: {total} samples", "  self:"]
    lines += [f"    {100 * n / max(total, 1):5.1f}%  {f}" for f, n in own]
    lines.append("  inclusive:")
    lines += [f"    {100 * n / max(total, 1):5.1f}%  {f}" for f, n in incl]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--k", type=int, default=15)
    args = ap.parse_args()
    print(report(args.profile, args.k))


if __name__ == "__main__":
    main()
