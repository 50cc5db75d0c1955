"""SSH sessions to devices under test: ``Device``.

::

    with netrig.Device("10.0.0.5", username="admin", password="admin", secret="enablepass",
                       platform="cisco_ios", fingerprint="SHA256:...") as dev:
        out = dev.send_command("show version")
        print(out)                     # an Output is the text itself (a str) ...
        print(out.elapsed)             # ... with the seconds the operation took
        dev.send_config_set(["interface Gi0/1", "description uplink"])

Results:

* CLI operations (``send_command``, ``send_command_timing``, ``send_interactive``,
  ``send_config_set``, ``save_config``) return an ``Output``: a ``str`` holding the device's
  answer (echo, trailing prompt and ANSI escapes removed, ``\\n`` line endings), with
  ``.text`` (the same text as a plain ``str``), ``.elapsed`` (seconds, including any wait
  for another operation on the device), ``.command``, ``.platform``, ``.failed`` and
  ``.error``. An answer with a line that matches the device's error patterns raises
  ``CommandError`` with that Output in ``.output``, unless the call says ``check=False``.
* ``exec`` returns an ``ExecResult`` with ``stdout`` and ``stderr`` (``bytes``, as received),
  ``exit_status`` (-1 when the server sent none; a non-zero status is not an error) and
  ``elapsed``.
* ``put_file`` / ``get_file`` return the number of bytes transferred.

Times are seconds (floats), like the rest of Python: ``timeout=None`` means the device's
default operation timeout (``Device(timeout=...)``, 30 s unless set). Every deadline is
enforced inside the library's read loop; a ``NetrigTimeoutError`` (a ``TimeoutError``) ends
with the last bytes the device sent.

Threads: a ``Device`` may be shared by any number of Python threads. The library runs one
operation at a time per device; another caller waits up to its own timeout, or gets
``BusyError`` at once from ``try_send_command``. Every blocking call releases the GIL, so other
threads keep running, and ``cancel()`` from another thread stops the running operation within
100 ms (it raises ``CancelledError``). Ctrl-C on the main thread cancels the running operation
the same way and raises ``KeyboardInterrupt`` (the device stays usable); during the open it
raises at once and the session being opened is closed when the open ends.

Failures raise the ``netrig.NetrigError`` subclass of their status, with the library's message
(which names the device, ``"device 10.0.0.5:22: ..."``).
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from ctypes import byref, c_bool, c_char_p, c_int32, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple, TypedDict, Union, overload

from . import _interrupt, ffi
from ._owned import OwnedHandle
from .errors import ClosedError, CommandError, InvalidArgError, check, error_for

_check_status = check  # the name `check` is also a keyword argument of the send_* methods
from .ffi import lib

__all__ = ["Device", "DeviceOptions", "HostKeyPolicy", "TransferProtocol", "Output", "ExecResult", "Progress"]

PathLike = Union[str, "os.PathLike[str]"]

HostKeyPolicy = Literal["strict", "pinned", "accept-new", "insecure"]
"""``host_key``: how the server's key is checked (see ``Device``)."""

TransferProtocol = Literal["sftp", "scp"]
"""``protocol`` of ``Device.put_file`` / ``get_file`` and ``Step.put`` / ``get``."""


class _DeviceTarget(TypedDict):
    host: str
    username: str


class DeviceOptions(_DeviceTarget, total=False):
    """A device as a dict: the keyword options of ``Device`` with its ``host`` (and ``port``),
    as ``Runner`` targets and ``Pool.prewarm`` take them. ``host`` and ``username`` are
    required, every other key is optional with ``Device``'s default. For mypy and IDEs; at run
    time any mapping with these keys does, and an unknown key raises ``TypeError``."""

    port: int
    password: Optional[str]
    private_key_file: Optional[PathLike]
    private_key: Optional[Union[str, bytes]]
    passphrase: Optional[str]
    use_agent: bool
    secret: Optional[str]
    platform: Optional[str]
    host_key: Optional[HostKeyPolicy]
    known_hosts: Optional[PathLike]
    fingerprint: Optional[str]
    connect_timeout: float
    auth_timeout: float
    timeout: float
    keepalive: Optional[float]
    prompt_pattern: Optional[str]
    paging_off_command: Optional[str]
    enable_command: Optional[str]
    config_command: Optional[str]
    config_exit_command: Optional[str]
    config_prompt_pattern: Optional[str]
    terminal: Tuple[int, int]
    session_log: Optional[PathLike]
    session_log_timestamps: bool
    platform_file: Optional[PathLike]
    platform_text: Optional[str]
    error_pattern: Optional[str]
    check_errors: bool
    templates: Optional[PathLike]


class Target(DeviceOptions, total=False):
    """A runner target: a device as ``DeviceOptions`` has it, plus the ``name`` that results,
    events and the report call it by (default "host:port") and free-form ``data`` the report
    carries. (``Device`` and ``Pool`` take neither, so ``DeviceOptions`` leaves them out:
    ``Pool.checkout(**options)`` must type-check.)"""

    name: str
    data: Dict[str, Any]


