"""`xrun archive list` over real and hand-made archives."""

import csv
import io
import json
import os
import socket
import subprocess
import time
import unittest

from support import XRUN, Workspace, experiment_source


class ArchiveList(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source(
            'LR: float = 0.1\nMODEL: str = "mlp"\n',
            'e["metrics/acc"] = 1 - e.LR\nif e.MODEL == "bad":\n    raise ValueError("bad")'))
        for lr, model in [("0.1", "mlp"), ("0.01", "cnn"), ("0.001", "bad")]:
            self.xrun("run", "exp.py", "--LR", lr, "--MODEL", model)
        runs = self.runs("results/exp")
        self.assertEqual(len(runs), 3)

    def make_run(self, name, meta_text):
        folder = self.dir / "results" / "other" / name
        folder.mkdir(parents=True)
        (folder / "experiment_meta.json").write_text(meta_text)
        return folder

    def test_table_lists_every_run_with_status(self):
        result = self.xrun("archive", "list", "--columns", "LR,MODEL,data.metrics.acc")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["STATUS", "RUN", "STARTED", "DURATION", "LR",
                                            "MODEL", "data.metrics.acc"])
        self.assertEqual([line.split()[0] for line in lines[1:]], ["done", "done", "failed"])
        self.assertEqual([line.split()[-3] for line in lines[1:]], ["0.1", "0.01", "0.001"])
        self.assertEqual(lines[1].split()[-1], "0.9")
        self.assertNotIn("\033[", result.stdout)  # no colors when not on a terminal

    def test_where_sort_limit(self):
        result = self.xrun("archive", "list", "--where", 'status == "done" and LR < 0.05',
                           "--columns", "LR")
        self.assertEqual(len(result.stdout.splitlines()), 2)
        self.assertIn("0.01", result.stdout)
        result = self.xrun("archive", "list", "--sort", "-LR", "--limit", "2", "--columns", "LR")
        self.assertEqual([line.split()[-1] for line in result.stdout.splitlines()[1:]],
                         ["0.1", "0.01"])
        result = self.xrun("archive", "list", "--where", "MODEL in ['cnn', 'bad'] and "
                           "not data.metrics.acc > 0.995", "--columns", "MODEL")
        self.assertEqual([line.split()[-1] for line in result.stdout.splitlines()[1:]], ["cnn"])

    def test_json_and_csv(self):
        result = self.xrun("archive", "list", "--json", "--columns", "data.metrics.acc")
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = json.loads(result.stdout)
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows[0]["parameters"]["LR"], 0.1)
        self.assertEqual(rows[0]["data.metrics.acc"], 0.9)
        self.assertEqual(rows[2]["status"], "failed")
        self.assertTrue(rows[0]["path"].endswith(rows[0]["id"]))
        result = self.xrun("archive", "list", "--csv", "--columns", "LR,MODEL,NOTHING")
        table = list(csv.reader(io.StringIO(result.stdout)))
        self.assertEqual([row[6] for row in table[1:]], ["", "", ""])  # missing: empty
        table = [row[:6] for row in table]
        self.assertEqual(table[0], ["status", "run", "start_time", "duration", "LR", "MODEL"])
        self.assertEqual(table[3][0], "failed")
        self.assertEqual(table[2][4:], ["0.01", "cnn"])

    def test_values_inside_tricky_parameter_and_data_texts(self):
        parameters = {
            "TAG": {"name": "TAG", "type": "str", "value": 'a",}{[x', "source": "cli"},
            "CFG": {"name": "CFG", "type": "dict", "source": "default",
                    "value": {"depth": [1, {"k": "}"}], "LR": 5}},
            "LR": {"name": "LR", "type": "float", "value": 0.5, "source": "cli"},
        }
        folder = self.make_run("tricky", json.dumps(
            {"status": "done", "start_time": 1.0, "parameters": parameters}))
        (folder / "experiment_data.json").write_text(
            '{\n  "note": "x\\"}",\n  "caf\\u00e9": 1,\n  "my key": 3,\n'
            '  "metrics" : { "acc" : 0.75 }\n}\n')
        # Settled files, so the queries below read the runs from the index, not the folders.
        for file in self.dir.glob("results/*/*/experiment_*.json"):
            os.utime(file, (time.time() - 3600, time.time() - 3600))
        self.xrun("archive", "index")

        def names(*args):
            result = self.xrun("archive", "list", *args)
            self.assertEqual(result.returncode, 0, result.stderr)
            return [line.split()[1].rsplit("/", 1)[1] for line in result.stdout.splitlines()[1:]]

        self.assertEqual(names("--where", "LR == 0.5"), ["tricky"])
        self.assertEqual(names("--where", "CFG.LR == 5 and TAG ~ 'a*x'"), ["tricky"])
        self.assertEqual(names("--where", "data.metrics.acc == 0.75"), ["tricky"])
        self.assertEqual(names("--where", 'data.note == "x\\"}"'), ["tricky"])
        self.assertEqual(names("--where", "data.metrics.acc < 0.8"), ["tricky"])
        rows = json.loads(self.xrun("archive", "list", "--json", "--where", "LR == 0.5",
                                    "--columns", "CFG.depth, data.café,data.none,status,"
                                    " data.my key").stdout)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["CFG.depth"], [1, {"k": "}"}])
        self.assertEqual(rows[0]["data.café"], 1)
        self.assertIsNone(rows[0]["data.none"])
        self.assertEqual(rows[0]["data.my key"], 3)
        self.assertEqual(rows[0]["status"], "done")
        self.assertEqual(list(rows[0]["parameters"]), ["TAG", "CFG", "LR"])  # declared order

    def test_runs_without_the_sort_key_come_last_and_limit_is_checked(self):
        self.make_run("keyless", json.dumps({"status": "done", "start_time": 5.0}))
        for sort in ("LR", "-LR"):
            with self.subTest(sort=sort):
                result = self.xrun("archive", "list", "--sort", sort, "--columns", "LR")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertTrue(result.stdout.splitlines()[-1].split()[-1] == "-")
        result = self.xrun("archive", "list", "--sort", "-LR", "--limit", "1", "--columns", "LR")
        self.assertEqual(result.stdout.splitlines()[1].split()[-1], "0.1")
        for limit in ("0", "-1", "x"):
            with self.subTest(limit=limit):
                self.assertUsageError(self.xrun("archive", "list", "--limit", limit), "--limit")

    def test_a_data_file_with_a_bad_value_is_not_read_in_part(self):
        folder = self.make_run("bad", json.dumps({"status": "done", "start_time": 1.0}))
        (folder / "experiment_data.json").write_text('{"a": tru, "b": 1}')
        result = self.xrun("archive", "list", "--where", "data.b == 1")
        self.assertNotIn("other/bad", result.stdout)
        self.assertIn("bad/experiment_data.json is not valid JSON", result.stderr)
        result = self.xrun("archive", "list", "--where", "SEEDS == null")
        self.assertIn("no run has a value for SEEDS", result.stderr)
        self.assertNotIn("did you mean SEEDS", result.stderr)

    def test_torn_data_file_is_reported_not_half_read(self):
        folder = self.make_run("torn", json.dumps({"status": "done", "start_time": 1.0}))
        (folder / "experiment_data.json").write_text('{"metrics": {"acc": 0.7}, "x": [1')
        for file in folder.glob("experiment_*.json"):
            os.utime(file, (time.time() - 3600, time.time() - 3600))
        result = self.xrun("archive", "list", "--where", "data.metrics.acc < 0.8")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("torn", result.stdout)
        self.assertIn("torn/experiment_data.json is not valid JSON; its data values are left out",
                      result.stderr)
        other = self.runs("results/exp")[0].name
        result = self.xrun("archive", "diff", "torn", other)
        self.assertIn("torn/experiment_data.json is not valid JSON", result.stderr)

    def test_table_escapes_control_characters_and_aligns_wide_names(self):
        folder = self.make_run("ünï cödé", json.dumps({"status": "done", "start_time": 1.0}))
        (folder / "experiment_data.json").write_text(json.dumps({"s": "x\ny\x1b[31mred"}))
        result = self.xrun("archive", "list", "--columns", "data.s")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("\x1b", result.stdout)
        lines = result.stdout.splitlines()
        self.assertEqual(len(lines), 5)  # one line a run: the newline is written \n
        self.assertIn("x\\ny\\x1b[31mred", result.stdout)
        # Columns are counted in characters, not bytes: the wide name's row lines up.
        self.assertEqual(next(line.index("x\\n") for line in lines if "x\\n" in line),
                         lines[0].index("data.s"))
        rows = list(csv.reader(io.StringIO(self.xrun("archive", "list", "--csv", "--columns",
                                                     "data.s").stdout)))
        self.assertIn(["done", "other/ünï cödé", "1.0", "0", "x\ny\x1b[31mred"],
                      [row[:2] + [row[2], row[3][:1], row[4]] for row in rows])

    def test_corrupt_meta_is_listed_not_fatal(self):
        self.make_run("broken", '{"status": "done", ')
        result = self.xrun("archive", "list")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("corrupt", result.stdout)
        self.assertIn("broken/experiment_meta.json:1:", result.stderr)
        rows = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual(sum(row["status"] == "corrupt" for row in rows), 1)

    def test_stale_heartbeat_is_lost_fresh_one_is_running(self):
        stale = {"status": "running", "heartbeat": time.time() - 3600, "start_time": 1.0}
        fresh = {"status": "running", "heartbeat": time.time(), "start_time": 2.0}
        self.make_run("stale", json.dumps(stale))
        self.make_run("fresh", json.dumps(fresh))
        rows = {row["path"].rsplit("/", 1)[1]: row["status"] for row in
                json.loads(self.xrun("archive", "list", "--json").stdout)}
        self.assertEqual(rows["stale"], "lost")
        self.assertEqual(rows["fresh"], "running")
        result = self.xrun("archive", "list", "--where", 'status == "lost"')
        self.assertEqual(len(result.stdout.splitlines()), 2)
        self.make_run("lost_at", json.dumps({"status": "running", "start_time": time.time() - 7200,
                                             "heartbeat": time.time() - 3600}))
        line = next(line for line in self.xrun("archive", "list").stdout.splitlines()
                    if "lost_at" in line)
        self.assertTrue(line.endswith("1h00m"), line)  # up to its last heartbeat, not now

    def test_a_suspended_supervisor_here_is_not_lost(self):
        # A live xrun process on this host, as a suspended supervisor is.
        self.write("sleeper.py", experiment_source("", "import time\ntime.sleep(60)"))
        live = subprocess.Popen([XRUN, "run", "sleeper.py"], cwd=self.dir, env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.1)  # a run starts after its supervisor
            old, now = time.time() - 3600, time.time()
            for name, pid, start in [("suspended", live.pid, now), ("other", os.getpid(), now),
                                     ("reused", live.pid, now - 7200)]:
                self.make_run(name, json.dumps({
                    "status": "running", "heartbeat": old, "start_time": start,
                    "host": socket.gethostname(), "pid": pid}))
            rows = {row["path"].rsplit("/", 1)[1]: row["status"] for row in
                    json.loads(self.xrun("archive", "list", "--json").stdout)}
            self.assertEqual(rows["suspended"], "running")
            self.assertEqual(rows["other"], "lost")  # the pid is not an xrun process
            self.assertEqual(rows["reused"], "lost")  # an xrun started after the run did
            result = self.xrun("archive", "reconcile")
            self.assertNotIn("suspended", result.stdout)
            self.assertIn("other", result.stdout)
            self.assertIn("reused", result.stdout)
        finally:
            live.terminate()  # the supervisor stops its experiment and records the run
            live.wait(timeout=30)

    def test_a_dead_pid_in_another_pid_namespace_is_judged_by_the_heartbeat(self):
        here = os.readlink("/proc/self/ns/pid")
        for name, namespace in [("container", "pid:[1]"), ("this", here)]:
            folder = self.make_run(name, json.dumps({
                "status": "running", "heartbeat": time.time(), "start_time": time.time() - 5,
                "host": socket.gethostname(), "pid": 999999999, "pid_namespace": namespace}))
            past = time.time() - 3600  # settled: the second listing reads the index's row
            os.utime(folder / "experiment_meta.json", (past, past))
        for _ in range(2):
            rows = {row["path"].rsplit("/", 1)[1]: row["status"] for row in
                    json.loads(self.xrun("archive", "list", "--json").stdout)}
            # The same pid in a container's namespace is another process: its heartbeat tells.
            self.assertEqual(rows["container"], "running")
            self.assertEqual(rows["this"], "lost")

    def test_overview(self):
        result = self.xrun("archive", "overview")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("results/exp\n  runs        3 (2 done, 1 failed)", result.stdout)
        self.assertIn("success     67% of finished runs", result.stdout)
        self.assertIn("errors      ValueError x1", result.stdout)
        summary = json.loads(self.xrun("archive", "overview", "--json").stdout)
        self.assertEqual(summary["total"]["statuses"], {"done": 2, "failed": 1})
        self.assertEqual(summary["namespaces"]["results/exp"]["error_types"], {"ValueError": 1})
        self.assertGreater(summary["total"]["bytes"], 0)
        done = json.loads(self.xrun("archive", "overview", "--json", "--where",
                                    'status == "done"').stdout)
        self.assertEqual(done["total"]["runs"], 2)

    def test_corrupt_runs_count_with_their_folder_and_not_in_the_success_rate(self):
        broken = self.dir / "results" / "exp" / "broken"
        broken.mkdir()
        (broken / "experiment_meta.json").write_text("{")
        self.make_run("alone", "{")  # no readable run beside it: named after its folder
        summary = json.loads(self.xrun("archive", "overview", "--json").stdout)
        self.assertEqual(sorted(summary["namespaces"]), ["results/exp", "results/other"])
        group = summary["namespaces"]["results/exp"]
        self.assertEqual((group["runs"], group["statuses"]["corrupt"]), (4, 1))
        self.assertAlmostEqual(group["success_rate"], 2 / 3)
        du = self.xrun("archive", "du").stdout
        self.assertIn("results/exp/\n", du)
        self.assertIn("results/other/\n", du)
        self.assertNotIn(" exp/\n", du)

    def test_du(self):
        result = self.xrun("archive", "du", "--limit", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(len([line for line in lines[:3] if "exp/" in line]), 2)
        self.assertTrue(lines[-1].endswith("total (3 runs)"))
        self.assertTrue(any(line.endswith("results/exp/") for line in lines))
        result = self.xrun("archive", "du", "--where", "LR == 0.1")
        self.assertTrue(result.stdout.splitlines()[-1].endswith("total (1 run)"), result.stdout)

    def test_delete_restore_and_purge(self):
        result = self.xrun("archive", "delete", "--where", 'status == "failed"')
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 run moved to results/.trash", result.stdout)
        listed = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual([row["status"] for row in listed], ["done", "done"])
        self.assertEqual(len(list((self.dir / "results/.trash/exp").iterdir())), 1)

        result = self.xrun("archive", "restore", "--all")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(json.loads(self.xrun("archive", "list", "--json").stdout)), 3)

        self.xrun("archive", "delete", "--where", "LR < 0.05")
        result = self.xrun("archive", "delete", "--purge", "--yes")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("freed", result.stdout)
        self.assertFalse((self.dir / "results/.trash").exists())
        self.assertEqual(len(json.loads(self.xrun("archive", "list", "--json").stdout)), 1)

    def test_purge_with_a_selection_deletes_only_those_runs(self):
        self.xrun("archive", "delete", "--where", 'status == "failed"')
        result = self.xrun("archive", "delete", "--purge", "--where", 'MODEL == "cnn"', "--yes")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 run deleted for good", result.stdout)
        self.assertNotIn("restore", result.stdout)
        self.assertEqual(len(list((self.dir / "results/.trash/exp").iterdir())), 1)
        rows = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual([row["parameters"]["MODEL"] for row in rows], ["mlp"])
        self.assertEqual(self.xrun("archive", "restore", "--all").returncode, 0)
        rows = json.loads(self.xrun("archive", "list", "--json").stdout)
        self.assertEqual(sorted(row["parameters"]["MODEL"] for row in rows), ["bad", "mlp"])

    def ids(self):
        return sorted(row["id"] for row in json.loads(self.xrun("archive", "list", "--json").stdout))

    def test_delete_and_restore_runs_named_by_id_or_folder(self):
        first, second, third = [run.name for run in self.runs("results/exp")]
        result = self.xrun("archive", "delete", first[-8:], f"results/exp/{second}")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"trashed  results/exp/{first}", result.stdout)
        self.assertEqual(self.ids(), [third])
        # Restore takes the same names, among the trashed runs; --dry-run changes nothing.
        result = self.xrun("archive", "restore", first[-8:], "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"would restore results/exp/{first}", result.stdout)
        self.assertIn("1 run would come back; dry run: nothing was changed", result.stdout)
        self.assertEqual(self.ids(), [third])
        result = self.xrun("archive", "restore", first)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.ids(), [first, third])
        # Names that name no run, or several, or a run of another archive: nothing moves.
        self.assertUsageError(self.xrun("archive", "delete", first + "x"), f"no run '{first}x'",
                              f"did you mean {first}?")
        self.assertUsageError(self.xrun("archive", "delete", "_"), "'_' names 2 runs")
        self.write("elsewhere/exp.py", (self.dir / "exp.py").read_text())
        self.xrun("run", "elsewhere/exp.py")
        other = self.only_run("elsewhere/results/exp")
        self.assertUsageError(self.xrun("archive", "delete", other),
                              f"{other} is not a run of the archive results")
        self.assertUsageError(self.xrun("archive", "delete", first, "--all"),
                              "give runs, or --where EXPR, or --all; not both")
        self.assertEqual(self.ids(), [first, third])

    def test_dry_run_lists_what_would_go_and_changes_nothing(self):
        first = self.runs("results/exp")[0]
        for args, expected in [
                ((), f"would trash  results/exp/{first.name}\n1 run would move to "
                     "results/.trash; dry run: nothing was changed\n"),
                (("--purge",), f"would delete results/exp/{first.name}\n1 run would be "
                               "deleted for good, freeing ")]:
            with self.subTest(args=args):
                result = self.xrun("archive", "delete", first.name, "--dry-run", *args)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(expected, result.stdout)
                self.assertEqual(len(self.ids()), 3)
        self.xrun("archive", "delete", first.name)
        result = self.xrun("archive", "delete", "--purge", "--dry-run")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"would delete results/.trash/exp/{first.name}", result.stdout)
        self.assertIn("the trash holds 1 run (", result.stdout)
        self.assertTrue((self.dir / "results/.trash/exp" / first.name).is_dir())

    def purge_on_terminal(self, answer, *args):
        """`xrun archive delete --purge ARGS` with stdin on a terminal that types `answer`."""
        leader, follower = os.openpty()
        try:
            os.write(leader, answer.encode())
            return subprocess.run([XRUN, "archive", "delete", "--purge", *args], cwd=self.dir,
                                  stdin=follower, capture_output=True, text=True,
                                  env=self.env(), timeout=60)
        finally:
            os.close(follower)
            os.close(leader)

    def test_purge_asks_on_a_terminal_and_needs_yes_without_one(self):
        first, second, _ = self.runs("results/exp")
        result = self.purge_on_terminal("n\n", first.name)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(f"  results/exp/{first.name}\ndelete 1 run for good (", result.stderr)
        self.assertIn("? [y/N] ", result.stderr)
        self.assertIn("nothing was deleted", result.stdout)
        self.assertTrue(first.is_dir())
        result = self.purge_on_terminal("y\n", first.name)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("1 run deleted for good", result.stdout)
        self.assertFalse(first.exists())
        self.assertFalse((self.dir / "results/.trash/exp" / first.name).exists())
        # Without a terminal to ask on, only --yes deletes for good.
        self.xrun("archive", "delete", second.name)
        result = self.xrun("archive", "delete", "--purge")
        self.assertUsageError(result, "--purge would delete 1 run for good (",
                              "stdin is not a terminal to confirm it on; nothing was deleted",
                              "add --yes")
        self.assertTrue((self.dir / "results/.trash/exp" / second.name).is_dir())
        result = self.purge_on_terminal("", "--yes")  # --yes asks nothing, even on a terminal
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("[y/N]", result.stderr)
        self.assertFalse((self.dir / "results/.trash").exists())

    def test_delete_needs_a_selection_and_spares_running_runs(self):
        self.assertUsageError(self.xrun("archive", "delete"),
                              "delete needs runs (ids or folders), --where EXPR or --all")
        self.make_run("live", json.dumps({"status": "running", "heartbeat": time.time()}))
        result = self.xrun("archive", "delete", "--all")
        self.assertUsageError(result, "is recorded as running; nothing was deleted")
        self.assertEqual(len(json.loads(self.xrun("archive", "list", "--json").stdout)), 4)
        self.assertUsageError(self.xrun("archive", "restore", "--all"), "there is no trash")

    def test_errors(self):
        self.assertUsageError(self.xrun("archive", "list", "--where", "LR >"),
                              "--where: column 5: expected a value")
        self.assertUsageError(self.xrun("archive", "list", "--path", "nowhere"),
                              "nowhere is not an archive folder")
        result = self.xrun("archive", "lst")
        self.assertEqual(result.returncode, 2)

    def test_a_name_no_run_has_is_warned_of_with_the_likely_one(self):
        result = self.xrun("archive", "list", "--where", 'lr > 0.01 or statu == "done"')
        self.assertEqual((result.returncode, result.stdout), (0, ""))
        self.assertIn("no run has a value for lr (did you mean LR?)", result.stderr)
        self.assertIn("no run has a value for statu (did you mean status?)", result.stderr)
        # A name some run has is not warned of, even when a short-circuit skips it.
        result = self.xrun("archive", "list", "--where", 'status == "failed" and LR > 0.01')
        self.assertNotIn("warning", result.stderr)

    def test_a_data_key_no_run_has_is_warned_of_with_the_likely_one(self):
        result = self.xrun("archive", "list", "--where", "data.metrics.acu > 0.5")
        self.assertEqual((result.returncode, result.stdout), (0, ""))
        self.assertIn("no run has a value for data.metrics.acu (did you mean data.metrics.acc?)",
                      result.stderr)
        result = self.xrun("archive", "list", "--where", "data.metric > 0.5")
        self.assertIn("(did you mean data.metrics?)", result.stderr)

    def test_a_glob_on_a_list_matches_its_elements(self):
        for name, hidden, tags in [("wide", [64, 16], ["baseline", "gpu"]),
                                   ("narrow", [8], ["cpu"])]:
            self.make_run(name, json.dumps({"status": "done", "start_time": 1.0, "parameters": {
                "HIDDEN": {"name": "HIDDEN", "type": "list[int]", "value": hidden},
                "TAGS": {"name": "TAGS", "type": "list[str]", "value": tags}}}))

        def names(where):
            result = self.xrun("archive", "list", "--where", where)
            self.assertEqual(result.returncode, 0, result.stderr)
            return [line.split()[1].rsplit("/", 1)[1] for line in result.stdout.splitlines()[1:]]

        self.assertEqual(names('HIDDEN ~ "*16*"'), ["wide"])
        self.assertEqual(names('HIDDEN !~ "*16*"'), ["narrow"])
        self.assertEqual(names('TAGS ~ "base*"'), ["wide"])
        self.assertEqual(names('TAGS !~ "gpu"'), ["narrow"])
        self.assertEqual(len(names('LR ~ "0.0*"')), 2)  # a number by its text

    def test_floats_are_listed_as_floats(self):
        folder = self.make_run("floats", json.dumps({"status": "done", "start_time": 1.0,
                                                     "parameters": {"F": {"value": 1.0},
                                                                    "N": {"value": 3}}}))
        (folder / "experiment_data.json").write_text('{"loss": 2.0, "steps": 10}')
        result = self.xrun("archive", "list", "--where", "F == 1", "--columns", "F,N,data.loss,"
                           "data.steps")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines()[1].split()[-4:], ["1.0", "3", "2.0", "10"])
        rows = list(csv.reader(io.StringIO(self.xrun("archive", "list", "--csv", "--where",
                                                     "F == 1", "--columns", "F,N").stdout)))
        self.assertEqual(rows[1][-2:], ["1.0", "3"])

    def test_empty_selection(self):
        result = self.xrun("archive", "list", "--where", "LR > 5")
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        self.assertIn("no runs match", result.stderr)
        for command in ("overview", "du"):
            with self.subTest(command=command):
                result = self.xrun("archive", command, "--where", "LR > 5")
                self.assertEqual((result.returncode, result.stdout), (0, ""))
                self.assertIn("no runs match in results", result.stderr)


if __name__ == "__main__":
    unittest.main()
