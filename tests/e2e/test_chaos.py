"""Chaos: short runs and a sweep whose experiment, supervisor or sweep process is sent SIGKILL,
SIGTERM or SIGINT at seeded random moments; every run folder is then checked (bench/chaos.py,
the long version, holds the machinery and says what is checked)."""

import sys

from support import SOURCE_DIR, XRUN, Workspace

sys.path.insert(0, str(SOURCE_DIR / "bench"))
import chaos  # noqa: E402  (found through the path above)

SEED = 20261202
RUNS = 72


class Chaos(Workspace):
    def test_every_run_is_on_record_with_a_true_status_after_random_signals(self):
        print(f"\nchaos: seed {SEED}, {RUNS} runs and a sweep of {chaos.SWEEP_ROWS} "
              f"(again: bench/chaos.py --seed {SEED} --runs {RUNS})", file=sys.stderr)
        outcome = chaos.run_chaos(XRUN, self.dir, SEED, RUNS, parallel=4)
        print(f"chaos: {outcome.counts}", file=sys.stderr)
        self.assertEqual(outcome.problems, [])
        # The seed makes every kind of signal land on a run that had begun.
        for status in ("done", "killed", "lost", "interrupted"):
            self.assertGreater(outcome.counts.get(status, 0), 0, status)
