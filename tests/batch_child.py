"""Runs several command lines of one entry point in this one process, in turn.

    python tests/batch_child.py MODULE RESULTS.json < ARGVS.json

Each command line goes through ``absl.app.run`` with the entry point's own flags parser,
as ``python -m MODULE ARGS`` would, with its flags parsed afresh and its stdout and
stderr captured; an uncaught exception ends it with status 1 and its traceback, as the
interpreter would. The results, ``[{"returncode", "stdout", "stderr"}, ...]`` in the
order given, go to RESULTS.json. TensorFlow is loaded once for all of them, which is
what makes this worth it: loading it takes seconds of CPU a process (see runner.run_batch).
"""

import contextlib
import importlib
import io
import json
import sys
import traceback

from absl import app, flags
from absl import logging as absl_logging


def _status(code) -> int:
    """The exit status the interpreter gives ``SystemExit(code)``, printing a message
    code to stderr as it does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_one(module, argv: list[str]) -> dict:
    from dcgan import cli

    flags.FLAGS.unparse_flags()
    verbosity = absl_logging.get_verbosity()  # --verbosity sets it for the process
    sys.argv = argv  # dcgan.train reads it to tell typed flags from a flagfile's
    out, err = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            app.run(module.main, argv=argv, flags_parser=cli.flags_parser(argv[0]))
        except SystemExit as e:
            status = _status(e.code)
        except Exception:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            status = 1
    absl_logging.set_verbosity(verbosity)
    return {"returncode": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    name, results_path = sys.argv[1], sys.argv[2]
    argvs = json.load(sys.stdin)
    module = importlib.import_module(name)
    results = [run_one(module, [name, *args]) for args in argvs]
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
