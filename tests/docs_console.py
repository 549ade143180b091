"""Run the ``console`` blocks of a Markdown page and compare (or rewrite) their output.

A block is a shell session: ``$ command`` lines (``> `` lines continue a
command, as for a here-document), each followed by the output it prints
(stdout and stderr together, as on a terminal). The blocks of one page run in
order in one ``bash``, in a fresh "checkout" (a temp dir with ``.venv`` linked
to this venv) under a temp ``HOME``, so ``export``, background jobs and files
carry over from block to block as they would for a reader. A block right
after ``<!-- console: not run -->`` is left alone.

Paths and the Gateway port differ from run to run: the checkout is shown as
``/home/me/openclaw-core``, the home as ``/home/me``, the port as 18789.

    python tests/docs_console.py docs/getting-started.md           # check
    python tests/docs_console.py docs/getting-started.md --write   # rewrite the outputs
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

SHOWN_CHECKOUT = "/home/me/openclaw-core"
SHOWN_HOME = "/home/me"
SHOWN_PORT = "18789"
SKIP_MARK = "<!-- console: not run -->"
COMMAND_TIMEOUT = 90.0
# Values that change from run to run; compared as placeholders (the page keeps its own).
VOLATILE = [
    (re.compile(r"(Uptime: )[0-9hms ]+"), r"\1<uptime>"),
    (re.compile(r"\b(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d{3})?Z)"), "<timestamp>"),
    (re.compile(r'("(?:updatedAt|ageMs|ts|durationMs|uptimeMs)": )\d+'), r"\1<ms>"),
]

BLOCK = re.compile(r"^```console\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Command:
    text: str                       # the command as bash gets it (continuations joined)
    shown: list[str]                # its lines as the page shows them
    expected: str = ""              # the output the page shows
    actual: str | None = None


@dataclass
class Block:
    start: int
    end: int
    commands: list[Command] = field(default_factory=list)
    skipped: bool = False


def parse(page: str) -> list[Block]:
    blocks = []
    for match in BLOCK.finditer(page):
        before = page[: match.start()].rstrip().rsplit("\n", 1)[-1]
        block = Block(match.start(1), match.end(1), skipped=before.strip() == SKIP_MARK)
        output: list[str] = []
        for line in match.group(1).splitlines():
            if line.startswith("$ ") or line == "$":
                if block.commands:
                    block.commands[-1].expected = "".join(f"{o}\n" for o in output)
                output = []
                block.commands.append(Command(line[2:], [line]))
            elif block.commands and not output and (line.startswith("> ") or line == ">"):
                block.commands[-1].text += "\n" + line[2:]
                block.commands[-1].shown.append(line)
            else:
                output.append(line)
        if block.commands:
            block.commands[-1].expected = "".join(f"{o}\n" for o in output)
        blocks.append(block)
    return blocks


class Shell:
    """One bash for the whole page; each command's output is read up to a marker."""

    MARK = "@@docs-console-done@@"

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=cwd, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, command: str) -> str:
        assert self.proc.stdin is not None
        # The command's own line ends the here-document (if any); `echo` ends a last line
        # that has no newline, and is taken off again below.
        self.proc.stdin.write(f"{command}\n__rc=$?; echo; echo '{self.MARK}'\n")
        self.proc.stdin.flush()
        out: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=COMMAND_TIMEOUT)
            except queue.Empty:
                raise TimeoutError(f"no end of output after {COMMAND_TIMEOUT:g}s: {command}") from None
            if line is None:
                raise RuntimeError(f"the shell ended while running: {command}\n{''.join(out)}")
            if line.rstrip("\n") == self.MARK:
                break
            out.append(line)
        text = "".join(out)
        return text[:-1] if text.endswith("\n") else text

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the shell and whatever it left running
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def shown_paths(text: str, checkout: Path, home: Path, port: str | None) -> str:
    for real, shown in ((str(checkout), SHOWN_CHECKOUT), (str(home), SHOWN_HOME)):
        text = text.replace(real, shown)
    if port:
        text = re.sub(rf"(?<=:){re.escape(port)}\b", SHOWN_PORT, text)
    return text


def comparable(text: str) -> str:
    for pattern, placeholder in VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def run_page(path: Path, env: dict[str, str] | None = None) -> tuple[str, list[Block]]:
    """Run every console block of the page; returns its text and the blocks with ``actual`` filled."""
    page = path.read_text(encoding="utf-8")
    blocks = parse(page)
    environ = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="docs-console-") as tmp:
        home = Path(tmp, "home")
        checkout = home / "openclaw-core"
        checkout.mkdir(parents=True)
        (checkout / ".venv").symlink_to(Path(sys.prefix))
        for name in ("OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH", "OPENCLAW_HOME", "XDG_DATA_HOME",
                     "VIRTUAL_ENV", "OPENCLAW_GATEWAY_URL", "OPENCLAW_GATEWAY_TOKEN"):
            environ.pop(name, None)
        environ.update(HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="80", TERM="dumb", LC_ALL="C.UTF-8",
                       PATH=os.pathsep.join(p for p in environ.get("PATH", "").split(os.pathsep)
                                            if Path(p).resolve() != Path(sys.prefix, "bin").resolve()))
        port = environ.get("OPENCLAW_GATEWAY_PORT")
        shell = Shell(checkout, environ)
        try:
            for block in blocks:
                if block.skipped:
                    continue
                for command in block.commands:
                    command.actual = shown_paths(shell.run(command.text), checkout, home, port)
        finally:
            shell.close()
    return page, blocks


def differences(blocks: list[Block]) -> list[str]:
    found = []
    for block in blocks:
        for command in block.commands:
            if command.actual is not None and comparable(command.actual) != comparable(command.expected):
                found.append(f"$ {command.shown[0][2:]}\n--- the page shows:\n{command.expected}"
                             f"--- it prints:\n{command.actual}")
    return found


def rewrite(page: str, blocks: list[Block]) -> str:
    for block in reversed(blocks):
        if block.skipped:
            continue
        body = "".join("\n".join(c.shown) + "\n" + (c.actual if c.actual is not None else c.expected)
                       for c in block.commands)
        page = page[: block.start] + body + page[block.end:]
    return page


def main(argv: list[str]) -> int:
    write = "--write" in argv
    paths = [Path(a) for a in argv if a != "--write"]
    status = 0
    for path in paths:
        env = dict(os.environ)
        env.pop("OPENCLAW_DISABLE_PLUGINS", None)
        page, blocks = run_page(path, env)
        if write:
            path.write_text(rewrite(page, blocks), encoding="utf-8")
            print(f"wrote {path}")
            continue
        for problem in differences(blocks):
            print(f"{path}:\n{problem}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
