"""The Python side of the protocol with xrun's C++ side, against the same examples of every
message (tests/protocol/*.json) that the C++ unit test reads into core::protocol's structs: what
``_protocol`` builds has exactly the examples' keys and values, and what it and the modules using
it read accepts the examples. Under plain python3, with a stand-in for the native module."""

import copy
import json
import sys
import unittest
from unittest import mock
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
sys.dont_write_bytecode = True  # the source tree gets no __pycache__
sys.path.insert(0, str(ROOT / "src" / "python" / "package"))

from xrun import UsageError, _protocol  # noqa: E402 - after the path is set
from xrun._common import _NotRecorded  # noqa: E402
from xrun._compose import _apply_config, _apply_settings  # noqa: E402
from xrun._params import Parameter  # noqa: E402
from xrun._plugins import _plugin_choices  # noqa: E402


def example(name: str) -> dict:
    return json.loads((ROOT / "tests" / "protocol" / f"{name}.json").read_text(encoding="utf-8"))


class NativeStandIn:
    """What ``_protocol`` uses of ``_xrun``: the invocation it is given, the messages it sends
    (kept), and the replies it gets."""

    def __init__(self, invocation=None, reply=None):
        self._invocation = invocation
        self._reply = reply
        self.sent = []

    def invocation(self):
        return copy.deepcopy(self._invocation)

    def request(self, message):
        self.sent.append(message)
        return copy.deepcopy(self._reply)

    def notify(self, message):
        self.sent.append(message)


class _Model:
    def __repr__(self):
        return "<Model mlp>"


def parameter_of(record: dict) -> Parameter:
    """The parameter whose record() is ``record``."""
    value = {"LR": float("nan"), "MODEL": _Model()}.get(record["name"], record["value"])
    parameter = Parameter(record["name"], value, None, record["type"], record["description"],
                          record.get("source_file", ""))
    parameter.source = record["source"]
    return parameter


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.saved = _protocol._xrun

    def tearDown(self):
        _protocol._xrun = self.saved

    def use(self, native: NativeStandIn) -> NativeStandIn:
        _protocol._xrun = native
        return native


class Examples(unittest.TestCase):
    def test_every_example_is_of_this_version(self):
        names = sorted(path.stem for path in (ROOT / "tests" / "protocol").glob("*.json"))
        self.assertEqual(names, ["finish", "invocation", "invocation_function", "plan", "plugins",
                                 "prepare", "prepare_function", "prepare_reply",
                                 "prepare_reply_error"])
        for name in names:
            self.assertEqual(example(name)["protocol"], _protocol.PROTOCOL_VERSION, name)


def experiment_of(fixture: dict, **fields) -> SimpleNamespace:
    """A stand-in for the experiment a "prepare" example was made from, with ``fields``."""
    return SimpleNamespace(
        parameter_specs={r["name"]: parameter_of(r) for r in fixture["parameters"]},
        base_path=fixture["base_path"], namespace=fixture["namespace"], name=fixture["name"],
        description=fixture["description"], short_description=fixture["short_description"],
        _hook_records=lambda: fixture["hooks"], **fields)


class Builders(ProtocolTest):
    def test_prepare(self):
        fixture = example("prepare")
        native = self.use(NativeStandIn(reply=example("prepare_reply")))
        experiment = experiment_of(fixture, dependencies=fixture["dependencies"] * 2)  # once each
        _protocol.request_run_folder(experiment, fixture["plugins"])
        (sent,) = native.sent
        self.assertEqual(set(sent), set(fixture))
        for key in ("python_version", "python_executable", "sys_path"):  # of this interpreter
            self.assertIsInstance(sent[key], type(fixture[key]), key)
            sent[key] = fixture[key]
        self.assertEqual(json.loads(json.dumps(sent)), fixture)

    def test_prepare_of_a_function_run(self):
        fixture = example("prepare")
        function = example("prepare_function")
        native = self.use(NativeStandIn(reply=example("prepare_reply")))
        experiment = experiment_of(fixture, dependencies=fixture["dependencies"],
                                   function_record=function["function"],
                                   meta_extra=function["meta_extra"])
        _protocol.request_run_folder(experiment, fixture["plugins"])
        (sent,) = native.sent
        self.assertEqual(set(sent), set(fixture) | {"function", "meta_extra"})
        self.assertEqual(sent["function"], function["function"])
        self.assertEqual(sent["meta_extra"], function["meta_extra"])

    def test_prepare_of_a_started_run(self):
        function = example("prepare_function")
        native = self.use(NativeStandIn(reply=example("prepare_reply")))
        arguments = ("train", function["base_path"], function["parameters"],
                     function["description"], function["dependencies"], None)
        with mock.patch.object(_protocol, "_native", lambda: native):
            _protocol.request_started_run_folder(*arguments)
            _protocol.request_started_run_folder(*arguments, function=function["function"],
                                                 meta_extra=function["meta_extra"])
        plain, of_function = native.sent
        self.assertNotIn("function", plain)
        self.assertNotIn("meta_extra", plain)
        self.assertEqual(set(of_function) - set(plain), {"function", "meta_extra"})
        self.assertEqual(of_function["function"], function["function"])
        self.assertEqual(of_function["meta_extra"], function["meta_extra"])
        for key in set(function) - {"namespace", "python_executable", "python_version",
                                    "sys_path"}:
            self.assertEqual(of_function[key], function[key], key)

    def test_finish(self):
        fixture = example("finish")
        native = self.use(NativeStandIn())
        outcome = {key: fixture[key] for key in ("error_type", "interrupted", "signal")}
        _protocol.report_end(outcome, fixture["tracked"], fixture["hooks"], fixture["end_time"],
                             fixture["plugins"])
        self.assertEqual(native.sent, [fixture])

    def test_plugins(self):
        fixture = example("plugins")
        native = self.use(NativeStandIn())
        _protocol.report_plugins(fixture["plugins"])
        self.assertEqual(native.sent, [fixture])

    def test_plan(self):
        fixture = example("plan")
        native = self.use(NativeStandIn())
        _protocol.report_plan(fixture["index"], fixture["parameters"], fixture["run_hash"],
                              fixture["base_path"], fixture["namespace"])
        self.assertEqual(native.sent, [fixture])