Progress = Callable[[int, int], Optional[bool]]
"""A transfer's progress callback: ``progress(done, total)`` after each chunk. Return ``None``
or ``True`` to go on, ``False`` to cancel the transfer (it then raises ``CancelledError``)."""

_HOST_KEY = {
    "strict": ffi.NETRIG_HOSTKEY_STRICT,
    "pinned": ffi.NETRIG_HOSTKEY_PINNED,
    "accept-new": ffi.NETRIG_HOSTKEY_ACCEPT_NEW,
    "insecure": ffi.NETRIG_HOSTKEY_INSECURE_ACCEPT_ANY,
}

_PROTOCOL = {"sftp": ffi.NETRIG_PROTOCOL_SFTP, "scp": ffi.NETRIG_PROTOCOL_SCP}

_MODE = {ffi.NETRIG_MODE_USER: "user", ffi.NETRIG_MODE_PRIVILEGED: "privileged", ffi.NETRIG_MODE_CONFIG: "config"}

_UINT32_MAX = 0xFFFFFFFF
_NO_PROGRESS = ffi.netrig_progress_fn()  # a NULL function pointer


class Output(str):
    """The text a CLI operation returned, as a ``str``, with ``.elapsed`` (seconds).

    ``.text`` is the same text as a plain ``str`` (str methods on an Output already return
    plain strs). ``.command`` is what was sent (a dialogue's or configuration set's lines
    joined with "\\n"), ``.platform`` the name of the platform that read it. ``.error`` is the
    device's line that matched the error patterns (None when none did) and ``.failed`` says
    whether one did: an Output with ``failed`` True comes from a call made with
    ``check=False`` (or a ``Device(check_errors=False)``), or from ``CommandError.output``.
    """

    elapsed: float
    command: str
    platform: str
    error: Optional[str]

    def __new__(
        cls, text: str = "", elapsed: float = 0.0, command: str = "", platform: str = "", error: Optional[str] = None
    ) -> "Output":
        self = super().__new__(cls, text)
        self.elapsed = elapsed
        self.command = command
        self.platform = platform
        self.error = error
        return self

    @property
    def text(self) -> str:
        return str.__str__(self)

    @property
    def failed(self) -> bool:
        """Whether a line of the output matches the device's error patterns."""
        return self.error is not None

    def __getnewargs__(self) -> tuple:
        return (self.text, self.elapsed, self.command, self.platform, self.error)

    def __reduce__(self) -> tuple:
        return (Output, self.__getnewargs__())

    def __repr__(self) -> str:
        failed = f", error={self.error!r}" if self.error is not None else ""
        return f"Output({str.__repr__(self)}, elapsed={self.elapsed:.3f}, command={self.command!r}{failed})"

    def parse(self, template: Optional[PathLike] = None) -> List[Dict[str, Any]]:
        """The output as TextFSM records (``netrig.parse``), with the template for its
        ``command`` and ``platform``: from the `template` directory if given, else the
        device's ``templates=``, else ``NETRIG_TEMPLATES`` or an installed ntc_templates.
        A `template` that is a file is that template itself (netmiko's ``textfsm_template=``)."""
        from .parse import parse, parse_template

        if template is not None and os.path.isfile(template):
            return parse_template(self.text, template)
        if not self.command or not self.platform:
            raise InvalidArgError("Output.parse: this output carries no command and platform; use netrig.parse")
        return parse(self.text, self.platform, self.command, templates=template or getattr(self, "_templates", None))


def _read_output(out: ffi.netrig_output) -> Output:
    """An Output from a result object, which the caller frees."""
    ptr, n, us, failed = c_void_p(), c_size_t(), c_uint64(), c_bool()

    def text(fn) -> str:
        check(fn(out, byref(ptr), byref(n)))
        return ctypes.string_at(ptr.value, n.value).decode("utf-8", errors="replace") if n.value else ""

    body = text(lib.netrig_output_text)
    check(lib.netrig_output_elapsed_us(out, byref(us)))
    check(lib.netrig_output_failed(out, byref(failed)))
    error = text(lib.netrig_output_failure) if failed.value else None
    return Output(body, us.value / 1e6, text(lib.netrig_output_command), text(lib.netrig_output_platform), error)


def _failed_output() -> Optional[Output]:
    """The output of the command this thread's last call refused (netrig_last_failed_output)."""
    out = ffi.netrig_output()
    if lib.netrig_last_failed_output(byref(out)) != ffi.NETRIG_OK:
        return None
    try:
        return _read_output(out)
    finally:
        lib.netrig_output_free(out)


def _check_arg(check: Optional[bool]) -> int:
    if check is None:
        return ffi.NETRIG_CHECK_DEFAULT
    if not isinstance(check, bool):
        raise TypeError(f"check is a bool or None, not {type(check).__name__}")
    return ffi.NETRIG_CHECK_ON if check else ffi.NETRIG_CHECK_OFF


@dataclass(frozen=True)
class ExecResult:
    """What ``Device.exec`` returns."""

    stdout: bytes
    stderr: bytes
    exit_status: int
    """The command's exit status; -1 when the server sent none."""
    elapsed: float
    """Seconds, including any wait for another operation on the device."""


