"""The pod infra container's image, made by kubeplay itself: no registry is ever needed for it.

Like the original kubelet's network container, the infra container holds a pod's network namespace (its IP and
published ports) and the pod's app containers join it. Its program is a 216-byte static x86-64 ELF built here
from the machine code below; it waits in pause() and exits 0 on SIGTERM or SIGINT:

    _start:  lea act(%rip), %rsi ; mov $15, %edi ; xor %edx, %edx ; mov $8, %r10d
             mov $13, %eax ; syscall             # rt_sigaction(SIGTERM, &act, NULL, 8)
             mov $2, %edi ; mov $13, %eax ; syscall  # rt_sigaction(SIGINT, &act, NULL, 8)
    1:       mov $34, %eax ; syscall ; jmp 1b     # pause() forever
    handler: xor %edi, %edi ; mov $231, %eax ; syscall   # exit_group(0)
    act:     .quad handler, SA_RESTORER, handler, 0

Minions of another architecture name an image of their own with the inventory variable kubeplay_infra_image.
"""

from __future__ import annotations

import io
import struct

INFRA_IMAGE = "kubeplay/pause:1.0"

_BASE = 0x400000
_EHDR = 64
_PHDR = 56
_CODE_OFFSET = _EHDR + _PHDR
_SA_RESTORER = 0x04000000


def _code(act_disp: int) -> bytes:
    return b"".join(
        [
            b"\x48\x8d\x35" + struct.pack("<i", act_disp),  # lea act(%rip), %rsi
            b"\xbf\x0f\x00\x00\x00",  # mov $15, %edi
            b"\x31\xd2",  # xor %edx, %edx
            b"\x41\xba\x08\x00\x00\x00",  # mov $8, %r10d
            b"\xb8\x0d\x00\x00\x00\x0f\x05",  # mov $13, %eax ; syscall
            b"\xbf\x02\x00\x00\x00",  # mov $2, %edi
            b"\xb8\x0d\x00\x00\x00\x0f\x05",  # mov $13, %eax ; syscall
            b"\xb8\x22\x00\x00\x00\x0f\x05\xeb\xf7",  # 1: mov $34, %eax ; syscall ; jmp 1b
            b"\x31\xff\xb8\xe7\x00\x00\x00\x0f\x05",  # handler: xor %edi, %edi ; mov $231, %eax ; syscall
        ]
    )


def pause_program() -> bytes:
    """The infra container's program: a static x86-64 Linux ELF executable."""
    code_len = len(_code(0))
    handler = _BASE + _CODE_OFFSET + code_len - 9
    act_offset = (_CODE_OFFSET + code_len + 7) // 8 * 8
    lea_end = _BASE + _CODE_OFFSET + 7
    code = _code(_BASE + act_offset - lea_end)
    act = struct.pack("<QQQQ", handler, _SA_RESTORER, handler, 0)
    size = act_offset + len(act)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, _BASE + _CODE_OFFSET, _EHDR, 0, 0, _EHDR, _PHDR, 1, 0, 0, 0
    )
    phdr = struct.pack("<IIQQQQQQ", 1, 7, 0, _BASE, _BASE, size, size, 0x1000)
    body = ehdr + phdr + code
    return body + bytes(act_offset - len(body)) + act


def infra_rootfs() -> bytes:
    """A root filesystem holding only /pause, as a tar archive for `docker import`."""
    import tarfile  # (only when the image is built: not on every apply's import)

    buf = io.BytesIO()
    program = pause_program()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("pause")
        info.size = len(program)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(program))
    return buf.getvalue()


INFRA_CHANGES = ('CMD ["/pause"]', "LABEL kubeplay.infra-image=1")
