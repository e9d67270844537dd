"""The README's Python example runs as written (documentation that cannot silently rot)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no ```python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out.split()
    assert out[:3] == ["(4,", "4)", "True"]  # psm converged on the 4-state MDP
    assert abs(float(out[4]) - 1.9584) < 1e-4  # d[0, 0] = 0.999^16 + 0.999^26
