"""kubeplay's exit codes, the contract with scripts (the README's table says the same).

0 success; 1 an error (bad input, a failed action, an unschedulable pod, a declined confirmation, a minion's host key
changed or revoked); 2 with --detailed-exitcode when changes were made (with --check: are pending); 4 a minion was
unreachable (and nothing else failed); 5 a usage error (an unknown option or command, a missing argument: as Ansible's
5 for bad options); 6 another run held a minion's lock past --lock-timeout (nothing was changed); 130 interrupted;
250 an internal error (a bug in kubeplay: please report it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeplay.errors import KubeplayError, Locked

if TYPE_CHECKING:
    from kubeplay.reconcile import Outcome

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGED = 2
EXIT_UNREACHABLE = 4
EXIT_USAGE = 5
EXIT_LOCKED = 6
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 250


def apply_exit_code(outcome: Outcome, detailed: bool) -> int:
    """An apply's exit code: errors first, then unreachable minions, then (with --detailed-exitcode) changes."""
    if outcome.failed:
        return EXIT_ERROR
    if outcome.plan.pods.unreachable:
        return EXIT_UNREACHABLE
    return EXIT_CHANGED if detailed and outcome.changed else EXIT_OK


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C's KeyboardInterrupt or was raised while one was being handled: Ctrl-C came first,
    and what failed as the run was left (a cleanup on the way out; threading's own Condition.wait, which, interrupted
    just after it let go of its lock, raises "RuntimeError: release unlocked lock" from the `with` around it) is
    its consequence. Either way the run was interrupted."""
    seen: set[int] = set()
    context: BaseException | None = exc
    while context is not None and id(context) not in seen:
        if isinstance(context, KeyboardInterrupt):
            return True
        seen.add(id(context))
        context = context.__context__
    return False


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a command ended by this exception (as cli/main.py's boundary returns it)."""
    if interrupted(exc):
        return EXIT_INTERRUPTED
    if isinstance(exc, Locked):
        return EXIT_LOCKED
    if isinstance(exc, KubeplayError):
        return EXIT_ERROR
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    return EXIT_INTERNAL
