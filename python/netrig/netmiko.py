"""netmiko's API over ``netrig.Device``: existing netmiko scripts run with one line changed.

::

    from netrig.netmiko import ConnectHandler      # was: from netmiko import ConnectHandler

    with ConnectHandler(device_type="cisco_ios", host="10.0.0.5", username="admin",
                        password="admin", secret="enablepass") as conn:
        print(conn.find_prompt())
        print(conn.send_command("show ip interface brief", use_textfsm=True))
        conn.send_config_set(["interface Gi0/1", "description uplink"])
        conn.save_config()

What behaves as in netmiko, because scripts depend on it:

* ``send_command`` returns the device's text even when the device printed an error (``% Invalid
  input``): it does not raise. ``read_timeout`` (10 s) bounds the read; past it ``ReadTimeout``.
  ``expect_string`` is a regex that ends the read instead of the prompt. ``strip_prompt=False``
  / ``strip_command=False`` put the trailing prompt / the echoed command back.
* ``use_textfsm=True`` returns ``list[dict]`` (keys in lower case) when an ntc-templates
  template exists for the platform and command and parses something, else the plain text.
  Templates: ``NET_TEXTFSM`` (netmiko's variable), else netrig's own lookup (``NETRIG_TEMPLATES``,
  then an installed ``ntc_templates``). ``textfsm_template=path`` names a template file.
* ``send_config_set`` does not raise on a rejected line unless ``error_pattern`` is given and
  matches (``ConfigInvalidException``), as in netmiko. ``commit()`` (Junos, IOS XR) stays in
  configuration mode unless ``and_quit=True``; a refused commit is a ``ValueError``.
* Exceptions: ``NetmikoTimeoutException`` (the connect failed or timed out),
  ``NetmikoAuthenticationException`` (login refused), ``ReadTimeout`` (a read's deadline
  passed), ``ConfigInvalidException``; the old spellings ``NetMikoTimeoutException`` and
  ``NetMikoAuthenticationException`` too. Each is chained (``__cause__``) to the netrig error.
* ``device_type``: only the platforms netrig has, by netrig's name or by netmiko's
  (``cisco_ios_ssh``, ``juniper``, ...; ``platforms`` lists them); anything else is a
  ``ValueError`` listing them, before connecting. ``_telnet`` / ``_serial`` names still connect
  over SSH (they pick the CLI). ``SSHDetect(device_type="autodetect", ...).autodetect()``
  returns the platform netrig detects (``ConnectHandler(device_type="autodetect")`` detects
  at open; ``.platform`` is then the one found).

Where netrig differs on purpose:

* Host keys are checked. netmiko accepts any key by default; here the key must be in
  ``~/.ssh/known_hosts`` unless ``ConnectHandler`` gets ``known_hosts=path`` (or netmiko's
  ``alt_host_keys=True, alt_key_file=path``), ``fingerprint="SHA256:..."``, or
  ``host_key="accept-new"`` (record a new host's key). The ``NetmikoHostKeyException`` raised
  otherwise says so.
* With a ``secret`` the session starts in privileged mode (``enable()`` then has nothing to do).
* ``session_log`` is a path (netrig redacts passwords and secrets in it); a file object is a
  ``TypeError``.
* ``send_command_timing``'s ``strip_prompt=False`` does not put a prompt back (netrig cannot tell
  whether the output ended at one or at a question).

Other ``ConnectHandler`` keywords of ``netrig.Device`` (``known_hosts``, ``fingerprint``,
``host_key``, ``prompt_pattern``, ``platform_file``, ...) pass through; netmiko's tuning knobs
that mean nothing here (``global_delay_factor``, ``fast_cli``, ``banner_timeout``, ...) are
accepted and ignored; ones netrig cannot honour (``sock``, ``ssh_config_file``, ``pkey``,
``use_ttp``, ``use_genie``) raise rather than silently connecting another way. The connection's
``device`` attribute is the ``netrig.Device`` underneath.
"""

