"""The README's Python blocks that no other test runs (tests/repo_rules.rs,
every_readme_code_block_is_checked, holds the table of which test checks which block).

- "## Python": the Device and the Pool/Runner blocks talk to a lab (10.0.0.x), so they are
  compiled and type-checked with `mypy --strict` against the package, as a user's IDE checks
  them, with a prelude that declares the free names they use.
- "## Python": the CommandError block runs against a device of the fake fleet (`dev`), and
  prints the refused command's line, its output and the check=False output's fields.
- "## Logs": the ```python block runs in a fresh interpreter, which then opens a device of the
  fake fleet: its records reach logging (the root logger's handlers) from "netrig.device" at
  INFO and DEBUG, with the device's name, in the block's format on stderr too.
"""

import json
import logging
import re
from pathlib import Path

from conftest import run_child
from test_device import fleet  # noqa: F401  (the session's fakedev fleet)
from test_typing import mypy

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_blocks():
    """Every fenced block of README.md as (heading, language, text), the heading being the
    nearest `#` line before it outside code blocks (as tests/repo_rules.rs reads them)."""
    blocks, heading, lang, text = [], "", None, []
    for line in README.read_text().splitlines():
        if lang is not None:
            if line.startswith("```"):
                blocks.append((heading, lang, "\n".join(text) + "\n"))
                lang, text = None, []
            else:
                text.append(line)
        elif line.startswith("```"):
            lang = line[3:].strip()
        elif line.startswith("#"):
            heading = line
    return blocks


def readme_block(heading, lang, first):
    found = [t for h, la, t in readme_blocks() if h == heading and la == lang and t.startswith(first)]
    assert len(found) == 1, f"README.md has {len(found)} ```{lang} blocks under {heading!r} starting {first!r}"
    return found[0]


# The "## Python" blocks that need a lab, with what each uses without defining it.
PYTHON_LAB_BLOCKS = {
    "with Device(": "from netrig import Device\n",
    "from netrig import DeviceOptions, Pool": "fp: list[str]\n",
}


def _lab_blocks(heading):
    return [(first, prelude, readme_block(heading, "py", first)) for first, prelude in PYTHON_LAB_BLOCKS.items()]


def test_readme_device_and_pool_blocks_compile():
    for first, prelude, block in _lab_blocks("## Python"):
        compile(prelude + block, f"README.md ## Python ({first})", "exec")


def test_readme_device_and_pool_blocks_pass_mypy_strict(tmp_path):
    for i, (first, prelude, block) in enumerate(_lab_blocks("## Python")):
        script = tmp_path / f"readme_python_{i}.py"
        script.write_text(prelude + block)
        proc = mypy(tmp_path, script)
        assert proc.returncode == 0, f"mypy --strict fails on the README block {first!r}:\n{proc.stdout}{proc.stderr}"
        assert proc.stdout.startswith("Success: no issues found in 1 source file"), proc.stdout


def test_readme_device_and_pool_blocks_fail_mypy_strict_when_wrong(tmp_path):
    """The check above can fail: the same block with a misspelt option does not pass."""
    first, prelude, block = _lab_blocks("## Python")[0]
    assert "password=" in block
    script = tmp_path / "readme_python_bad.py"
    script.write_text(prelude + block.replace("password=", "pasword=", 1))
    proc = mypy(tmp_path, script)
    assert proc.returncode == 1 and 'Unexpected keyword argument "pasword" for "Device"' in proc.stdout, proc.stdout


def test_readme_command_error_block_runs(fleet):  # noqa: F811
    import contextlib
    import io

    from netrig import Device

    block = readme_block("## Python", "py", "from netrig import CommandError")
    d = fleet["ios"]
    with Device(d["host"], d["port"], username=d["username"], password=d["password"], secret=d["secret"],
                platform=d["profile"], fingerprint=d["host_key_fingerprint"], timeout=10.0) as dev:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, "README.md ## Python (CommandError)", "exec"), {"dev": dev})
    refusal = "% Invalid input detected at '^' marker."
    lines = printed.getvalue().splitlines()
    assert lines[0] == refusal, lines
    assert "^" in lines[1] and lines[2:4] == [refusal, ""], "the whole output: the caret line, then the refusal"
    assert lines[4:] == ["True show ip bgp summary bogus cisco_ios"], lines


CHILD = """
import json, logging, os
d = json.loads(os.environ["DEV"])
exec(compile(os.environ["BLOCK"], "README.md ## Logs", "exec"), {})

import netrig
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(dict(name=record.name, level=record.levelname, message=record.getMessage(),
                            device=getattr(record, "netrig_device", None)))
logging.getLogger().addHandler(Keep())
with netrig.Device(d["host"], d["port"], username=d["username"], password=d["password"], secret=d["secret"],
                   platform=d["profile"], fingerprint=d["host_key_fingerprint"], timeout=10.0) as dev:
    dev.send_command("show version")
netrig.log.flush()
print(json.dumps(dict(records=records, pool_level=logging.getLogger("netrig.pool").getEffectiveLevel())))
"""


def test_readme_logs_block_sends_device_records_to_logging(fleet):  # noqa: F811
    block = readme_block("## Logs", "python", "import logging")
    d = fleet["ios"]
    name = f"{d['host']}:{d['port']}"
    proc = run_child(CHILD, timeout=30, env={"DEV": json.dumps(d), "BLOCK": block})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    mine = [r for r in out["records"] if r["name"] == "netrig.device" and r["device"] == name]
    info = [r for r in mine if r["level"] == "INFO" and r["message"].startswith(f"{name}: opened (cisco_ios, ")]
    debug = [r for r in mine if r["level"] == "DEBUG" and r["message"].startswith(f"{name}: TCP connected to")]
    assert len(info) == 1 and len(debug) == 1, out["records"]
    assert any(r["level"] == "DEBUG" and r["message"].startswith(f"{name}: command 'show version': ended in")
               for r in mine), mine
    assert out["pool_level"] == 5  # netrig.log.TRACE, as the block sets it
    # The block's basicConfig: "<asctime> <levelname> <name> <message>" lines on stderr.
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    line = re.compile(rf"^{stamp} DEBUG netrig\.device {re.escape(name)}: TCP connected to ", re.M)
    assert line.search(proc.stderr), proc.stderr
    assert logging.getLogger("netrig.device").level == logging.NOTSET  # this process is untouched
