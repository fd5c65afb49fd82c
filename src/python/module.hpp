// What the `_xrun` module serves to the Python side for one process. No pybind11 here.
#pragma once

#include <nlohmann/json.hpp>

namespace xrun::python {

struct ModuleContext {
  nlohmann::json invocation; // core::protocol::Invocation::to_json()
  int control_in = -1;
  int control_out = -1;
};

/// Sets what `_xrun.invocation()`, `_xrun.request()` and `_xrun.notify()` use.
void set_module_context(ModuleContext context);

/// True while the experiment's results are being saved after it ended (set from Python with
/// `_xrun.shield_interrupts(flag)`): an interrupt then must not cut the saving short.
bool interrupts_shielded() noexcept;

/// Raises KeyboardInterrupt in Python at its next bytecode or, while interrupts are held
/// (`_xrun.hold_interrupts(True)`: the run folder is being made), once they are released.
/// Safe in a signal handler.
void interrupt_python() noexcept;

/// Notes a signal that interrupted the experiment (the first one counts), for
/// `_xrun.interrupt_signal()`: the run's record says which signal it was.
void note_interrupt_signal(int number) noexcept;

/// When the supervisor has died (the experiment process was given to another parent), points
/// this process's stdout and stderr straight at the run's log, which the experiment opened
/// with `_xrun.keep_log(path)`: what the experiment prints while it stops is kept. Safe in a
/// signal handler.
void log_directly_if_orphaned() noexcept;

} // namespace xrun::python