from __future__ import annotations

import atexit
import inspect
import logging
import os
import re
import shutil
import tempfile
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import errors
from .device import Device, Output
from .ffi import platforms as _netrig_platforms

__all__ = [
    "ConnectHandler",
    "Netmiko",
    "SSHDetect",
    "NetrigConnection",
    "platforms",
    "NetmikoBaseException",
    "ConnectionException",
    "NetmikoTimeoutException",
    "NetMikoTimeoutException",
    "NetmikoAuthenticationException",
    "NetMikoAuthenticationException",
    "NetmikoHostKeyException",
    "ConfigInvalidException",
    "ReadException",
    "ReadTimeout",
    "NetmikoParsingException",
]

_log = logging.getLogger("netrig.netmiko")


class NetmikoBaseException(Exception):
    """The base of the facade's exceptions, as netmiko's."""


class ConnectionException(NetmikoBaseException):
    """The session could not be set up (other than a timeout or a refused login)."""


class NetmikoTimeoutException(NetmikoBaseException):
    """The connect failed: no answer, refused, or no prompt within the connect's deadlines."""


class NetmikoAuthenticationException(NetmikoBaseException):
    """The device refused the login."""


class NetmikoHostKeyException(ConnectionException):
    """The device's host key is unknown or changed (netrig checks host keys; netmiko does not
    by default). The message says which ``ConnectHandler`` keyword accepts it."""


class ConfigInvalidException(NetmikoBaseException):
    """``send_config_set(..., error_pattern=...)``: a line's output matched the pattern."""


class ReadException(NetmikoBaseException):
    """A read from the device failed."""


class ReadTimeout(ReadException):
    """The prompt (or ``expect_string``) did not come within ``read_timeout``."""


class NetmikoParsingException(ReadException):
    """``raise_parsing_error=True``: the output could not be parsed into records."""


NetMikoTimeoutException = NetmikoTimeoutException
NetMikoAuthenticationException = NetmikoAuthenticationException

# netmiko device_type -> netrig platform. Kept equal to the `netmiko` lists of
# src/device/platform/builtin/*.toml by python/tests/test_netmiko.py.
_NETMIKO_NAMES: Dict[str, List[str]] = {
    "arista_eos": ["arista_eos", "arista_eos_ssh", "arista_eos_telnet"],
    "aruba_aoscx": ["aruba_aoscx", "aruba_aoscx_ssh"],
    "cisco_asa": ["cisco_asa", "cisco_asa_ssh"],
    "cisco_ios": ["cisco_ios", "cisco_ios_ssh", "cisco_ios_telnet", "cisco_ios_serial"],
    "cisco_nxos": ["cisco_nxos", "cisco_nxos_ssh"],
    "cisco_xe": ["cisco_xe", "cisco_xe_ssh"],
    "cisco_xr": ["cisco_xr", "cisco_xr_ssh", "cisco_xr_telnet"],
    "dell_os10": ["dell_os10", "dell_os10_ssh"],
    "extreme_exos": ["extreme", "extreme_ssh", "extreme_telnet", "extreme_exos", "extreme_exos_ssh", "extreme_exos_telnet"],
    "fortinet": ["fortinet", "fortinet_ssh"],
    "hp_comware": ["hp_comware", "hp_comware_ssh", "hp_comware_telnet", "h3c_comware", "h3c_comware_ssh"],
    "hp_procurve": [
        "hp_procurve", "hp_procurve_ssh", "hp_procurve_telnet", "aruba_procurve", "aruba_procurve_ssh",
        "aruba_procurve_telnet", "aruba_osswitch", "aruba_osswitch_ssh",
    ],
    "huawei_vrp": ["huawei", "huawei_ssh", "huawei_vrp", "huawei_vrp_ssh", "huawei_telnet"],
    "juniper_junos": ["juniper", "juniper_junos", "juniper_junos_telnet"],
    "linux": ["linux", "linux_ssh", "ovs_linux"],
    "mikrotik_routeros": ["mikrotik_routeros", "mikrotik_routeros_ssh"],
    "nokia_sros": ["nokia_sros", "nokia_sros_ssh", "nokia_sros_telnet", "alcatel_sros", "alcatel_sros_ssh"],
    "paloalto_panos": ["paloalto_panos", "paloalto_panos_ssh", "paloalto_panos_telnet"],
    "vyos": ["vyos", "vyos_ssh", "vyatta_vyos", "vyatta_vyos_ssh", "brocade_vyos", "brocade_vyos_ssh"],
}


