"""`xrun ui`: the viewer's server as a browser (or another site's page) meets it: the startup
line, the page and its assets, the security headers, what is refused, the token beyond loopback
and the limit on event streams."""

import errno
import http.client
import json
import os
import re
import signal
import socket

from support import Workspace, experiment_source

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
CSP_PARTS = ["default-src 'none'", "script-src 'self'", "connect-src 'self'",
             "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]
STARTUP = re.compile(r"xrun ui: serving (\S+) at http://([^/:]+|\[[^\]]+\]):(\d+)/(\?token=(\S+))?")


class Served:
    """A running `xrun ui`: its port, token and process."""

    def __init__(self, process, line):
        self.process = process
        self.line = line
        match = STARTUP.fullmatch(line.rstrip("\n"))
        if not match:
            raise AssertionError(f"not the startup line: {line!r}")
        self.host = match.group(2)
        self.port = int(match.group(3))
        self.token = match.group(5)

    def request(self, path, method="GET", headers=None, body=None):
        """(status, headers as a lower-case dict, body bytes); the Host is 127.0.0.1:PORT
        unless `headers` names another."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            content = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, content
        finally:
            connection.close()


class Viewer(Workspace):
    def setUp(self):
        super().setUp()
        (self.dir / "results").mkdir()

    def serve(self, *args, env=None, expect_code=0):
        process = self.start("ui", "--path", "results", "--port", "0", *args, env=env)
        self.addCleanup(self.stop, process, expect_code)
        line = process.stdout.readline()
        return Served(process, line)

    def stop(self, process, expect_code=0, sig=signal.SIGTERM):
        if process.returncode is None:
            os.kill(process.pid, sig)
        try:
            process.wait(timeout=30)
        finally:
            process.stdout.close()
            process.stderr.close()
        self.assertEqual(process.returncode, expect_code)

    def assertSecurityHeaders(self, headers, cache="no-store"):
        for name, value in SECURITY_HEADERS.items():
            self.assertEqual(headers.get(name), value, name)
        for part in CSP_PARTS:
            self.assertIn(part, headers.get("content-security-policy", ""))
        self.assertEqual(headers.get("cache-control"), cache)
        self.assertFalse([name for name in headers if name.startswith("access-control-")])

    def asset_paths(self, page):
        return re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)

    def page_scripts(self, served, paths):
        """Every script the page loads, modules it imports included (each once): path -> bytes.
        Each must be served as JavaScript, or the browser refuses to run it as a module."""
        sizes = {}
        pending = list(paths)
        while pending:
            path = pending.pop()
            if path in sizes:
                continue
            status, headers, body = served.request(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(headers["content-type"], "text/javascript; charset=utf-8", path)
            self.assertSecurityHeaders(headers, cache="public, max-age=31536000, immutable")
            sizes[path] = len(body)
            folder = path.rsplit("/", 1)[0]
            for module in re.findall(r"""(?:\bimport|\bfrom)\s*\(?\s*["'](\./[^"']+\.js)["']""",
                                     body.decode()):
                pending.append(folder + module[1:])
        return sizes

    def test_startup_line_page_and_assets(self):
        served = self.serve()
        self.assertEqual(served.host, "127.0.0.1")
        self.assertIsNone(served.token)
        status, headers, body = served.request("/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertSecurityHeaders(headers)
        page = body.decode()
        assets = self.asset_paths(page)
        names = {path.rsplit("/", 1)[1] for path in assets}
        self.assertTrue({"app.js", "app.css", "uPlot.min.js", "uPlot.min.css"} <= names, assets)
        hashes = {path.split("/")[2] for path in assets}
        self.assertEqual(len(hashes), 1, "one build hash in every asset's URL")

        for path in assets:
            status, headers, _ = served.request(path)
            self.assertEqual(status, 200, path)
            self.assertSecurityHeaders(headers, cache="public, max-age=31536000, immutable")
            if path.endswith(".css"):
                self.assertEqual(headers["content-type"], "text/css; charset=utf-8")
        scripts = self.page_scripts(served, [path for path in assets if path.endswith(".js")])
        self.assertTrue({"app.js", "api.js", "dom.js", "charts.js", "runs.js", "run.js",
                         "compare.js", "sweeps.js"} <= {path.rsplit("/", 1)[1] for path in scripts},
                        sorted(scripts))
        script_bytes = sum(scripts.values())
        self.assertLess(script_bytes, 200 * 1024, "the page's JavaScript stays under 200 KB")

        # Only the build's own hash: an old page's URL is not answered with new files.
        name = assets[0].rsplit("/", 1)[1]
        for stale in (f"/assets/{name}", f"/assets/0123456789abcdef/{name}"):
            self.assertEqual(served.request(stale)[0], 404, stale)
        status, headers, body = served.request("/", method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertSecurityHeaders(headers)

    def test_not_found_and_api_errors_carry_the_headers(self):
        served = self.serve()
        for path in ("/nothing", "/index.html", "/assets/", "/api/v1/no-such-endpoint"):
            status, headers, body = served.request(path, headers={"X-Probe": "probe-4b1d"})
            self.assertEqual(status, 404, path)
            self.assertSecurityHeaders(headers)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertIn(b'"error"', body)
            self.assertNotIn(b"probe-4b1d", body)
        _, headers, _ = served.request("/api/v1/no-such-endpoint")
        self.assertRegex(headers["server-timing"], r"^app;dur=\d+\.\d{3}$")
        status, headers, _ = served.request("/api/v1/events?runs=../elsewhere")
        self.assertEqual(status, 400)
        self.assertSecurityHeaders(headers)

    def test_only_get_and_head(self):
        served = self.serve()
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            for path in ("/", "/api/v1/runs"):
                status, headers, _ = served.request(
                    path, method=method, body=b"x=1" if method in ("POST", "PUT") else None,
                    headers={"Origin": "http://evil.example",
                             "Access-Control-Request-Method": "GET"})
                self.assertEqual(status, 405, f"{method} {path}")
                self.assertEqual(headers["allow"], "GET, HEAD")
                self.assertSecurityHeaders(headers)
        status, _, _ = served.request("/", body=b"{}", headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400, "a GET with a body")

    def test_foreign_hosts_are_refused(self):
        served = self.serve()
        for host in ("evil.example", "127.0.0.1.evil.example", f"evil.example:{served.port}",
                     "localhost.evil.example", "127.0.0.1:80:80", "127.0.0.2", ""):
            status, headers, body = served.request("/", headers={"Host": host})
            self.assertEqual(status, 421, repr(host))
            self.assertSecurityHeaders(headers)
            if host:
                self.assertNotIn(host.encode(), body)
        for host in (f"127.0.0.1:{served.port}", "LOCALHOST:9999", "localhost", "[::1]:8765"):
            status, _, _ = served.request("/", headers={"Host": host})
            self.assertEqual(status, 200, host)

    def test_no_cors_headers_for_another_origin(self):
        served = self.serve()
        for path, method in (("/", "GET"), ("/api/v1/runs", "GET"), ("/nothing", "GET"),
                             ("/api/v1/runs", "OPTIONS")):
            _, headers, _ = served.request(path, method=method,
                                           headers={"Origin": "http://evil.example"})
            self.assertFalse([name for name in headers if name.startswith("access-control-")],
                             path)

    def test_oversized_request_headers_are_refused(self):
        served = self.serve()
        status, headers, _ = served.request("/", headers={"X-Large": "a" * 20000})
        self.assertEqual(status, 431)
        self.assertSecurityHeaders(headers)
        # Beyond a connection's memory: refused by the HTTP library itself, or cut off.
        try:
            status, _, _ = served.request("/", headers={"X-Large": "a" * 200000})
            self.assertGreaterEqual(status, 400)
        except (ConnectionError, http.client.HTTPException):
            pass
        status, _, _ = served.request("/")
        self.assertEqual(status, 200, "the server goes on serving")

    def open_stream(self, served):
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
        connection.request("GET", "/api/v1/events")
        response = connection.getresponse()
        if response.status == 200:
            self.assertEqual(response.getheader("Content-Type"), "text/event-stream; charset=utf-8")
            self.assertEqual(response.readline(), b"retry: 2000\n")
        return connection, response

    def test_at_most_sixteen_event_streams(self):
        served = self.serve()
        streams = [self.open_stream(served) for _ in range(16)]
        self.assertEqual([response.status for _, response in streams], [200] * 16)
        connection, response = self.open_stream(served)
        self.assertEqual(response.status, 503)
        self.assertSecurityHeaders(dict((k.lower(), v) for k, v in response.getheaders()))
        connection.close()
        # A client that goes away frees its stream.
        streams.pop()[0].close()
        reopened = []

        def reopen():
            connection, response = self.open_stream(served)
            if response.status == 200:
                reopened.append(connection)
                return True
            connection.close()
            return False
        self.wait_for(reopen, what="a stream slot freed by a closed client")
        for connection in [c for c, _ in streams] + reopened:
            connection.close()

    def test_a_stream_tells_of_a_growing_log(self):
        self.write("exp.py", experiment_source("", 'print("started")'))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        run = self.only_run("results/exp")
        run_id = run.relative_to(self.dir / "results").as_posix()
        served = self.serve()
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=20)
        self.addCleanup(connection.close)
        connection.request("GET", "/api/v1/events?runs=" + run_id)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertRegex(response.getheader("Server-Timing"), r"^app;dur=\d+\.\d{3}$")
        self.assertEqual(response.getheader("Cache-Control"), "no-store")
        self.assertEqual(response.readline(), b"retry: 2000\n")
        with open(run / "experiment_out.log", "a") as log:
            log.write("one more line\n")
        size = (run / "experiment_out.log").stat().st_size
        event = None
        while event != b"event: log\n":
            event = response.readline()
            self.assertTrue(event, "the stream ended")
        data = response.readline()
        self.assertTrue(data.startswith(b"data: "), data)
        self.assertEqual(json.loads(data[len(b"data: "):]), {"run": run_id, "bytes": size})
        self.assertEqual(response.readline(), b"\n")

    def test_the_default_port_falls_back_to_a_free_one(self):
        with socket.socket() as taken:
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                taken.bind(("127.0.0.1", 8765))
                taken.listen()
            except OSError as error:  # taken already: by another program, as wanted
                if error.errno != errno.EADDRINUSE:
                    raise
            process = self.start("ui", "--path", "results")
            self.addCleanup(self.stop, process)
            served = Served(process, process.stdout.readline())
            self.assertNotEqual(served.port, 8765)
            self.assertEqual(served.request("/")[0], 200)
            os.kill(process.pid, signal.SIGTERM)
            _, err = process.communicate(timeout=30)
            self.assertIn("port 8765 is in use", err)

    def test_open_runs_xdg_open_with_the_url(self):
        opener = self.write("bin/xdg-open", f"#!/bin/sh\necho \"$1\" > {self.dir}/opened\n")
        opener.chmod(0o755)
        env = self.env(PATH=f"{opener.parent}:{os.environ['PATH']}")
        served = self.serve("--open", env=env)
        self.wait_for(lambda: (self.dir / "opened").exists(), what="xdg-open to run")
        self.assertEqual((self.dir / "opened").read_text().strip(),
                         f"http://127.0.0.1:{served.port}/")
        # Without xdg-open: a warning, and the server serves all the same.
        process = self.start("ui", "--path", "results", "--port", "0", "--open",
                             env=self.env(PATH="/nonexistent"))
        served = Served(process, process.stdout.readline())
        self.assertEqual(served.request("/")[0], 200)
        os.kill(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 0)
        self.assertIn("xdg-open", err)

    def test_ipv6_loopback(self):
        try:
            with socket.socket(socket.AF_INET6) as probe:
                probe.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        process = self.start("ui", "--path", "results", "--port", "0", "--host", "::1")
        self.addCleanup(self.stop, process)
        line = process.stdout.readline()
        match = re.fullmatch(r"xrun ui: serving results at http://\[::1\]:(\d+)/\n", line)
        self.assertTrue(match, line)
        connection = http.client.HTTPConnection("::1", int(match.group(1)), timeout=20)
        try:
            connection.request("GET", "/")
            self.assertEqual(connection.getresponse().status, 200)
        finally:
            connection.close()

    def test_beyond_loopback_a_token_is_needed(self):
        served = self.serve("--host", "0.0.0.0")
        self.assertRegex(served.token or "", r"^[0-9a-f]{64}$")
        token = served.token
        for path in ("/", "/api/v1/runs", "/nothing"):
            status, headers, body = served.request(path)
            self.assertEqual(status, 401, path)
            self.assertSecurityHeaders(headers)
        self.assertEqual(served.request("/?token=" + "0" * 64)[0], 401)
        self.assertEqual(served.request("/", headers={"Authorization": "Bearer " + "0" * 64})[0], 401)
        status, _, _ = served.request("/", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(status, 200)
        # The cookie is named by the port: another server's on this host is not this one's.
        cookie_name = f"xrun_token_{served.port}"
        status, _, _ = served.request("/", headers={"Cookie": f"other=1; {cookie_name}={token}"})
        self.assertEqual(status, 200)
        status, _, _ = served.request("/", headers={"Cookie": f"xrun_token_1={token}"})
        self.assertEqual(status, 401)
        status, headers, _ = served.request(f"/?token={token}")
        self.assertEqual(status, 200)
        cookie = headers["set-cookie"]
        self.assertIn(f"{cookie_name}={token}", cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertEqual(served.request("/", headers={"Host": "evil.example",
                                                      "Authorization": f"Bearer {token}"})[0], 421)

    def test_warning_and_given_token(self):
        env = self.env(XRUN_UI_TOKEN="given-token-0123456789")
        process = self.start("ui", "--path", "results", "--port", "0", "--host", "0.0.0.0", env=env)
        served = Served(process, process.stdout.readline())
        self.assertEqual(served.token, "given-token-0123456789")
        self.assertEqual(served.request("/")[0], 401)
        self.assertEqual(served.request("/?token=given-token-0123456789")[0], 200)
        os.kill(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=30)
        self.assertEqual(process.returncode, 0)
        self.assertIn("xrun: warning:", err)
        self.assertIn("ssh -L", err)
        result = self.xrun("ui", "--path", "results", "--token", "short")
        self.assertUsageError(result, "token")

    def test_a_port_in_use_and_a_missing_archive(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = self.xrun("ui", "--path", "results", "--port", port, timeout=30)
            self.assertUsageError(result, f"port {port}", "--port 0")
        result = self.xrun("ui", "--path", "no-such-folder", timeout=30)
        self.assertUsageError(result, "no-such-folder")
        self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    import unittest
    unittest.main()
