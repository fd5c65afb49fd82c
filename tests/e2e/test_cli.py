"""The command line itself: help, version, unknown commands."""

import unittest

from support import Workspace


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


if __name__ == "__main__":
    unittest.main()