def _device_types() -> Dict[str, str]:
    table = {name: name for name in _netrig_platforms()}
    for platform, names in _NETMIKO_NAMES.items():
        if platform in table:  # a platform this library build does not have stays out
            table.update((n, platform) for n in names)
    table["autodetect"] = "autodetect"  # told from the prompt and `show version` at open
    return table


_DEVICE_TYPES = _device_types()

platforms: List[str] = sorted(_DEVICE_TYPES)
"""Every accepted ``device_type``: netrig's platform names and their netmiko names."""

# netmiko keywords that tune netmiko's own reading loop or features netrig does its own way:
# accepted so that scripts run, and without effect.
_IGNORED = frozenset(
    {
        "verbose", "global_delay_factor", "global_cmd_verify", "fast_cli", "banner_timeout",
        "blocking_timeout", "session_timeout", "default_enter", "response_return",
        "serial_settings", "session_log_record_writes", "session_log_file_mode", "allow_auto_change",
        "encoding", "auto_connect", "delay_factor_compat", "disabled_algorithms", "ssh_strict",
        "system_host_keys", "disable_sha2_fix", "disable_lf_normalization", "sock_telnet",
    }
)
# netmiko keywords that would change how or where the connection is made: refused, not ignored.
_UNSUPPORTED = {
    "sock": "an already-connected socket",
    "ssh_config_file": "an OpenSSH client config (proxies, jump hosts)",
    "pkey": "a paramiko key object (give key_file= with use_keys=True)",
}

_DEVICE_KWARGS = frozenset(inspect.signature(Device.__init__).parameters) - {"self", "host", "port"}


def _unsupported_device_type(device_type: object) -> ValueError:
    listing = "\n".join(platforms)
    return ValueError(
        f"Unsupported 'device_type' {device_type!r}: currently supported platforms are:\n{listing}\n"
        "(netrig.netmiko has the platforms netrig has; netrig.platforms() lists them, "
        "PLATFORMS.md adds your own with platform_file=)"
    )


def ConnectHandler(*args: Any, **kwargs: Any) -> "NetrigConnection":
    """Connects as netmiko's ``ConnectHandler`` does and returns the connection (see the module
    docs for the keywords)."""
    if args:
        raise TypeError("ConnectHandler takes keyword arguments only (device_type=..., host=..., ...)")
    if "device_type" not in kwargs:
        raise ValueError("ConnectHandler needs device_type=...; supported: " + ", ".join(platforms))
    return NetrigConnection(**kwargs)


Netmiko = ConnectHandler


class SSHDetect:
    """netmiko's ``SSHDetect``: ``SSHDetect(device_type="autodetect", host=..., ...)``, then
    ``autodetect()`` returns the device_type (netrig's platform name) told from the prompt and
    ``show version`` (netrig's ``platform="autodetect"``), or None when no platform fits.
    ``potential_matches`` then holds ``{name: 99}`` for it."""

    def __init__(self, *args: Any, **kwargs: Any):
        if args:
            raise TypeError("SSHDetect takes keyword arguments only (device_type='autodetect', host=..., ...)")
        if kwargs.get("device_type") != "autodetect":
            raise ValueError("The connection device_type must be 'autodetect'")
        self._kwargs = kwargs
        self.potential_matches: Dict[str, int] = {}

    def autodetect(self) -> Optional[str]:
        try:
            with NetrigConnection(**self._kwargs) as conn:
                found: str = conn.platform
        except NetmikoTimeoutException as e:
            if isinstance(e.__cause__, errors.PromptError):
                return None  # no platform's prompt fits
            raise
        self.potential_matches = {found: 99}
        return found


