"""Nornir-style YAML inventories (hosts.yaml, groups.yaml, defaults.yaml) as runner targets.

::

    inv = netrig.Inventory.from_files("inventory/hosts.yaml", "inventory/groups.yaml",
                                      "inventory/defaults.yaml")
    core = inv.filter(group="core", site="lab")           # or inv.filter("group=core and not site=lab")
    report = netrig.Runner(core, [netrig.Step.command("show version")]).run()
    for host in report.hosts:
        print(host.name, host.data["site"], host.state)

The library reads the files (the same code as C's ``netrig_job_add_inventory``): each host,
group and the defaults may set Nornir's ``hostname``, ``port``, ``username``, ``password``,
``platform``, ``groups`` and ``data``, and netrig's options under the ``Device`` keyword names
at the top level (``secret``, ``fingerprint``, ``timeout``, ...; ``keepalive: 0`` for none).
A value comes from the host, else its groups in order (each before its own groups), else the
defaults; ``data`` merges key by key the same way. ``${env:NAME}`` in a string is replaced by
that environment variable. A bad file raises ``InvalidArgError`` naming the file, line and key.

Filters: ``name=`` (a glob), ``group=`` (membership, also inherited) and data keys (nested with
``__``: ``rack__row=3``) as keywords, and-ed; a filter string with ``and``/``or``/``not`` and
parentheses (the syntax of ``netrig_job_add_inventory``); or a callable taking a ``Host``.
Keywords and strings are evaluated by the library, so they mean what they mean in C.
"""

from __future__ import annotations

import ctypes
import json
import os
from ctypes import byref, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from . import ffi
from .device import Target, _opt_text, _text
from .errors import check
from .ffi import lib

__all__ = ["Inventory", "Host"]

PathLike = Union[str, "os.PathLike[str]"]
_Files = Tuple[bytes, Optional[bytes], Optional[bytes]]


class Host:
    """One host with everything resolved: ``name``, ``groups`` (its own), ``all_groups`` (also
    those inherited, in resolution order), ``data`` (merged) and the connection options
    (``hostname``, ``port``, ``username``, ``platform``; ``options`` has them all, passwords
    included, under the ``Device`` keyword names)."""

    __slots__ = ("name", "groups", "all_groups", "data", "options")

    def __init__(self, name: str, groups: List[str], all_groups: List[str], data: Dict[str, Any], options: Dict[str, Any]):
        self.name = name
        self.groups = groups
        self.all_groups = all_groups
        self.data = data
        self.options = options

    @property
    def hostname(self) -> str:
        return str(self.options["host"])

    @property
    def port(self) -> int:
        return int(self.options.get("port", 22))

    @property
    def username(self) -> str:
        return str(self.options["username"])

    @property
    def platform(self) -> Optional[str]:
        return self.options.get("platform")

    def target(self) -> Target:
        """The host as a runner target: its options plus ``name`` and ``data``."""
        t: Dict[str, Any] = dict(self.options)
        t["name"] = self.name
        t["data"] = self.data
        return t  # type: ignore[return-value]

    def __repr__(self) -> str:
        # No password or secret.
        return f"<netrig.inventory.Host {self.name} {self.hostname}:{self.port} groups={self.groups}>"


def _load(files: _Files, filter: Optional[str]) -> List[Dict[str, Any]]:
    hosts, groups, defaults = files
    out = ffi.netrig_output()
    check(lib.netrig_inventory_json(hosts, groups, defaults, _opt_text(filter, "filter"), byref(out)))
    try:
        ptr, n = c_void_p(), c_size_t()
        check(lib.netrig_output_text(out, byref(ptr), byref(n)))
        text = ctypes.string_at(ptr.value or 0, n.value).decode("utf-8")
    finally:
        lib.netrig_output_free(out)
    found: List[Dict[str, Any]] = json.loads(text)
    return found


def _quote(key: str, value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise TypeError(f"filter {key}= takes a str, number, bool or None, not {type(value).__name__}")
    if '"' not in text:
        return f'{key}="{text}"'
    if "'" not in text:
        return f"{key}='{text}'"
    raise ValueError(f"filter {key}={text!r}: a value cannot hold both kinds of quotes")


class Inventory:
    """The hosts of an inventory, in the order of hosts.yaml. Iterate it for ``Host`` objects,
    ``len()`` it, look a host up with ``inv["sw1"]`` or ``inv.hosts`` (a dict by name), narrow
    it with ``filter``, and pass it (or a filtered one) as a ``Runner``'s targets."""

    def __init__(self, hosts: List[Host], files: _Files):
        self._hosts = hosts
        self._files = files

    @classmethod
    def from_files(cls, hosts: PathLike, groups: Optional[PathLike] = None, defaults: Optional[PathLike] = None) -> "Inventory":
        files = (_text(hosts, "hosts"), _opt_text(groups, "groups"), _opt_text(defaults, "defaults"))
        found = [
            Host(h["name"], h["groups"], h["all_groups"], h["data"], h["options"]) for h in _load(files, None)
        ]
        return cls(found, files)

    @property
    def hosts(self) -> Dict[str, Host]:
        return {h.name: h for h in self._hosts}

    def __iter__(self) -> Iterator[Host]:
        return iter(self._hosts)

    def __len__(self) -> int:
        return len(self._hosts)

    def __getitem__(self, name: str) -> Host:
        for h in self._hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(h.name == name for h in self._hosts)

    def filter(
        self,
        expression: Union[str, Callable[[Host], bool], None] = None,
        /,
        *,
        name: Optional[str] = None,
        group: Optional[str] = None,
        **data: Any,
    ) -> "Inventory":
        """The hosts that match everything given: `expression` (a filter string such as
        ``"group=core and not site=lab"``, or a callable taking a ``Host``), `name` (a glob),
        `group` (membership, also inherited) and data keys (``site="lab"``, nested with
        ``__``: ``rack__row=3``; a list matches when one of its items does)."""
        terms = []
        if name is not None:
            terms.append(_quote("name", name))
        if group is not None:
            terms.append(_quote("group", group))
        terms += [_quote(k if k not in ("name", "group") else f"data.{k}", v) for k, v in data.items()]
        predicate: Optional[Callable[[Host], bool]] = None
        if isinstance(expression, str):
            # Alone it goes as written, so that an error's position is the caller's.
            terms.append(f"({expression})" if terms else expression)
        elif expression is not None:
            if not callable(expression):
                raise TypeError(f"a filter is a str or a callable(Host), not {type(expression).__name__}")
            predicate = expression
        keep = self._hosts
        if terms:
            names = {h["name"] for h in _load(self._files, " and ".join(terms))}
            keep = [h for h in keep if h.name in names]
        if predicate is not None:
            keep = [h for h in keep if predicate(h)]
        return Inventory(keep, self._files)

    def targets(self) -> List[Target]:
        """The hosts as runner targets (``Host.target``)."""
        return [h.target() for h in self._hosts]

    def __repr__(self) -> str:
        return f"<netrig.Inventory {len(self._hosts)} hosts>"
