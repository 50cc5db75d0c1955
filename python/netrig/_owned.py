"""The lifetime of a long-lived netrig handle, shared by ``Store`` and ``Device``."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, Type, TypeVar

from .errors import check

_Owned = TypeVar("_Owned", bound="OwnedHandle")


class OwnedHandle:
    """Owns one handle (``self._handle``, None once closed) freed by the class's ``_free``.

    ``close()`` is idempotent and safe from any thread; the object is a context manager that
    closes on exit; the garbage collector frees a handle nobody closed, never raising.
    Subclasses set ``_free`` and create ``_handle`` and ``_close_lock`` in ``__init__``.
    """

    _free = None  # staticmethod(lib.netrig_<kind>_free) in each subclass

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        with self._close_lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            check(self._free(handle))

    def __enter__(self: _Owned) -> _Owned:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Interpreter shutdown or a failed __init__ may leave nothing to free; never raise here.
        try:
            handle = self.__dict__.get("_handle")
            if handle is not None:
                self._handle = None
                self._free(handle)
        except Exception:
            pass