class NetrigConnection:
    """A netmiko-style connection over a ``netrig.Device`` (``.device``)."""

    def __init__(
        self,
        device_type: str,
        host: str = "",
        ip: str = "",
        username: str = "",
        password: Optional[str] = None,
        secret: str = "",
        port: Optional[int] = None,
        use_keys: bool = False,
        key_file: Optional[str] = None,
        passphrase: Optional[str] = None,
        allow_agent: bool = False,
        alt_key_file: str = "",
        conn_timeout: Optional[float] = None,
        auth_timeout: Optional[float] = None,
        timeout: Optional[float] = None,
        read_timeout_override: Optional[float] = None,
        keepalive: float = 0,
        session_log: Any = None,
        **kwargs: Any,
    ):
        platform = _DEVICE_TYPES.get(device_type) if isinstance(device_type, str) else None
        if platform is None:
            raise _unsupported_device_type(device_type)
        host = host or ip
        if not host:
            raise ValueError("Either ip or host must be set")
        extra: Dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in _IGNORED:
                continue
            if key == "alt_host_keys":
                if value and alt_key_file:
                    extra.setdefault("known_hosts", alt_key_file)
                continue
            if key in _UNSUPPORTED:
                raise TypeError(f"netrig.netmiko does not support {key}= ({_UNSUPPORTED[key]})")
            if key in _DEVICE_KWARGS and key not in ("platform", "timeout"):
                extra[key] = value
                continue
            raise TypeError(f"ConnectHandler() got an unexpected keyword argument {key!r}")
        if session_log is not None and not isinstance(session_log, (str, os.PathLike)):
            raise TypeError(
                f"session_log is a file path here, not {type(session_log).__name__} (netrig writes the file itself)"
            )
        self.device_type, self.host, self.ip = device_type, host, ip or host
        self.port = 22 if port is None else int(port)
        self.username, self.secret = username, secret
        self.platform = platform
        self.read_timeout_override = read_timeout_override
        self._templates = _net_textfsm()
        connect_timeout = conn_timeout if conn_timeout is not None else timeout if timeout is not None else 10.0
        options: Dict[str, Any] = dict(
            username=username,
            password=password,
            secret=secret or None,
            platform=platform,
            connect_timeout=connect_timeout,
            auth_timeout=10.0 if auth_timeout is None else auth_timeout,
            session_log=session_log,
            use_agent=bool(allow_agent),
            # netmiko hands back what the device said, error lines included: no CommandError
            # unless asked for (ConnectHandler(check_errors=True), or error_pattern= on a
            # config set).
            check_errors=False,
        )
        if keepalive:
            options["keepalive"] = keepalive  # netmiko's 0 (none) keeps netrig's default interval
        if use_keys and key_file:
            options.update(private_key_file=os.path.expanduser(key_file), passphrase=passphrase)
        options.update(extra)
        try:
            self.device = Device(host, self.port, **options)
        except errors.AuthError as e:
            raise NetmikoAuthenticationException(f"Authentication to device failed.\n\n{e}") from e
        except errors.HostKeyError as e:
            raise NetmikoHostKeyException(
                f"{e}\nnetmiko accepts unknown host keys; netrig.netmiko checks them against "
                "~/.ssh/known_hosts. Pass ConnectHandler(..., known_hosts='/path/to/known_hosts') "
                "(or netmiko's alt_host_keys=True, alt_key_file=...), fingerprint='SHA256:...' (the "
                "device's key, pinned), or host_key='accept-new' to record a new host's key."
            ) from e
        except (errors.NetrigTimeoutError, errors.ConnectError, errors.PromptError, errors.ClosedError) as e:
            raise NetmikoTimeoutException(f"TCP connection to device failed.\n\n{e}") from e
        self.platform = self.device.platform  # the one detected, for device_type="autodetect"

    # -- lifetime -----------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Closes the session (idempotent)."""
        self.device.close()

    def is_alive(self) -> bool:
        return not self.device.closed and self.device.is_alive()

    def __enter__(self) -> "NetrigConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        return f"<netrig.netmiko connection {self.device_type} {self.host}:{self.port}>"

    # -- prompt and modes ---------------------------------------------------------------------

    def find_prompt(self, delay_factor: float = 1.0, pattern: Optional[str] = None) -> str:
        """The current prompt ("R1#"), from the last one the device showed: nothing is sent."""
        return self.device.find_prompt()

    @property
    def base_prompt(self) -> str:
        """The prompt without its mode character ("R1"), as netmiko's ``base_prompt``."""
        prompt = self.find_prompt()
        return prompt[:-1] if prompt[-1:] in (">", "#", "$", "%") else prompt

    def check_enable_mode(self, check_string: str = "") -> bool:
        """Whether the session is privileged (configuration mode counts, as in netmiko)."""
        return self.device.mode() != "user"

    def check_config_mode(self, check_string: str = "", pattern: str = "", force_regex: bool = False) -> bool:
        return self.device.mode() == "config"

    def enable(self, cmd: str = "", pattern: str = "", enable_pattern: Optional[str] = None,
               check_state: bool = True, re_flags: int = re.IGNORECASE) -> str:
        """Enters privileged mode with the ``secret``; ``ValueError`` when that fails, as netmiko."""
        try:
            self.device.enable()
        except errors.AuthError as e:
            raise ValueError(
                "Failed to enter enable mode. Please ensure you pass the 'secret' argument to ConnectHandler.\n\n"
                f"{e}"
            ) from e
        return ""

    def exit_enable_mode(self, exit_command: str = "") -> str:
        self.device.exit_enable()
        return ""

    def config_mode(self, config_command: str = "", pattern: str = "", re_flags: int = 0) -> str:
        self.device.config_mode()
        return ""

    def exit_config_mode(self, exit_config: str = "", pattern: str = "") -> str:
        self.device.exit_config_mode()
        return ""

    # -- commands -----------------------------------------------------------------------------

    def _timeout(self, read_timeout: Optional[float]) -> Optional[float]:
        t = self.read_timeout_override if self.read_timeout_override else read_timeout
        return None if not t or t <= 0 else t

    def send_command(
        self,
        command_string: str,
        expect_string: Optional[str] = None,
        read_timeout: float = 10.0,
        delay_factor: Optional[float] = None,
        max_loops: Optional[int] = None,
        auto_find_prompt: bool = True,
        strip_prompt: bool = True,
        strip_command: bool = True,
        normalize: bool = True,
        use_textfsm: bool = False,
        textfsm_template: Optional[str] = None,
        use_ttp: bool = False,
        ttp_template: Optional[str] = None,
        use_genie: bool = False,
        cmd_verify: bool = True,
        raise_parsing_error: bool = False,
    ) -> Union[str, List[Dict[str, Any]]]:
        """Sends a command and returns its output (see the module docs)."""
        _no_other_parsers(use_ttp, use_genie)
        command_string = _normalize(command_string, normalize)
        out = self._read(
            lambda: self.device.send_command(command_string, self._timeout(read_timeout), expect_string),
            command_string,
            read_timeout,
        )
        text = out.text
        if not strip_command:
            text = f"{command_string}\n{text}"
        if not strip_prompt and expect_string is None:
            text = f"{text}{'' if not text or text.endswith(chr(10)) else chr(10)}{self.find_prompt()}"
        if use_textfsm or textfsm_template:
            return self._structured(out, command_string, text, textfsm_template, raise_parsing_error)
        return text

    def send_command_timing(
        self,
        command_string: str,
        last_read: float = 2.0,
        read_timeout: float = 120.0,
        delay_factor: Optional[float] = None,
        max_loops: Optional[int] = None,
        strip_prompt: bool = True,
        strip_command: bool = True,
        normalize: bool = True,
        use_textfsm: bool = False,
        textfsm_template: Optional[str] = None,
        use_ttp: bool = False,
        ttp_template: Optional[str] = None,
        use_genie: bool = False,
        cmd_verify: bool = False,
        raise_parsing_error: bool = False,
    ) -> Union[str, List[Dict[str, Any]]]:
        """Sends a command and returns what came until the device was quiet for `last_read`
        seconds: for commands that answer with a question instead of a prompt."""
        _no_other_parsers(use_ttp, use_genie)
        command_string = _normalize(command_string, normalize)
        out = self._read(
            lambda: self.device.send_command_timing(
                command_string, quiet=last_read, timeout=self._timeout(read_timeout)
            ),
            command_string,
            read_timeout,
        )
        text = out.text if strip_command else f"{command_string}\n{out.text}"
        if use_textfsm or textfsm_template:
            return self._structured(out, command_string, text, textfsm_template, raise_parsing_error)
        return text

    def send_config_set(
        self,
        config_commands: Union[str, Iterable[str], None] = None,
        *,
        exit_config_mode: bool = True,
        read_timeout: Optional[float] = None,
        delay_factor: Optional[float] = None,
        max_loops: Optional[int] = None,
        strip_prompt: bool = False,
        strip_command: bool = False,
        config_mode_command: Optional[str] = None,
        cmd_verify: bool = True,
        enter_config_mode: bool = True,
        error_pattern: str = "",
        terminator: str = r"#",
        bypass_commands: Optional[str] = None,
        fast_cli: Optional[bool] = None,
    ) -> str:
        """Sends configuration lines in configuration mode and returns the transcript. A
        rejected line raises only when `error_pattern` (a regex) is given and matches its
        output: ``ConfigInvalidException``."""
        if config_commands is None:
            return ""
        if isinstance(config_commands, str):
            config_commands = (config_commands,)
        if not hasattr(config_commands, "__iter__"):
            raise ValueError("Invalid argument passed into send_config_set")
        lines = list(config_commands)
        if not enter_config_mode:
            # Lines for the prompt the session is at (netmiko's enter_config_mode=False).
            return "".join(f"{line}\n{self.send_command(line, read_timeout=read_timeout or 10.0)}" for line in lines)
        check: Dict[str, Any] = dict(check=True, error_pattern=error_pattern) if error_pattern else {}
        try:
            out = self.device.send_config_set(lines, exit=exit_config_mode, timeout=self._timeout(read_timeout), **check)
        except errors.CommandError as e:
            if not error_pattern:
                raise
            raise ConfigInvalidException(f"Invalid input detected at command: {e}") from e
        except errors.NetrigTimeoutError as e:
            raise ReadTimeout(f"send_config_set: {e}") from e
        return out.text

    def send_config_from_file(self, config_file: Union[str, "os.PathLike[str]"], **kwargs: Any) -> str:
        """``send_config_set`` with the lines of `config_file`."""
        with open(config_file, encoding="utf-8") as f:
            return self.send_config_set(f.read().splitlines(), **kwargs)

    def save_config(self, cmd: str = "", confirm: bool = False, confirm_response: str = "") -> str:
        """Saves the configuration with the platform's command, answering its questions. With
        `cmd`, sends that instead (and `confirm_response` when `confirm`)."""
        if not cmd:
            return self.device.save_config().text
        out = str(self.send_command_timing(cmd))
        if confirm:
            out += str(self.send_command_timing(confirm_response))
        return out

    def commit(
        self,
        comment: str = "",
        confirm: bool = False,
        confirm_delay: Optional[int] = None,
        check: bool = False,
        and_quit: bool = False,
        read_timeout: float = 120.0,
        delay_factor: Optional[float] = None,
    ) -> str:
        """Commits the candidate configuration (Junos and IOS XR style platforms), entering
        configuration mode if needed; `check=True` only checks it, `and_quit=True` leaves
        configuration mode afterwards. A refused commit is a ``ValueError``, as in netmiko."""
        if comment or confirm or confirm_delay is not None:
            raise ValueError("netrig.netmiko's commit() takes no comment or confirm (netrig commits plainly)")
        try:
            out = self.device.send_config_set(
                [], exit=and_quit, commit=not check, commit_check=check, timeout=self._timeout(read_timeout)
            )
        except errors.CommandError as e:
            raise ValueError(f"Commit failed with the following errors:\n\n{e}") from e
        return out.text

    # -- plumbing -----------------------------------------------------------------------------

    def _read(self, call: Callable[[], Output], command: str, read_timeout: Optional[float]) -> Output:
        try:
            return call()
        except errors.NetrigTimeoutError as e:
            raise ReadTimeout(
                f"Pattern not detected in output of {command!r} within read_timeout={read_timeout}.\n\n{e}"
            ) from e

    def _structured(
        self, out: Output, command: str, text: str, template: Optional[str], raise_parsing_error: bool
    ) -> Union[str, List[Dict[str, Any]]]:
        # netmiko returns the plain text when there is no template or it yields no record.
        try:
            from . import parse

            templates = _one_template_dir(template) if template else self._templates
            records = parse(out.text, self.platform, command, templates=templates)
        except errors.NotFoundError as e:
            if raise_parsing_error:
                raise NetmikoParsingException(str(e)) from e
            return text
        except errors.NetrigError as e:
            if raise_parsing_error:
                raise NetmikoParsingException(str(e)) from e
            _log.warning("use_textfsm: %s; returning the text", e)
            return text
        if not records and raise_parsing_error:
            raise NetmikoParsingException(f"no records parsed from the output of {command!r}")
        return records if records else text


