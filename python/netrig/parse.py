"""Structured output: TextFSM templates, found through an ntc-templates style ``index``, turn
command output into records, as netmiko's ``use_textfsm=True`` does.

``netrig.parse(text, platform, command, *, templates=None)`` -> ``list[dict]`` parses text
from anywhere (a file, another library); ``Output.parse()`` and
``Device.send_command(..., parse=True)`` parse a command's output with the template for its
command and the device's platform. Record keys are the template's Value names in lower case;
values are ``str`` or (List values) ``list[str]``. Output the template does not recognise
gives ``[]``.

The templates directory is the ``templates`` argument (or ``Device(templates=...)``), else the
``NETRIG_TEMPLATES`` environment variable, else the templates of an installed
``ntc_templates`` package, else ``NotFoundError``. No template for the platform and command is
``NotFoundError`` naming both and the index; a broken template is ``InvalidArgError`` naming
its file and line. The library parses (Rust, TextFSM engine textfsm-rust) and keeps compiled
templates per directory for the process.
"""

from __future__ import annotations

import ctypes
import json
import os
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Dict, List, Optional, Union

from . import ffi
from .errors import NotFoundError, check
from .ffi import lib

PathLike = Union[str, "os.PathLike[str]"]
Record = Dict[str, Any]


def templates_dir(templates: Optional[PathLike] = None) -> str:
    """The directory parsing uses: `templates`, else ``NETRIG_TEMPLATES``, else an installed
    ``ntc_templates`` package's templates folder; ``NotFoundError`` when there is none."""
    if templates is not None and os.fspath(templates) != "":
        return os.fspath(templates)
    env = os.environ.get("NETRIG_TEMPLATES")
    if env:
        return env
    try:
        import ntc_templates  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        raise NotFoundError(
            "no templates directory: pass templates=..., set NETRIG_TEMPLATES to a directory with an "
            "ntc-templates style 'index', or pip install ntc_templates"
        ) from None
    return os.path.join(os.path.dirname(os.path.abspath(ntc_templates.__file__)), "templates")


def _records(out: ffi.netrig_output) -> List[Record]:
    try:
        ptr, n = c_void_p(), c_size_t()
        check(lib.netrig_output_text(out, byref(ptr), byref(n)))
        text = ctypes.string_at(ptr.value, n.value).decode("utf-8")
    finally:
        lib.netrig_output_free(out)
    records: List[Record] = json.loads(text)
    return records


def _arg(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} contains a NUL character")
    return value.encode("utf-8", errors="surrogateescape")


def parse(text: str, platform: str, command: str, *, templates: Optional[PathLike] = None) -> List[Record]:
    """Parses `text`, the output of `command` on a device of `platform` (netrig's platform
    name, which is ntc-templates' name: "cisco_ios", "arista_eos", ...), with the template the
    index names for them; abbreviations work as in the index ("sh ip int br")."""
    out = ffi.netrig_output()
    check(
        lib.netrig_parse(
            _arg(text, "text"),
            _arg(platform, "platform"),
            _arg(command, "command"),
            templates_dir(templates).encode(),
            byref(out),
        )
    )
    return _records(out)


def parse_template(text: str, template: PathLike) -> List[Record]:
    """Parses `text` with the TextFSM template file `template` itself, no index (netmiko's
    ``textfsm_template=``). ``NotFoundError`` for a missing file, ``InvalidArgError`` naming
    the file and line for one that does not compile."""
    out = ffi.netrig_output()
    check(lib.netrig_parse_template(_arg(text, "text"), _arg(os.fspath(template), "template"), byref(out)))
    return _records(out)
