"""Load: 64 runs at once in one namespace while archive commands loop and the index is damaged,
then two sweeps with --skip-done at once (bench/load.py, the long version, holds the machinery
and says what is promised)."""

import sys

from support import SOURCE_DIR, XRUN, Workspace

sys.path.insert(0, str(SOURCE_DIR / "bench"))
import load  # noqa: E402  (found through the path above)

SEED = 20261202


class Load(Workspace):
    def test_nothing_is_lost_and_every_listing_is_true_under_load(self):
        print(f"\nload: seed {SEED}, 64 runs at once, 2 rounds (again: bench/load.py --seed "
              f"{SEED} --rounds 2)", file=sys.stderr)
        outcome = load.run_load(XRUN, self.dir, SEED, 64, rounds=2)
        print(f"load: {outcome.counts}", file=sys.stderr)
        self.assertEqual(outcome.problems, [])
        # The loops ran during the load, and the index was damaged under them.
        self.assertGreater(outcome.counts.get("list exit 0", 0), 0)
        self.assertGreater(sum(count for name, count in outcome.counts.items()
                               if name.startswith("index ")), 0)
        # Each variation new to both sweeps ran once or twice (checked by run_load): each sweep
        # skips what was done before it started, and one starting beside it may not be.
        self.assertEqual(sum(count for name, count in outcome.counts.items()
                             if name.startswith("new variation runs ")), load.NEW_ROWS)