def _normalize(command: str, normalize: bool) -> str:
    """netmiko ends every command with exactly one RETURN: "\n" alone (to answer a question)
    is an empty line, not two. netrig adds the RETURN itself."""
    return command.rstrip() if normalize else command


def _no_other_parsers(use_ttp: bool, use_genie: bool) -> None:
    if use_ttp or use_genie:
        raise ValueError("netrig.netmiko parses with TextFSM only (use_textfsm=True); use_ttp/use_genie are not supported")


_template_dirs: Dict[Tuple[str, int, int], str] = {}
_template_dirs_lock = threading.Lock()


def _one_template_dir(template: Union[str, "os.PathLike[str]"]) -> str:
    """A templates directory whose index sends every platform and command to `template`
    (netmiko's ``textfsm_template=``: one file, no index), made once per version of the file
    (netrig keeps each directory's compiled templates for the process)."""
    path = os.path.abspath(os.fspath(template))
    st = os.stat(path)  # FileNotFoundError names a missing template
    key = (path, st.st_mtime_ns, st.st_size)
    with _template_dirs_lock:
        where = _template_dirs.get(key)
        if where is None:
            where = tempfile.mkdtemp(prefix="netrig-netmiko-template-")
            atexit.register(shutil.rmtree, where, True)
            shutil.copyfile(path, os.path.join(where, "template.textfsm"))
            with open(os.path.join(where, "index"), "w", encoding="utf-8") as f:
                f.write("Template, Hostname, Platform, Command\n\ntemplate.textfsm, .*, .*, .*\n")
            _template_dirs[key] = where
    return where


def _net_textfsm() -> Optional[str]:
    """netmiko's NET_TEXTFSM: the directory of the ntc-templates index, or one holding a
    "templates" directory with it. None leaves the lookup to netrig."""
    where = os.environ.get("NET_TEXTFSM")
    if not where:
        return None
    if not os.path.isfile(os.path.join(where, "index")) and os.path.isfile(os.path.join(where, "templates", "index")):
        return os.path.join(where, "templates")
    return where
