// The one exception hierarchy of xrun. Thrown when a command cannot go on; caught once,
// at the top of the command line, which prints `xrun: error: <what>` and exits with exit_code().
#pragma once

#include <stdexcept>
#include <string>

namespace xrun {

enum class ErrorKind {
  usage,   // bad command line: unknown option, unconvertible value, missing file
  config,  // a config or experiment file that cannot be used as written
  archive, // a run folder or archive file that cannot be read or written
  python,  // the experiment's Python code could not be loaded
  system,  // the operating system refused what xrun needs to work (a pipe, a process, a thread)
};

/// Exit code for bad input: nothing was created.
inline constexpr int k_exit_usage = 2;

/// Exit code of `xrun run` when the run could not be recorded (its folder could not be created
/// or its start written: a full disk, a file in the way, no permission); the experiment did not
/// start and nothing was left. EX_IOERR of sysexits.h.
inline constexpr int k_exit_unrecorded = 74;

/// Exit code when the operating system refuses what xrun needs to work: a pipe, a process, a
/// thread (EX_OSERR of sysexits.h). Not bad input: the same command may work once the system
/// has room (fewer processes, more file descriptors).
inline constexpr int k_exit_system = 71;

/// Exit code of an internal error: a defect of xrun, not of the input (EX_SOFTWARE).
inline constexpr int k_exit_internal = 70;

/// An error a user can act on. The message names the file, line, parameter or run involved;
/// the hint (may be empty) says what to do about it.
class Error : public std::runtime_error {
public:
  Error(ErrorKind kind, const std::string& message, std::string hint = {},
        int exit_code = k_exit_usage)
      : std::runtime_error(message), m_kind(kind), m_hint(std::move(hint)), m_exit_code(exit_code) {
  }

  ErrorKind kind() const noexcept { return m_kind; }
  const std::string& hint() const noexcept { return m_hint; }
  int exit_code() const noexcept { return m_exit_code; }

private:
  ErrorKind m_kind;
  std::string m_hint;
  int m_exit_code;
};

/// A wrong command line. Thrown by the CLI and by services that validate user input.
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message, std::string hint = {})
      : Error(ErrorKind::usage, message, std::move(hint)) {}
};

/// A config or experiment file with a problem; the message starts with `file:line:`.
class ConfigError : public Error {
public:
  explicit ConfigError(const std::string& message, std::string hint = {})
      : Error(ErrorKind::config, message, std::move(hint)) {}
};

/// A run folder, meta file or archive that cannot be read or written.
class ArchiveError : public Error {
public:
  explicit ArchiveError(const std::string& message, std::string hint = {})
      : Error(ErrorKind::archive, message, std::move(hint)) {}
};

/// A run whose record could not be written, so that it did not start (or was stopped):
/// exit code k_exit_unrecorded.
class RecordError : public Error {
public:
  explicit RecordError(const std::string& message, std::string hint = {})
      : Error(ErrorKind::archive, message, std::move(hint), k_exit_unrecorded) {}
};

/// A system call that xrun cannot work without failed (pipe, fork, poll, a thread):
/// exit code k_exit_system.
class SystemError : public Error {
public:
  explicit SystemError(const std::string& message, std::string hint = {})
      : Error(ErrorKind::system, message, std::move(hint), k_exit_system) {}
};

/// Python code that could not be loaded; keeps the Python type and traceback.
class PythonError : public Error {
public:
  PythonError(const std::string& message, std::string type, std::string traceback)
      : Error(ErrorKind::python, message), m_type(std::move(type)),
        m_traceback(std::move(traceback)) {}

  const std::string& type() const noexcept { return m_type; }
  const std::string& traceback() const noexcept { return m_traceback; }

private:
  std::string m_type;
  std::string m_traceback;
};

} // namespace xrun
