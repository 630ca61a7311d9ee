"""Resource quantities as Kubernetes writes them: "500m" or 0.5 cpu, "128Mi" or "1G" of memory.

kubeplay keeps cpu in millicores and memory in bytes (the units of Docker's limits). A fraction left over is
rounded up, as Kubernetes does. Parsers raise ValueError with a message that can be shown to the user.
"""

from __future__ import annotations

import functools
import math
import re
from typing import TYPE_CHECKING

from kubeplay.limits import MAX_NUMBER_DIGITS

if TYPE_CHECKING:
    from decimal import Decimal

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL_SUFFIXES = ("n", "u", "m", "", "k", "M", "G", "T", "P", "E")
SUFFIXES = (*_BINARY, *(s for s in _DECIMAL_SUFFIXES if s))


@functools.cache
def _syntax() -> tuple[re.Pattern[str], dict[str, Decimal]]:
    """The pattern of a quantity and the factors of its decimal suffixes, made the first time a quantity is read,
    decimal imported then: a run whose manifests and inventory hold no quantity does without them (~1.5 ms of
    start-up)."""
    from decimal import Decimal

    pattern = re.compile(r"\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>[A-Za-z]*|[eE][-+]?[0-9]+)")
    fractions = (Decimal("1e-9"), Decimal("1e-6"), Decimal("1e-3"), Decimal(1))
    factors = (*fractions, *(Decimal(10**exponent) for exponent in range(3, 19, 3)))
    return pattern, dict(zip(_DECIMAL_SUFFIXES, factors, strict=True))


DOCKER_MIN_MEMORY = 6 * 2**20
"""The smallest memory limit dockerd gives a container: below it, create fails with "Minimum memory limit allowed is
6MB" (``linuxMinMemory`` in moby's daemon/daemon_unix.go, "to account for overhead during startup")."""


MAX_QUANTITY = 10**30
"""No cpu or memory quantity is this big: a larger one is refused before it becomes a (huge) integer."""
_EXACT_CORES = 10**25
"""Whole cores below this are as many thousand millicores exactly as decimal's 28 digits compute them."""


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity such as "128Mi", "1.5G", "500m", "2e3" or "4"."""
    if len(text) > MAX_NUMBER_DIGITS.value():
        raise ValueError(f"invalid quantity of {len(text)} characters{MAX_NUMBER_DIGITS.advice()}")
    quantity, factors = _syntax()
    match = quantity.fullmatch(text.strip())
    if not match:
        raise ValueError(f"invalid quantity {text!r}: expected a number with an optional suffix like 500m or 128Mi")
    from decimal import Decimal  # (see _syntax)

    number, suffix = Decimal(match["number"]), match["suffix"]
    if suffix in _BINARY:
        return _bounded(number * _BINARY[suffix], text)
    if suffix in factors:
        return _bounded(number * factors[suffix], text)
    if suffix[:1] in ("e", "E"):
        exponent = int(suffix[1:])
        if abs(exponent) >= 100:  # far past any real quantity, or 0: no need to compute it
            return _bounded(Decimal(MAX_QUANTITY * 10) if exponent > 0 and number else Decimal(0), text)
        return _bounded(number.scaleb(exponent), text)
    raise ValueError(f"invalid quantity {text!r}: unknown suffix {suffix!r} (use one of {', '.join(SUFFIXES)})")


def _bounded(value: Decimal, text: str) -> Decimal:
    if value > MAX_QUANTITY:
        raise ValueError(f"invalid quantity {text!r}: too large (at most 10^30)")
    return value


def parse_cpu(value: int | float | str) -> int:
    """Millicores from a cpu quantity: a number of cores (1, 0.5) or a string ("500m", "0.5", "2")."""
    if type(value) is int and 0 <= value < _EXACT_CORES:  # (v1beta1's cpu: no decimal needed)
        return value * 1000
    cores = _number(value)
    return math.ceil(cores * 1000)


def parse_memory(value: int | float | str) -> int:
    """Bytes from a memory quantity: a number of bytes or a string ("128Mi", "1G", "1e9")."""
    if isinstance(value, str) and value.strip().endswith("m"):
        raise ValueError(f"invalid memory {value!r}: 'm' means thousandths of a byte (did you mean {value[:-1]}Mi?)")
    if type(value) is int and 0 <= value <= MAX_QUANTITY:  # (v1beta1's memory: no decimal needed)
        return value
    return math.ceil(_number(value))


def _number(value: int | float | str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"invalid quantity {value!r}: expected a number or a string like 500m")
    if isinstance(value, str):
        return parse_quantity(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"invalid quantity {value!r}: expected a finite number")
    if value < 0:
        raise ValueError(f"invalid quantity {value!r}: must not be negative")
    if value > MAX_QUANTITY:
        raise ValueError("invalid quantity: too large (at most 10^30)")
    from decimal import Decimal  # (see _syntax)

    return Decimal(str(value))


def format_cpu(millicores: int) -> str:
    """Millicores as a person reads them: whole cores as a number ("2"), else millicores ("1500m")."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def format_memory(size: int) -> str:
    """Bytes with the largest binary suffix that leaves at least 1, to one decimal where it is not whole ("512Mi",
    "3.8Gi", "100")."""
    for suffix, factor in reversed(_BINARY.items()):
        if size >= factor:
            value = size / factor
            return f"{value:.0f}{suffix}" if size % factor == 0 else f"{value:.1f}{suffix}"
    return str(size)
