"""What a Ctrl-C in the first instant of `builder` gives: for each delay after the start, the exit
status and whether stderr held a sentence, a traceback or nothing.

    python benchmarks/early_signal.py [--until 0.3] [--step 0.01] [--signal INT]

Runs `builder fit --help` (it loads the command's modules and exits) once per delay and sends the
signal after that delay (a sleep here is the point: the sweep measures the window, it is not a
test). -N is "killed by signal N before any handler existed", "sentence" is the builder's own
"interrupted: ..." line, "traceback" is Python's KeyboardInterrupt from its own start-up (site,
import hooks), before the builder's first line ran.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--until", type=float, default=0.3)
    ap.add_argument("--step", type=float, default=0.01)
    ap.add_argument("--signal", default="INT", help="INT, TERM or HUP")
    args = ap.parse_args()
    sig = getattr(signal, f"SIG{args.signal}")
    builder = Path(sys.executable).with_name("builder")
    print("delay_s exit what")
    steps = int(round(args.until / args.step)) + 1
    for i in range(steps):
        delay = i * args.step
        proc = subprocess.Popen(
            [str(builder), "fit", "--help"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL),
        )
        time.sleep(delay)
        proc.send_signal(sig)
        _, err = proc.communicate()
        what = (
            "traceback"
            if "Traceback" in err
            else "sentence"
            if ": nothing was changed" in err
            else "nothing"
        )
        print(f"{delay:.2f} {proc.returncode} {what}")


if __name__ == "__main__":
    main()
