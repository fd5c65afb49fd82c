"""Shell completion: bash driven as it would be at a prompt, and the scripts for zsh and fish."""

import os
import shutil
import subprocess
import unittest
from pathlib import Path

from support import XRUN, Workspace, experiment_source

SOURCE = Path(os.environ.get("XRUN_SOURCE_DIR", Path(__file__).resolve().parents[2]))


class Completion(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", experiment_source(
            "# :param LR:\n#     The learning rate.\nLR: float = 0.1\nLAYERS: list[int] = [8]\n"
            "MODEL: str = 'mlp'\n",
            'e["x"] = e.LR'))
        self.write("cfg.yml", "extend: exp.py\nparameters:\n  LR: 0.2\n")
        self.write("notes.txt", "not an experiment\n")
        (self.dir / "sub").mkdir()
        # A module that cannot be imported: completion reads its text, never runs it.
        self.write("broken.py", "raise SystemExit('imported!')\nSPEED: int = 3\n")

    def complete(self, *words):
        """The candidates bash offers for the command line `xrun WORDS...` (the last word is
        the one being typed)."""
        script = SOURCE / "completions" / "xrun.bash"
        words = ["xrun", *words]
        array = " ".join("'" + word.replace("'", "'\\''") + "'" for word in words)
        program = (f"source '{script}'; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
                   "_xrun; printf '%s\\n' \"${COMPREPLY[@]}\"")
        env = self.env(PATH=f"{Path(XRUN).parent}:{os.environ['PATH']}")
        result = subprocess.run(["bash", "-c", program], cwd=self.dir, capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return sorted(line for line in result.stdout.splitlines() if line)

    def test_commands_and_flags(self):
        self.assertEqual(self.complete("ar"), ["archive"])
        self.assertIn("reproduce", self.complete(""))
        self.assertNotIn("__complete", self.complete(""))
        self.assertEqual(self.complete("archive", "li"), ["list"])
        self.assertEqual(self.complete("archive", "list", "--co"), ["--columns"])
        self.assertEqual(self.complete("archive", "compress", "--"),
                         ["--all", "--help", "--output", "--path", "--remove", "--where"])
        self.assertEqual(self.complete("completions", ""), ["bash", "fish", "zsh"])

    def test_experiment_files_then_their_parameters(self):
        self.assertEqual(self.complete("run", ""), ["broken.py", "cfg.yml", "exp.py", "sub"])
        self.assertEqual(self.complete("run", "exp.py", "--L"), ["--LAYERS", "--LR"])
        self.assertIn("--MODEL", self.complete("run", "exp.py", "--LR", "0.5", "--"))
        self.assertIn("--dry-run", self.complete("run", "exp.py", "--"))
        self.assertEqual(self.complete("run", "exp.py", "--LR", ""), [])  # a value: free text
        self.assertEqual(self.complete("run", "cfg.yml", "--M"), ["--MODEL"])
        self.assertEqual(self.complete("run", "broken.py", "--S"), ["--SPEED"])

    def test_a_config_needing_unset_variables_still_completes(self):
        self.write("env.yml", "extend: exp.py\nname: ${RUN_NAME}\nbase_path: ${OUT}\n"
                   "parameters:\n  LR: ${RATE}\n")
        self.assertEqual(self.complete("run", "env.yml", "--L"), ["--LAYERS", "--LR"])

    def test_launchers_and_the_sweep_commands(self):
        self.assertEqual(self.complete("run", "exp.py", "--launcher", ""), ["local", "slurm"])
        self.assertEqual(self.complete("run", "--launcher", "s"), ["slurm"])
        self.assertEqual(self.complete("run", "exp.py", "--no"), ["--no-plugin", "--note"])
        self.assertEqual(self.complete("run", "exp.py", "--ta"), ["--tag"])
        self.assertEqual(self.complete("reproduce", "--ta"), ["--tag"])
        self.assertEqual(self.complete("run", "exp.py", "--tag", ""), [])  # a name of one's own
        self.assertEqual(self.complete("archive", "modify", "--add"), ["--add-tag"])
        self.assertIn("--array-limit", self.complete("run", "exp.py", "--ar"))
        self.assertEqual(self.complete("sweep", ""),
                         ["cancel", "list", "resume", "retry", "status"])  # not `task`

    def test_plugin_names(self):
        mine = self.dir / ".config" / "xrun" / "plugins"
        mine.mkdir(parents=True)
        (mine / "mine.py").write_text('"""Mine."""\n')
        self.assertEqual(self.complete("run", "--plugin", ""), ["mine", "notify", "plot_track"])
        self.assertEqual(self.complete("run", "exp.py", "--no-plugin", "p"), ["plot_track"])
        self.assertEqual(self.complete("reproduce", "x", "--plugin", "m"), ["mine"])

    def test_option_values_bare_flags_and_quoting(self):
        for lr in ("0.1",):
            self.assertEqual(self.xrun("run", "exp.py", "--LR", lr).returncode, 0)
        (self.dir / "elsewhere").mkdir()
        self.assertEqual(self.xrun("archive", "list", "--path", "elsewhere").returncode, 0)
        # --path=DIR reaches xrun split at '=' and is read as --path DIR.
        self.assertEqual(self.complete("archive", "show", "--path", "=", "elsewhere", ""), [])
        ids = [run.name for run in self.runs("results/exp")]
        self.assertEqual(self.complete("archive", "show", "--path", "=", "results", ""), ids)
        # A bool parameter given bare is followed by the next option, not by its value.
        self.assertEqual(self.complete("run", "exp.py", "--__DEBUG__", "--L"),
                         ["--LAYERS", "--LR"])
        # A quoted file name is the file.
        self.write("my exp.py", "SPEED: int = 3\n")
        self.assertEqual(self.complete("run", "'my exp.py'", "--S"), ["--SPEED"])
        self.assertEqual(self.complete("run", "my\\ exp.py", "--S"), ["--SPEED"])
        # Files for --from and --__INCLUDE__, folders for --dir.
        offered = self.complete("template", "extend", "x", "--from", "")
        self.assertTrue({"broken.py", "exp.py", "my exp.py", "sub"} <= set(offered), offered)
        self.assertFalse({"cfg.yml", "notes.txt"} & set(offered), offered)
        self.assertIn("exp.py", self.complete("run", "exp.py", "--__INCLUDE__", ""))
        self.assertEqual(self.complete("template", "experiment", "x", "--dir", "s"), ["sub"])

    def test_descriptions_carry_the_type(self):
        self.write("long.py", "# :param WIDTH:\n#     " + "é" * 80 + "\nWIDTH: int = 3\n")
        described = self.xrun("__complete", "run", "long.py", "--W").stdout  # valid UTF-8
        self.assertTrue(described.startswith("--WIDTH\tint: é"), described)
        self.assertTrue(described.rstrip().endswith("é..."), described)
        result = self.xrun("__complete", "run", "exp.py", "--L")
        self.assertIn("--LR\tfloat: The learning rate.", result.stdout)
        self.assertIn("--LAYERS\tlist[int]", result.stdout)

    def test_run_names_for_archive_commands(self):
        for lr in ("0.1", "0.2"):
            self.assertEqual(self.xrun("run", "exp.py", "--LR", lr).returncode, 0)
        ids = [run.name for run in self.runs("results/exp")]
        self.assertEqual(self.complete("archive", "show", ""), ids)
        self.assertEqual(self.complete("archive", "diff", ids[0], ""), ids)
        self.assertEqual(self.complete("reproduce", ids[1][:12]), ids)
        self.assertEqual(self.complete("reproduce", ids[0], "--L"), ["--LAYERS", "--LR"])
        # delete offers the archive's runs, restore the trashed ones.
        self.assertEqual(self.complete("archive", "delete", ""), ids)
        self.assertEqual(self.xrun("archive", "delete", ids[0]).returncode, 0)
        self.assertEqual(self.complete("archive", "delete", ids[1], ""), ids[1:])
        self.assertEqual(self.complete("archive", "restore", ""), ids[:1])
        self.assertEqual(self.complete("archive", "modify", ""), ids[1:])
        folders = self.complete("archive", "list", "--path", "")
        self.assertIn("results", folders)
        self.assertIn("sub", folders)
        self.assertNotIn("exp.py", folders)

    def test_fish_offers_the_same_candidates(self):
        fish = shutil.which("fish")
        if not fish:
            self.skipTest("fish is not installed")
        def complete(line):
            program = f"source '{SOURCE / 'completions' / 'xrun.fish'}'; complete -C '{line}'"
            env = self.env(PATH=f"{Path(XRUN).parent}:{os.environ['PATH']}")
            result = subprocess.run([fish, "-c", program], cwd=self.dir, capture_output=True,
                                    text=True, env=env, timeout=30)
            self.assertEqual(result.returncode, 0, result.stderr)
            return sorted(result.stdout.splitlines())
        self.assertEqual(complete("xrun ar"), ["archive\tWork with the runs already recorded "
                                               "(list them; never starts Python)"])
        self.assertEqual([c.split("\t")[0] for c in complete("xrun run ")],
                         ["broken.py", "cfg.yml", "exp.py", "sub/"])
        self.assertIn("--LR\tfloat: The learning rate.", complete("xrun run exp.py --L"))
        self.assertEqual([c.split("\t")[0] for c in complete("xrun run exp.py --plugin p")],
                         ["plot_track"])

    def test_zsh_hands_the_candidates_to_its_completion_system(self):
        zsh = shutil.which("zsh")
        if not zsh:
            self.skipTest("zsh is not installed")
        # zsh's completion functions replaced by ones that print what they were given.
        program = (
            "compdef() { :; }; _files() { print -r -- \"_files $*\"; }; "
            "_describe() { print -rl -- \"${(@P)4}\"; }; "
            f"source '{SOURCE / 'completions' / 'xrun.zsh'}'; "
            "words=(xrun run exp.py --L); CURRENT=4; _xrun; "
            "words=(xrun run ''); CURRENT=3; _xrun; "
            "words=(xrun archive list --path ''); CURRENT=5; _xrun; "
            "words=(xrun completions z); CURRENT=3; _xrun")
        env = self.env(PATH=f"{Path(XRUN).parent}:{os.environ['PATH']}")
        result = subprocess.run([zsh, "-fc", program], cwd=self.dir, capture_output=True,
                                text=True, env=env, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.splitlines(),
                         ["--LR:float: The learning rate.", "--LAYERS:list[int]",
                          "_files -g *.(py|yml|yaml)", "_files -/", "zsh"])

    def test_scripts_for_every_shell(self):
        for shell in ("bash", "zsh", "fish"):
            with self.subTest(shell=shell):
                result = self.xrun("completions", shell)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout,
                                 (SOURCE / "completions" / f"xrun.{shell}").read_text())
                checker = shutil.which(shell)
                if checker:
                    check = subprocess.run([checker, "-n", SOURCE / "completions" /
                                            f"xrun.{shell}"], capture_output=True, text=True)
                    self.assertEqual(check.returncode, 0, check.stderr)
        self.assertUsageError(self.xrun("completions", "tcsh"), "tcsh")


if __name__ == "__main__":
    unittest.main()
