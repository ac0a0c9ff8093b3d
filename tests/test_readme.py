"""The README's commands and the CI script that runs them."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read().splitlines()


def readme_commands():
    """The commands of the README's first ``sh`` block, comments left out."""
    lines = _read("README.md")
    start = lines.index("```sh") + 1
    block = lines[start:lines.index("```", start)]
    return [line for line in block if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_readmes_test_command_verbatim():
    """.ci/run, after making and activating its venv, runs the README's second command
    (install and run the tests) as it is written there, so the two cannot drift."""
    command = readme_commands()[1]
    assert command.startswith(VENV) and "pytest" in command, command
    ci = _read(os.path.join(".ci", "run"))
    activated = next(i for i, line in enumerate(ci) if line.strip() == '. "$VENV/bin/activate"')
    assert command[len(VENV):] in ci[activated + 1:], (command, ci)
