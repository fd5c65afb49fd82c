#include "python/interpreter.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <fstream>

using namespace xrun::python;
using xrun::test::TempDir;

namespace {

std::string make_venv(const TempDir& dir, const std::string& version_line) {
  const auto venv = dir.path() / "venv";
  std::filesystem::create_directories(venv / "bin");
  std::ofstream(venv / "pyvenv.cfg") << "home = /usr/bin\ninclude-system-site-packages = true\n"
                                     << version_line << "\n";
  return venv.string();
}

} // namespace

TEST_CASE("without a virtualenv the build Python is used") {
  const auto choice = choose_python(nullptr, "/usr/bin/python3", "3.11.2");
  CHECK(choice.executable == "/usr/bin/python3");
  CHECK(choice.warning.empty());
  CHECK(choose_python("", "/usr/bin/python3", "3.11.2").executable == "/usr/bin/python3");
}

TEST_CASE("a virtualenv of the same Python is used through its unresolved bin/python") {
  TempDir dir;
  const auto venv = make_venv(dir, "version = 3.11.2");
  const auto choice = choose_python(venv.c_str(), "/usr/bin/python3", "3.11.2");
  CHECK(choice.executable == venv + "/bin/python");
  CHECK(choice.warning.empty());
  const auto newer_key = make_venv(dir, "version_info = 3.11.2.final.0");
  CHECK(choose_python(newer_key.c_str(), "/usr/bin/python3", "3.11.2").executable ==
        venv + "/bin/python");
}

TEST_CASE("a virtualenv of another Python build falls back with a warning") {
  TempDir dir;
  const auto venv = make_venv(dir, "version = 3.11.7");
  const auto choice = choose_python(venv.c_str(), "/usr/bin/python3", "3.11.2");
  CHECK(choice.executable == "/usr/bin/python3");
  CHECK(choice.warning.find("3.11.7") != std::string::npos);
  const auto broken = (dir.path() / "nothing").string();
  CHECK(choose_python(broken.c_str(), "/usr/bin/python3", "3.11.2").warning.find("pyvenv.cfg") !=
        std::string::npos);
}

// One interpreter per process: everything that needs it is in this one test case.
TEST_CASE("the embedded interpreter presents the build Python and converts exceptions") {
  ::unsetenv("VIRTUAL_ENV");
  Interpreter interpreter({"experiment.py", "--LR", "0.1"});
  CHECK(interpreter.eval_str("__import__('sys').executable") == std::string(build_python()));
  CHECK(interpreter.eval_str("__import__('sys').argv") == "['experiment.py', '--LR', '0.1']");
  CHECK(interpreter.eval_str("__import__('platform').python_version()") ==
        std::string(build_python_version()));
  CHECK(interpreter.eval_str("__import__('_xrun').__version__").size() > 0);
  interpreter.exec("value = 6 * 7");
  CHECK(interpreter.eval_str("value") == "42");
  try {
    interpreter.exec("def inner():\n    raise ValueError('boom')\ninner()\n");
    FAIL("expected a PythonError");
  } catch (const xrun::PythonError& error) {
    CHECK(error.type() == "ValueError");
    CHECK(std::string(error.what()) == "ValueError: boom");
    CHECK(error.traceback().find("in inner") != std::string::npos);
  }
  // A child process started through sys.executable is a real Python, not xrun again.
  CHECK(interpreter.eval_str("__import__('subprocess').run([__import__('sys').executable, '-c', "
                             "'print(1+1)'], capture_output=True, text=True).stdout.strip()") ==
        "2");
}

TEST_CASE("_xrun.run_is_lost reads a meta dict's fields as the archive reads the meta") {
  ::unsetenv("VIRTUAL_ENV");
  Interpreter interpreter({"experiment.py"});
  interpreter.exec("import _xrun, os, socket, time\n"
                   "now = time.time()\n"
                   "elsewhere = {'status': 'running', 'host': 'another-host.example', 'pid': 1}\n"
                   "def lost(meta, **fields):\n"
                   "    return _xrun.run_is_lost(dict(meta, **fields), now)\n");
  CHECK(interpreter.eval_str("lost(elsewhere, heartbeat=now - 5)") == "False");
  CHECK(interpreter.eval_str("lost(elsewhere, heartbeat=now - 61)") == "True");
  CHECK(interpreter.eval_str("lost(elsewhere, heartbeat=now - 61, status='done')") == "False");
  CHECK(interpreter.eval_str("lost(elsewhere, heartbeat=now - 61, status='finished')") ==
        "False");
  // A heartbeat that is no number is none: stale.
  CHECK(interpreter.eval_str("lost(elsewhere, heartbeat='recent')") == "True");
  // This process, on this host: no supervisor of a run it reads, however fresh the heartbeat.
  CHECK(interpreter.eval_str("lost(elsewhere, host=socket.gethostname(), pid=os.getpid(), "
                             "heartbeat=now)") == "True");
  // A pid that is no whole number names no process here: the heartbeat tells.
  CHECK(interpreter.eval_str("lost(elsewhere, host=socket.gethostname(), pid=True, "
                             "heartbeat=now)") == "False");
  CHECK(interpreter.eval_str("lost(elsewhere, host=socket.gethostname(), pid=10**30, "
                             "heartbeat=now)") == "False");
}