class Readers(ProtocolTest):
    def test_the_invocation_is_read_by_the_modules_that_use_it(self):
        fixture = example("invocation")
        self.use(NativeStandIn(invocation=fixture))
        invocation = _protocol.invocation()
        self.assertEqual(invocation, fixture)
        self.assertEqual([(name, enabled) for name, enabled, _, _ in _plugin_choices(invocation)],
                         [("notify", True), ("plot_track", False)])
        experiment = SimpleNamespace(
            name="", namespace="", base_path="", dependencies=[], _describe=lambda text: None,
            parameter_specs={"BATCH_SIZE": Parameter("BATCH_SIZE", 32, int),
                             "DATA_DIR": Parameter("DATA_DIR", "", str),
                             "TOKEN": Parameter("TOKEN", None, Optional[str]),
                             "LR": Parameter("LR", 0.1, float)})
        _apply_config(experiment, invocation["config"])
        _apply_settings(experiment, invocation["variation"])
        specs = experiment.parameter_specs
        self.assertEqual((experiment.name, experiment.namespace),
                         ("train_small", "results/train_small"))
        self.assertEqual((specs["BATCH_SIZE"].value, specs["BATCH_SIZE"].source), (64, "config"))
        self.assertEqual(specs["DATA_DIR"].value, "/scratch/ana/data")
        self.assertIn("API_TOKEN", specs["TOKEN"].unset)
        self.assertEqual((specs["LR"].value, specs["LR"].source), (0.001, "cli"))

    def test_the_invocation_of_a_function_run(self):
        fixture = example("invocation_function")
        self.use(NativeStandIn(invocation=fixture))
        invocation = _protocol.invocation()
        self.assertEqual((invocation["file"], invocation["function"]),
                         ("/home/ana/project/mod.py", "train"))
        self.assertEqual((invocation["cache"], invocation["rerun"]), (True, False))
        self.assertEqual(example("invocation")["cache"], None)

    def test_the_reply_gives_the_run_folder_or_why_there_is_none(self):
        fixture = example("prepare_reply")
        self.use(NativeStandIn(reply=fixture))
        experiment = SimpleNamespace(
            parameter_specs={"__PREFIX__": Parameter("__PREFIX__", ""),
                             "__DEBUG__": Parameter("__DEBUG__", False)},
            base_path="results", namespace="train", name="train", description="",
            short_description="", _hook_records=lambda: [], dependencies=[])
        self.assertEqual(_protocol.request_run_folder(experiment, []),
                         (fixture["path"], fixture["start_time"]))
        self.use(NativeStandIn(reply=example("prepare_reply_error")))
        with self.assertRaises(_NotRecorded):
            _protocol.request_run_folder(experiment, [])

    def test_a_message_of_another_version_is_refused(self):
        invocation = dict(example("invocation"), protocol=2)
        self.use(NativeStandIn(invocation=invocation))
        with self.assertRaisesRegex(UsageError, "protocol version 2, this xrun package speaks "
                                                "version 1"):
            _protocol.invocation()
        reply = example("prepare_reply")
        del reply["protocol"]
        self.use(NativeStandIn(reply=reply))
        experiment = SimpleNamespace(
            parameter_specs={"__PREFIX__": Parameter("__PREFIX__", ""),
                             "__DEBUG__": Parameter("__DEBUG__", False)},
            base_path="results", namespace="train", name="train", description="",
            short_description="", _hook_records=lambda: [], dependencies=[])
        with self.assertRaisesRegex(UsageError, "has no protocol version"):
            _protocol.request_run_folder(experiment, [])


if __name__ == "__main__":
    unittest.main()
