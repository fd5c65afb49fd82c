"""A line in a file, or a command run, when a run ends (off unless turned on)."""

import os

from xrun import UsageError

ENABLED = False
SETTINGS = {
    "file": "append one tab-separated line per run to this file (or XRUN_NOTIFY_FILE)",
    "command": "run this shell command with the status as $1 and the run folder as $2, and "
               "XRUN_STATUS, XRUN_RUN, XRUN_NAME, XRUN_DURATION, XRUN_ERROR set "
               "(or XRUN_NOTIFY_COMMAND)",
    "when": "notify only these statuses, comma-separated, e.g. failed,killed (default: all)",
}
# Not recorded in the run's meta: a command often holds a token or a webhook's address.
SECRET_SETTINGS = {"command"}
_COMMAND_TIMEOUT = 60  # seconds


def _targets(settings):
    file = settings.get("file") or os.environ.get("XRUN_NOTIFY_FILE") or ""
    command = settings.get("command") or os.environ.get("XRUN_NOTIFY_COMMAND") or ""
    return str(file), str(command)


def after_parameters(event):
    """Refuses to start a run that could not be notified about."""
    file, command = _targets(event.settings)
    if not file and not command:
        raise UsageError("nothing to notify: give a file or a command "
                         "(--plugin notify:file=runs.log or --plugin 'notify:command=...')")


def after_end(event):
    """Writes the line and runs the command, for every status (or those chosen by `when`)."""
    when = str(event.settings.get("when", "")).replace(" ", "")
    if when and event.status not in when.split(","):
        return
    file, command = _targets(event.settings)
    error = ": ".join(part for part in (event.error_type, event.error_message) if part)
    error = " ".join(error.split())  # one line, whatever the message held
    if file:
        import datetime  # here, not at the top: every run imports the plugins

        now = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        line = "\t".join([now, event.status, event.name, f"{event.duration:.1f}s",
                          event.path, error])
        path = os.path.expanduser(file)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")  # one write: lines of runs ending together never mix
    if command:
        import subprocess

        environment = dict(os.environ, XRUN_STATUS=event.status, XRUN_RUN=event.path,
                           XRUN_NAME=event.name, XRUN_DURATION=f"{event.duration:.1f}",
                           XRUN_ERROR=error)
        result = subprocess.run(["/bin/sh", "-c", command, "notify", event.status, event.path],
                                env=environment, timeout=_COMMAND_TIMEOUT, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"the command exited with code {result.returncode}")