def _text(value: object, what: str) -> bytes:
    """UTF-8 bytes for a C string argument; refuses what C cannot carry (NUL)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} is a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"{what} {value!r} contains a NUL character")
    return value.encode("utf-8")


def _opt_text(value: object, what: str) -> Optional[bytes]:
    return None if value is None else _text(value, what)


def _ms(seconds: object, what: str, allow_zero: bool = False) -> int:
    """Seconds (int or float) -> whole milliseconds for a uint32_t, rounded up, at least 1."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} is seconds (a number), not {type(seconds).__name__}")
    if allow_zero and seconds == 0:
        return 0
    if not seconds > 0:  # also refuses NaN
        raise ValueError(f"{what} must be > 0 seconds, got {seconds!r}")
    if seconds == math.inf or seconds * 1000 > _UINT32_MAX:
        raise ValueError(f"{what} {seconds!r} s is more than {_UINT32_MAX // 1000} s")
    return max(1, math.ceil(seconds * 1000))


def _op_ms(timeout: Optional[float]) -> int:
    """An operation's timeout_ms: None -> 0, which the library reads as the device's default."""
    return 0 if timeout is None else _ms(timeout, "timeout")


def _str_array(items: Sequence[bytes]) -> ctypes.Array:
    return (c_char_p * max(1, len(items)))(*items)


