"""The command line itself: help, version, unknown commands."""

import re
import unittest

from support import Workspace, experiment_source

COLOR = re.compile(r"\033\[[0-9;]*m")  # a color code (not the progress line's \033[K)
ERROR = "\033[1;31mxrun: error:\033[0m"
WARNING = "\033[1;33mxrun: warning:\033[0m"


class CommandLine(Workspace):
    def test_version(self):
        result = self.xrun("--version")
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout.strip(), r"^xrun \d+\.\d+\.\d+$")

    def test_help_lists_commands_with_descriptions(self):
        result = self.xrun("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("run", result.stdout)
        self.assertIn("Run a Python experiment module", result.stdout)
        self.assertIn("python-path", result.stdout)

    def test_mistyped_command_gets_did_you_mean(self):
        result = self.xrun("rnu", "exp.py")
        self.assertEqual(result.returncode, 2)
        self.assertIn("xrun: error: unknown command 'xrun rnu'", result.stderr)
        self.assertIn("did you mean 'xrun run'?", result.stderr)

    def test_unknown_command_without_close_match(self):
        result = self.xrun("deploy")
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown command 'xrun deploy'", result.stderr)
        self.assertIn("xrun --help", result.stderr)

    def test_mistyped_subcommand_of_a_group(self):
        result = self.xrun("archive", "lst")
        self.assertEqual(result.returncode, 2)
        self.assertIn("unknown command 'xrun archive lst'", result.stderr)
        self.assertIn("did you mean 'xrun archive list'?", result.stderr)

    def test_no_command(self):
        result = self.xrun()
        self.assertEqual(result.returncode, 2)
        self.assertIn("no command given", result.stderr)

    def test_unknown_option(self):
        result = self.xrun("--frobnicate")
        self.assertEqual(result.returncode, 2)
        self.assertIn("xrun: error:", result.stderr)

    def test_run_help_without_file(self):
        result = self.xrun("run", "--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("--dry-run", result.stdout)

    def test_run_without_file(self):
        result = self.xrun("run")
        self.assertEqual(result.returncode, 2)
        self.assertIn("run needs an experiment file", result.stderr)


class Colors(Workspace):
    """Color on a terminal only, and never with NO_COLOR (https://no-color.org)."""

    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source("LR: float = 0.1\n", """
            e["acc"] = 1 - e.LR
            if e.LR > 1:
                raise ValueError("too big")
            """))
        self.write("odd.yml", "extend: exp.py\nmodle: x\n")
        self.write(".config/xrun/plugins/boom.py", "def before_run(event):\n    raise OSError(1)\n")

    def terminal_env(self, **extra):
        env = self.env(**{"TERM": "xterm", **extra})
        if "NO_COLOR" not in extra:
            env.pop("NO_COLOR", None)
        return env

    def test_error_and_warning_prefixes(self):
        cases = [(("archive", "list", "--path", "nowhere"), ERROR),  # xrun's own
                 (("run", "exp.py", "--LR", "abc"), ERROR),  # the experiment process's
                 (("run", "exp.py", "--dry-run", "--LR", "abc"), ERROR),  # the package's
                 (("run", "odd.yml", "--dry-run"), WARNING)]
        for args, prefix in cases:
            with self.subTest(args=args):
                _, shown, _ = self.on_terminal(*args, env=self.terminal_env())
                self.assertIn(prefix, shown)
                for empty in ["", "0"]:  # any value but an empty one turns color off
                    _, shown, _ = self.on_terminal(*args, env=self.terminal_env(NO_COLOR=empty))
                    self.assertEqual(prefix in shown, empty == "", shown)
                    self.assertEqual(bool(COLOR.search(shown)), empty == "", shown)
                _, shown, _ = self.on_terminal(*args, env=self.terminal_env(TERM="dumb"))
                self.assertNotRegex(shown, COLOR)
                piped = self.xrun(*args, env=self.terminal_env())
                self.assertIn(COLOR.sub("", prefix), piped.stderr)
                self.assertNotRegex(piped.stdout + piped.stderr, COLOR)

    def test_a_warning_from_the_experiment_process_stays_plain_in_the_log(self):
        code, shown, _ = self.on_terminal("run", "exp.py", "--plugin", "boom",
                                          env=self.terminal_env())
        self.assertEqual(code, 0, shown)
        self.assertIn(WARNING + " plugin boom failed in before_run", shown)
        log = self.log(self.only_run("results/exp"))
        self.assertIn("xrun: warning: plugin boom failed in before_run", log)
        self.assertNotIn("\033", log)

    def test_statuses_and_differences(self):
        for lr in ["0.1", "2"]:
            self.xrun("run", "exp.py", "--LR", lr)
        done, failed = (run.name for run in self.runs("results/exp"))
        expected = {
            ("archive", "list"): ["\033[32mdone\033[0m", "\033[31mfailed\033[0m"],
            ("archive", "show", failed): ["\033[31mfailed\033[0m  results/exp/"],
            ("archive", "diff", done, failed): [
                f"\033[31m- results/exp/{done}\033[0m\n\033[32m+ results/exp/{failed}\033[0m",
                "LR: \033[31m0.1\033[0m -> \033[32m2.0\033[0m"],
        }
        for args, colored in expected.items():
            with self.subTest(args=args):
                _, shown, _ = self.on_terminal(*args, stdout=True, stderr=False,
                                               env=self.terminal_env())
                for text in colored:
                    self.assertIn(text, shown)
                _, shown, _ = self.on_terminal(*args, stdout=True, stderr=False,
                                               env=self.terminal_env(NO_COLOR="1"))
                self.assertNotRegex(shown, COLOR)
                self.assertIn(COLOR.sub("", colored[0]), shown)
                self.assertNotRegex(self.xrun(*args, env=self.terminal_env()).stdout, COLOR)

    def test_sweep_lines(self):
        code, shown, _ = self.on_terminal("run", "exp.py", "--sweep", "LR=0.1,2", "-j", "1",
                                          env=self.terminal_env())
        self.assertEqual(code, 1, shown)
        self.assertIn("\033[32mdone\033[0m        #0", shown)
        self.assertIn("\033[31mfailed\033[0m      #1", shown)
        sweep = next((self.dir / "results/exp/.sweeps").iterdir()).name
        _, status, _ = self.on_terminal("sweep", "status", sweep, "--path", "results",
                                        stdout=True, stderr=False, env=self.terminal_env())
        self.assertIn("  \033[32mdone\033[0m        #0", status)
        piped = self.xrun("run", "exp.py", "--sweep", "LR=0.1,2", "-j", "1",
                          env=self.terminal_env())
        self.assertIn("done        #0", piped.stderr)
        self.assertNotRegex(piped.stderr, COLOR)
        _, shown, _ = self.on_terminal("run", "exp.py", "--sweep", "LR=0.1,2", "-j", "1",
                                       env=self.terminal_env(NO_COLOR="1"))
        self.assertIn("done        #0", shown)
        self.assertNotRegex(shown, COLOR)


if __name__ == "__main__":
    unittest.main()
