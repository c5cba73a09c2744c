"""The errors of the argument and data checks: what the user gave (a dataset folder, an
annotation file, a config, an option) cannot be used, and the message says why and what
to do. The command lines print them alone, without a traceback; every other exception
is a bug and keeps its traceback."""
import sys
from typing import Callable


class InputError(Exception):
    """Base of the errors in what the user gave."""


class InputValueError(InputError, ValueError):
    """A dataset, config or option that cannot be used as it is."""


class InputNotFoundError(InputError, FileNotFoundError):
    """A file or folder the user named, or that their data refers to, is missing."""


class InputExistsError(InputError, FileExistsError):
    """A folder to write into holds files that are never overwritten."""


def run_command(main: Callable[[], object], prog: str) -> None:
    """Run a command line's ``main``: an :class:`InputError` is printed as
    ``PROG: error: MESSAGE`` on stderr and ends the process with exit status 2 (argparse's
    for bad arguments)."""
    try:
        main()
    except InputError as error:
        print(f'{prog}: error: {error}', file=sys.stderr)
        sys.exit(2)