def device_options(
    host: str,
    port: int = 22,
    *,
    username: str,
    password: Optional[str] = None,
    private_key_file: Optional[PathLike] = None,
    private_key: Optional[Union[str, bytes]] = None,
    passphrase: Optional[str] = None,
    use_agent: bool = False,
    secret: Optional[str] = None,
    platform: Optional[str] = None,
    host_key: Optional[HostKeyPolicy] = None,
    known_hosts: Optional[PathLike] = None,
    fingerprint: Optional[str] = None,
    connect_timeout: float = 10.0,
    auth_timeout: float = 10.0,
    timeout: float = 30.0,
    keepalive: Optional[float] = 30.0,
    prompt_pattern: Optional[str] = None,
    paging_off_command: Optional[str] = None,
    enable_command: Optional[str] = None,
    config_command: Optional[str] = None,
    config_exit_command: Optional[str] = None,
    config_prompt_pattern: Optional[str] = None,
    terminal: Tuple[int, int] = (511, 24),
    session_log: Optional[PathLike] = None,
    session_log_timestamps: bool = False,
    platform_file: Optional[PathLike] = None,
    platform_text: Optional[str] = None,
    error_pattern: Optional[str] = None,
    check_errors: bool = True,
    templates: Optional[PathLike] = None,
) -> Tuple[ffi.netrig_device_options, list[Optional[bytes]]]:
    """Checks ``Device``'s keyword options and builds the C ``netrig_device_options`` for them.
    Returns the struct and the encoded strings it points to: keep the list alive until the C
    call that reads the struct has returned."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"port is an int, not {type(port).__name__}")
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port} is not a TCP port")
    if host_key is None:
        host_key = "pinned" if fingerprint is not None else "strict"
    policy = _HOST_KEY.get(host_key) if isinstance(host_key, str) else None
    if policy is None:
        raise ValueError(f"host_key {host_key!r} is not one of {', '.join(map(repr, _HOST_KEY))}")
    if fingerprint is not None and host_key != "pinned":
        raise ValueError(f"fingerprint is given but host_key is {host_key!r}; use host_key='pinned'")
    if isinstance(private_key, (bytes, bytearray)):
        private_key = bytes(private_key).decode("utf-8")
    try:
        cols, rows = terminal
    except (TypeError, ValueError):
        raise TypeError(f"terminal is (columns, rows), not {terminal!r}") from None
    for n, what in ((cols, "terminal columns"), (rows, "terminal rows")):
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"{what} is an int, not {type(n).__name__}")
        if not 0 <= n <= _UINT32_MAX:
            raise ValueError(f"{what} {n} does not fit in uint32")

    o = ffi.netrig_device_options()
    check(lib.netrig_device_options_default(byref(o), ctypes.sizeof(o)))
    # The encoded strings must outlive the open call: `keep` holds them until it returns.
    keep: list[Optional[bytes]] = []

    def s(value: object, what: str) -> Optional[bytes]:
        b = _opt_text(value, what)
        keep.append(b)
        return b

    o.host = s(host, "host")
    o.port = port
    o.username = s(username, "username")
    o.password = s(password, "password")
    o.private_key_file = s(private_key_file, "private_key_file")
    o.private_key = s(private_key, "private_key")
    o.passphrase = s(passphrase, "passphrase")
    o.use_agent = 1 if use_agent else 0
    o.secret = s(secret, "secret")
    o.host_key_policy = policy
    o.known_hosts = s(known_hosts, "known_hosts")
    o.host_key_fingerprint = s(fingerprint, "fingerprint")
    o.connect_timeout_ms = _ms(connect_timeout, "connect_timeout")
    o.auth_timeout_ms = _ms(auth_timeout, "auth_timeout")
    o.timeout_ms = _ms(timeout, "timeout")
    o.keepalive_ms = 0 if keepalive is None else _ms(keepalive, "keepalive", allow_zero=True)
    if platform is None and platform_file is None and platform_text is None:
        # No silent default: a wrong guess times out on the device's prompt instead of saying why.
        raise InvalidArgError(
            "platform is required: a built-in platform (" + ", ".join(ffi.platforms()) + "), a netmiko "
            'device_type name, "autodetect" (told from the prompt and show version at open), '
            'platform_file= or platform_text=, or platform="generic" with prompt_pattern=',
            ffi.NETRIG_E_INVALID_ARG,
        )
    o.platform = s(platform, "platform")
    o.prompt_pattern = s(prompt_pattern, "prompt_pattern")
    o.paging_off_command = s(paging_off_command, "paging_off_command")
    o.enable_command = s(enable_command, "enable_command")
    o.config_command = s(config_command, "config_command")
    o.config_exit_command = s(config_exit_command, "config_exit_command")
    o.config_prompt_pattern = s(config_prompt_pattern, "config_prompt_pattern")
    o.term_cols, o.term_rows = cols, rows
    o.session_log = s(session_log, "session_log")
    # Each chunk in the session log starts "[<UTC time> <<] " (received) or ">>" (sent).
    o.session_log_timestamps = 1 if session_log_timestamps else 0
    # A platform file (PLATFORMS.md) or its text; the prompt_pattern and other generic options
    # above change it, as they change a built-in platform.
    o.platform_file = s(platform_file, "platform_file")
    o.platform_text = s(platform_text, "platform_text")
    o.error_pattern = s(error_pattern, "error_pattern")
    # Whether a refused command raises CommandError (a call's check= overrides it).
    if not isinstance(check_errors, bool):
        raise TypeError(f"check_errors is a bool, not {type(check_errors).__name__}")
    o.check_errors = 1 if check_errors else 0
    # Runner command steps with parse=True use it; Python's Output.parse passes its own.
    o.templates = s(templates, "templates")
    return o, keep



class Device(OwnedHandle):
    """An open SSH session to a device under test (see the module docs).

    ``Device(host, port=22, *, username, password=None, private_key_file=None,
    private_key=None, passphrase=None, use_agent=False, secret=None, platform=None,
    host_key=None, known_hosts=None, fingerprint=None, connect_timeout=10.0,
    auth_timeout=10.0, timeout=30.0, keepalive=30.0, prompt_pattern=None,
    paging_off_command=None, enable_command=None, config_command=None,
    config_exit_command=None, config_prompt_pattern=None, terminal=(511, 24),
    session_log=None, session_log_timestamps=False, platform_file=None, platform_text=None,
    error_pattern=None, check_errors=True, templates=None)`` connects, checks the host key, authenticates, finds the prompt, turns
    paging off and, when ``secret`` is given, enters privileged mode.

    * Credentials: ``private_key_file`` (a path) or ``private_key`` (PEM/OpenSSH text) with an
      optional ``passphrase``, else the SSH agent when ``use_agent``, else ``password``.
    * ``platform`` (required, there is no default): a built-in platform (``netrig.platforms()``
      lists them; netmiko device_type names work too); "autodetect", told at open from the
      prompt and ``show version``-like commands (``Device.platform`` names the one found); or
      "generic" with ``prompt_pattern`` (a regex matching the whole prompt line).
      ``platform_file`` (a path) or ``platform_text`` load a platform file (PLATFORMS.md in the
      repository) instead. ``prompt_pattern``,
      ``paging_off_command``, ``enable_command``, the three ``config_*`` settings (together)
      and ``error_pattern`` (a regex for a line of output that means the device refused the
      command) change any platform.
    * ``check_errors``: whether a command whose output has a line matching the error patterns
      raises ``CommandError`` (default True); each call's ``check=`` overrides it.
    * ``templates``: the TextFSM templates directory (an ntc-templates style ``index``) for
      ``send_command(..., parse=True)`` and ``Output.parse()`` (see ``netrig.parse``).
    * ``host_key``: "strict" (the key must be in ``known_hosts``, default ~/.ssh/known_hosts),
      "pinned" (its SHA-256 fingerprint must equal ``fingerprint``, "SHA256:..."),
      "accept-new" (record an unknown host in ``known_hosts``, refuse a changed key) or
      "insecure" (trust any key; throw-away labs only). The default is "pinned" when a
      ``fingerprint`` is given, else "strict".
    * Times are seconds: ``connect_timeout`` (TCP + SSH handshake), ``auth_timeout``,
      ``timeout`` (each operation's default deadline; it also bounds the session preparation),
      ``keepalive`` (interval while an operation waits; 0 or None for none).
    * ``terminal``: the PTY size, (columns, rows). ``session_log``: a file the transcript is
      appended to, with passwords and secrets redacted; ``session_log_timestamps=True`` starts
      each chunk with its UTC time and direction (``[...Z <<]`` received, ``>>`` sent).

    Open failures: ``ConnectError``, ``NetrigTimeoutError``, ``HostKeyError``, ``AuthError``
    (also a refused enable secret), ``InvalidArgError`` (a ``ValueError``) for bad options.

    ``close()`` (also at the end of a ``with`` block) cancels an operation running in another
    thread, disconnects and frees the session; later calls raise ``ClosedError``.
    """

    _free = staticmethod(lib.netrig_device_free)

    def __init__(
        self,
        host: str,
        port: int = 22,
        *,
        username: str,
        password: Optional[str] = None,
        private_key_file: Optional[PathLike] = None,
        private_key: Optional[Union[str, bytes]] = None,
        passphrase: Optional[str] = None,
        use_agent: bool = False,
        secret: Optional[str] = None,
        platform: Optional[str] = None,
        host_key: Optional[HostKeyPolicy] = None,
        known_hosts: Optional[PathLike] = None,
        fingerprint: Optional[str] = None,
        connect_timeout: float = 10.0,
        auth_timeout: float = 10.0,
        timeout: float = 30.0,
        keepalive: Optional[float] = 30.0,
        prompt_pattern: Optional[str] = None,
        paging_off_command: Optional[str] = None,
        enable_command: Optional[str] = None,
        config_command: Optional[str] = None,
        config_exit_command: Optional[str] = None,
        config_prompt_pattern: Optional[str] = None,
        terminal: Tuple[int, int] = (511, 24),
        session_log: Optional[PathLike] = None,
        session_log_timestamps: bool = False,
        platform_file: Optional[PathLike] = None,
        platform_text: Optional[str] = None,
        error_pattern: Optional[str] = None,
        check_errors: bool = True,
        templates: Optional[PathLike] = None,
    ) -> None:
        # The options are spelled out (and kept equal to device_options' and DeviceOptions' by
        # python/tests/test_typing.py) so that mypy and IDEs see them.
        self._handle: Optional[ffi.netrig_device] = None
        self._close_lock = threading.Lock()
        self._templates: Optional[PathLike] = None
        self.host, self.port = host, port
        o, keep = device_options(
            host,
            port,
            username=username,
            password=password,
            private_key_file=private_key_file,
            private_key=private_key,
            passphrase=passphrase,
            use_agent=use_agent,
            secret=secret,
            platform=platform,
            host_key=host_key,
            known_hosts=known_hosts,
            fingerprint=fingerprint,
            connect_timeout=connect_timeout,
            auth_timeout=auth_timeout,
            timeout=timeout,
            keepalive=keepalive,
            prompt_pattern=prompt_pattern,
            paging_off_command=paging_off_command,
            enable_command=enable_command,
            config_command=config_command,
            config_exit_command=config_exit_command,
            config_prompt_pattern=config_prompt_pattern,
            terminal=terminal,
            session_log=session_log,
            session_log_timestamps=session_log_timestamps,
            platform_file=platform_file,
            platform_text=platform_text,
            error_pattern=error_pattern,
            check_errors=check_errors,
            templates=templates,
        )
        self._templates = templates
        handle = ffi.netrig_device()

        def open_it(keep: list = keep) -> Tuple[int, str]:
            # `keep` (the strings `o` points to) lives as long as this function: on Ctrl-C the
            # open goes on in a helper thread (see _interrupt.call) and still reads them.
            status = lib.netrig_device_open(byref(o), byref(handle))
            return status, ffi.last_error() if status else ""

        status, text = _interrupt.call(open_it, lambda r: r[0] or lib.netrig_device_free(handle))
        if status:
            raise error_for(status, text)
        self._handle = handle

    @classmethod
    def _adopt(cls, handle: ffi.netrig_device, host: str, port: int) -> "Device":
        """Wraps a handle the library returned (a pool lease) without opening anything."""
        self = cls.__new__(cls)
        self._close_lock = threading.Lock()
        self._templates = None
        self.host, self.port = host, port
        self._handle = handle
        return self

    # -- lifetime -----------------------------------------------------------------------------

    @property
    def handle(self) -> ffi.netrig_device:
        """The raw ``netrig_device`` handle, for calling ``netrig.ffi.lib`` directly."""
        handle = self._handle
        if handle is None:
            raise ClosedError(f"{self._name()}: this netrig Device is closed")
        return handle

    def close(self) -> None:
        """Disconnects and frees the session. An operation running in another thread is
        cancelled (it raises ``CancelledError``); this call never waits for it. Idempotent."""
        super().close()

    def cancel(self) -> None:
        """Cancels the operation running on the device, from any thread: it raises
        ``CancelledError`` within 100 ms and the device stays usable. Nothing happens when no
        operation is running (or the device is closed); the next operation is not affected."""
        handle = self._handle
        if handle is not None:
            lib.netrig_device_cancel(handle)

    @property
    def platform(self) -> str:
        """The name of the platform the device is driven with: the one named, or the one
        detected at open with ``platform="autodetect"``."""
        handle = self.handle
        n = c_size_t()
        buf = ctypes.create_string_buffer(64)
        status = lib.netrig_device_platform(handle, buf, len(buf), byref(n))
        if status == ffi.NETRIG_E_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(n.value + 1)
            status = lib.netrig_device_platform(handle, buf, len(buf), byref(n))
        self._check(status)
        return buf.raw[: n.value].decode("utf-8")

    def _name(self) -> str:
        return f"device {self.__dict__.get('host')}:{self.__dict__.get('port')}"

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else "open"
        return f"<netrig.Device {self.__dict__.get('host')}:{self.__dict__.get('port')} {state}>"

    # -- plumbing -----------------------------------------------------------------------------

    def _check(self, status: int, returns_output: bool = False) -> None:
        if status:
            if status == ffi.NETRIG_E_INVALID_HANDLE and self._handle is None:
                # Another thread closed the device between our handle read and the call.
                raise ClosedError(f"{self._name()}: this netrig Device is closed")
            error = error_for(status, ffi.last_error())
            if returns_output and isinstance(error, CommandError):
                # The refused command's output, which this call's failure left for this thread.
                error.output = _failed_output()
            raise error

    def _call(self, fn, *args) -> int:
        """``fn(handle, *args)``, a blocking device call; Ctrl-C on the main thread cancels it
        (see _interrupt)."""
        handle = self.handle
        previous = _interrupt.watch(lib.netrig_device_cancel, handle)
        try:
            return fn(handle, *args)
        finally:
            _interrupt.unwatch(previous)

    def _output(self, fn, *args) -> Output:
        out = ffi.netrig_output()
        self._check(self._call(fn, *args, byref(out)), returns_output=True)
        try:
            return _read_output(out)
        finally:
            lib.netrig_output_free(out)

    @staticmethod
    def _options(
        timeout: Optional[float],
        check: Optional[bool],
        error_pattern: Optional[str],
        expect: Optional[str] = None,
        quiet: Optional[float] = None,
    ) -> Tuple[ffi.netrig_command_options, list]:
        """A call's netrig_command_options and the encoded strings it points to (keep them
        alive until the call returns)."""
        o = ffi.netrig_command_options()
        _check_status(lib.netrig_command_options_default(byref(o), ctypes.sizeof(o)))
        keep = [_opt_text(expect, "expect"), _opt_text(error_pattern, "error_pattern")]
        o.timeout_ms = _op_ms(timeout)
        o.expect, o.error_pattern = keep
        o.quiet_ms = 0 if quiet is None else _ms(quiet, "quiet")
        o.check = _check_arg(check)
        return o, keep

    # -- CLI operations -----------------------------------------------------------------------

    @overload
    def send_command(
        self,
        command: str,
        timeout: Optional[float] = None,
        expect: Optional[str] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
        parse: Literal[False] = False,
    ) -> Output: ...

    @overload
    def send_command(
        self,
        command: str,
        timeout: Optional[float] = None,
        expect: Optional[str] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
        parse: Literal[True],
    ) -> List[Dict[str, Any]]: ...

    def send_command(
        self,
        command: str,
        timeout: Optional[float] = None,
        expect: Optional[str] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
        parse: bool = False,
    ) -> Union[Output, List[Dict[str, Any]]]:
        """Sends `command` and reads until the prompt returns, or, with `expect` (a regex
        matched on the newest output), until that matches: for commands that end in a
        question. When a line of the output matches the device's error patterns ("% Invalid
        input", "syntax error": the platform's, or ``Device(error_pattern=...)``) it raises
        ``CommandError``, naming the command and quoting the line, with the whole answer in
        ``.output`` (``failed`` True). ``check=False`` returns that output instead (look at
        ``.failed``); ``check=True`` raises even on a ``Device(check_errors=False)``;
        `error_pattern` (a regex, case-insensitive, matched on each line) replaces the
        patterns for this call. Also raises ``NetrigTimeoutError`` (message ends with the last
        bytes received), ``CancelledError``, ``ClosedError``; ``InvalidArgError`` for a bad
        pattern. ``parse=True`` returns the output's TextFSM records (``Output.parse()``, with
        ``Device(templates=...)``) instead of the Output."""
        cmd = _text(command, "command")
        if check is None and error_pattern is None:
            if expect is None:
                out = self._output(lib.netrig_device_send_command, cmd, _op_ms(timeout))
            else:
                out = self._output(
                    lib.netrig_device_send_command_expect, cmd, _text(expect, "expect"), _op_ms(timeout)
                )
        else:
            o, keep = self._options(timeout, check, error_pattern, expect=expect)
            out = self._output(lib.netrig_device_send_command_with, cmd, byref(o))
            del keep
        return out.parse(self._templates) if parse else out

    def try_send_command(self, command: str, timeout: Optional[float] = None) -> Output:
        """Like ``send_command``, but raises ``BusyError`` at once when another operation is
        running on the device instead of waiting for it."""
        return self._output(lib.netrig_device_try_send_command, _text(command, "command"), _op_ms(timeout))

    def send_command_timing(
        self,
        command: str,
        quiet: float = 0.5,
        timeout: Optional[float] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
    ) -> Output:
        """Sends `command` and reads until the device has sent nothing for `quiet` seconds
        (for output that ends without a prompt). ``NetrigTimeoutError`` if the output never
        pauses that long before the timeout. Output that arrives after the quiet period is not
        part of the result; choose `quiet` longer than the device's pauses. The output is
        checked as ``send_command``'s (`check`, `error_pattern`)."""
        quiet_ms = _ms(quiet, "quiet")
        cmd = _text(command, "command")
        if check is None and error_pattern is None:
            return self._output(lib.netrig_device_send_command_timing, cmd, quiet_ms, _op_ms(timeout))
        o, keep = self._options(timeout, check, error_pattern, quiet=quiet)
        out = self._output(lib.netrig_device_send_command_with, cmd, byref(o))
        del keep
        return out

    def send_interactive(
        self,
        steps: Iterable[Tuple[str, Optional[str]]],
        timeout: Optional[float] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
    ) -> Output:
        """Answers a dialogue: for each ``(send, expect)`` sends `send` and a newline, then
        reads until the regex `expect` matches, or until the prompt when `expect` is "" or
        None. `timeout` bounds the whole dialogue. Returns the whole transcript. Each step's
        answer is checked as ``send_command``'s output (`check`, `error_pattern`); a
        ``CommandError`` names the step."""
        sends, expects = [], []
        for i, step in enumerate(steps):
            try:
                send, expect = step
            except (TypeError, ValueError):
                raise TypeError(f"steps[{i}] is a (send, expect) pair, not {step!r}") from None
            sends.append(_text(send, f"steps[{i}] send"))
            expects.append(_text("" if expect is None else expect, f"steps[{i}] expect"))
        if check is None and error_pattern is None:
            return self._output(
                lib.netrig_device_send_interactive, _str_array(sends), _str_array(expects), len(sends), _op_ms(timeout)
            )
        o, keep = self._options(timeout, check, error_pattern)
        out = self._output(
            lib.netrig_device_send_interactive_with, _str_array(sends), _str_array(expects), len(sends), byref(o)
        )
        del keep
        return out

    def send_config_set(
        self,
        lines: Union[str, Iterable[str]],
        exit: bool = True,
        commit: bool = False,
        commit_check: bool = False,
        timeout: Optional[float] = None,
        *,
        check: Optional[bool] = None,
        error_pattern: Optional[str] = None,
    ) -> Output:
        """Enters configuration mode, sends `lines` (a str is one line) and checks each line's
        answer. The first rejected line raises ``CommandError`` naming it ("config line 2
        'bogus'") and quoting the device, with the transcript so far in ``.output``;
        ``check=False`` sends every line and returns the transcript with ``.failed`` set and
        ``.error`` the first rejected line's answer. `error_pattern` replaces the patterns.
        `commit` / `commit_check` run ``commit`` / ``commit check`` after the lines
        (Junos-style platforms; ``InvalidArgError`` elsewhere). Configuration mode is left at
        the end, also after an error, unless `exit` is False. `timeout` bounds the whole set.
        Returns each line followed by its output."""
        if isinstance(lines, str):
            lines = [lines]
        encoded = [_text(line, f"config line {i + 1}") for i, line in enumerate(lines)]
        flags = (0 if exit else ffi.NETRIG_CONFIG_STAY) | (ffi.NETRIG_CONFIG_COMMIT if commit else 0)
        flags |= ffi.NETRIG_CONFIG_COMMIT_CHECK if commit_check else 0
        if check is None and error_pattern is None:
            return self._output(
                lib.netrig_device_send_config_set, _str_array(encoded), len(encoded), flags, _op_ms(timeout)
            )
        o, keep = self._options(timeout, check, error_pattern)
        out = self._output(lib.netrig_device_send_config_set_with, _str_array(encoded), len(encoded), flags, byref(o))
        del keep
        return out

    def save_config(self, timeout: Optional[float] = None) -> Output:
        """Saves the running configuration (``write memory``, ``copy running-config
        startup-config`` or a Junos ``commit``), answering its questions. ``CommandError`` if
        the device reports an error, ``InvalidArgError`` on a platform with no save command."""
        return self._output(lib.netrig_device_save_config, _op_ms(timeout))

    def enable(self, timeout: Optional[float] = None) -> None:
        """Enters privileged mode with the ``secret`` given at open (nothing to do when already
        there). ``AuthError`` when the secret is refused or none was given."""
        self._check(self._call(lib.netrig_device_enable, _op_ms(timeout)))

    def exit_enable(self, timeout: Optional[float] = None) -> None:
        """Leaves privileged mode (and configuration mode first, if needed)."""
        self._check(self._call(lib.netrig_device_exit_enable, _op_ms(timeout)))

    def config_mode(self, timeout: Optional[float] = None) -> None:
        """Enters configuration mode (and privileged mode first, if needed)."""
        self._check(self._call(lib.netrig_device_config_mode, _op_ms(timeout)))

    def exit_config_mode(self, timeout: Optional[float] = None) -> None:
        """Leaves configuration mode from any sub-mode (nothing to do when not in it)."""
        self._check(self._call(lib.netrig_device_exit_config_mode, _op_ms(timeout)))

    def is_alive(self, timeout: Optional[float] = None) -> bool:
        """A real round trip (RETURN, then the prompt): False when the prompt does not come
        back within `timeout`, or the session (or this Device) is closed. Raises
        ``NetrigTimeoutError`` only when another operation held the device until the deadline."""
        handle = self._handle
        if handle is None:
            return False
        alive = c_bool()
        previous = _interrupt.watch(lib.netrig_device_cancel, handle)
        try:
            status = lib.netrig_device_is_alive(handle, _op_ms(timeout), byref(alive))
        finally:
            _interrupt.unwatch(previous)
        if status == ffi.NETRIG_E_INVALID_HANDLE and self._handle is None:
            return False
        self._check(status)
        return alive.value

    def find_prompt(self, timeout: Optional[float] = None) -> str:
        """The prompt the device showed last ("R1#", trimmed): every operation ends on one, so
        this is where the CLI is now. Nothing is sent; it waits (up to `timeout`) for an
        operation running in another thread to end."""
        return self._prompt(timeout)[0]

    def mode(self, timeout: Optional[float] = None) -> Literal["user", "privileged", "config"]:
        """The CLI mode the last prompt means, by the platform's prompt patterns: "user",
        "privileged" (also on platforms with no user mode) or "config" (any sub-mode)."""
        return self._prompt(timeout)[1]

    def _prompt(self, timeout: Optional[float]) -> Tuple[str, Any]:
        size, mode = c_size_t(), ctypes.c_uint32()
        buf = ctypes.create_string_buffer(64)
        status = lib.netrig_device_prompt(self.handle, _op_ms(timeout), buf, len(buf), byref(size), byref(mode))
        if status == ffi.NETRIG_E_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(size.value + 1)
            status = lib.netrig_device_prompt(self.handle, _op_ms(timeout), buf, len(buf), byref(size), byref(mode))
        self._check(status)
        return buf.raw[: size.value].decode("utf-8", errors="replace"), _MODE[mode.value]

    # -- exec and files -----------------------------------------------------------------------

    def exec(self, command: str, timeout: Optional[float] = None) -> ExecResult:
        """Runs `command` on its own channel without a PTY (Linux targets) and returns its
        stdout, stderr and exit status apart. A non-zero exit status is not an error."""
        out = ffi.netrig_output()
        self._check(self._call(lib.netrig_device_exec, _text(command, "command"), _op_ms(timeout), byref(out)))
        try:
            ptr, n = c_void_p(), c_size_t()
            check(lib.netrig_output_text(out, byref(ptr), byref(n)))
            stdout = ctypes.string_at(ptr.value, n.value) if n.value else b""
            check(lib.netrig_output_stderr(out, byref(ptr), byref(n)))
            stderr = ctypes.string_at(ptr.value, n.value) if n.value else b""
            status, us = c_int32(), c_uint64()
            check(lib.netrig_output_exit_status(out, byref(status)))
            check(lib.netrig_output_elapsed_us(out, byref(us)))
        finally:
            lib.netrig_output_free(out)
        return ExecResult(stdout, stderr, status.value, us.value / 1e6)

    def put_file(
        self,
        local: PathLike,
        remote: str,
        protocol: TransferProtocol = "sftp",
        progress: Optional[Progress] = None,
        timeout: Optional[float] = None,
    ) -> int:
        """Copies the local file `local` to `remote` on the device over "sftp" or "scp" and
        returns the bytes sent. At the end the remote size is checked against the local one.
        ``NetrigIOError`` (an ``OSError``) for a missing local file, a refused remote path or
        a size mismatch. `progress(done, total)` is called after each chunk on this thread;
        it returns None/True to go on or False to cancel (``CancelledError``); an exception it
        raises cancels the transfer and is re-raised here. `timeout` bounds the transfer."""
        return self._transfer(
            lib.netrig_device_put_file, _text(local, "local"), _text(remote, "remote"), protocol, progress, timeout
        )

    def get_file(
        self,
        remote: str,
        local: PathLike,
        protocol: TransferProtocol = "sftp",
        progress: Optional[Progress] = None,
        timeout: Optional[float] = None,
    ) -> int:
        """Copies `remote` on the device to the local file `local` and returns the bytes
        received. The data goes to ``<local>.part``, renamed to `local` only when the size
        matches; after any failure neither file exists. `protocol`, `progress`, `timeout` and
        the errors as for ``put_file``."""
        return self._transfer(
            lib.netrig_device_get_file, _text(remote, "remote"), _text(local, "local"), protocol, progress, timeout
        )

    def _transfer(
        self, fn, src: bytes, dst: bytes, protocol: str, progress: Optional[Progress], timeout: Optional[float]
    ) -> int:
        proto = _PROTOCOL.get(protocol) if isinstance(protocol, str) else None
        if proto is None:
            raise ValueError(f"protocol {protocol!r} is not 'sftp' or 'scp'")
        if progress is not None and not callable(progress):
            raise TypeError(f"progress is a callable(done, total), not {type(progress).__name__}")
        raised: list = []

        def report(_user_data, done: int, total: int) -> bool:
            # Runs on this thread, inside the C call, with the GIL. Nothing may escape into C:
            # ctypes would print the exception and return False without saying why.
            try:
                go_on = progress(done, total)
                return go_on is None or bool(go_on)
            except BaseException as e:  # noqa: BLE001 - re-raised after the call returns
                raised.append(e)
                return False

        # The thunk must stay alive for the whole call: `thunk` is referenced until we return.
        thunk = ffi.netrig_progress_fn(report) if progress is not None else _NO_PROGRESS
        nbytes = c_uint64()
        status = self._call(fn, src, dst, proto, thunk, None, _op_ms(timeout), byref(nbytes))
        del thunk
        if raised:
            raise raised[0]  # the transfer was cancelled because of it (status CANCELLED)
        self._check(status)
        return nbytes.value
