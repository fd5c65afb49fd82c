"""The viewer's JSON API through `xrun ui`, over runs the built xrun made: every endpoint
answered over HTTP, a `where` error pointing at its column, and paths that try to leave the
archive refused."""

import http.client
import json
import os
import re
import signal
import urllib.parse

from support import Workspace, experiment_source

STARTUP = re.compile(r"xrun ui: serving \S+ at http://127\.0\.0\.1:(\d+)/")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16

EXPERIMENT = experiment_source(
    'LR: float = 0.1\nMODEL: str = "mlp"\n',
    """
    import xrun
    run = xrun.start()
    print("training with", e.LR)
    for step in range(5):
        e.track("loss", 1.0 / (step + 1))
    e["metrics/acc"] = 1 - e.LR
    run.log_image("sample", png_bytes, step=1, caption="first")
    with open(os.path.join(run.path, "report.html"), "w") as page:
        page.write("<script>alert(1)</script>")
    if e.MODEL == "bad":
        raise ValueError("bad model")
    """,
    extra=f"import os\npng_bytes = {PNG!r}\n")


class ViewerApi(Workspace):
    def setUp(self):
        super().setUp()
        self.write("exp.py", EXPERIMENT)
        for lr, model in [("0.1", "mlp"), ("0.01", "cnn"), ("0.001", "bad")]:
            result = self.xrun("run", "exp.py", "--LR", lr, "--MODEL", model)
            self.assertIn(result.returncode, (0, 1), result.stderr)
        self.run_ids = [f"exp/{run.name}" for run in self.runs("results/exp")]
        self.assertEqual(len(self.run_ids), 3)
        process = self.start("ui", "--path", "results", "--port", "0")
        self.addCleanup(self.stop, process)
        match = STARTUP.match(process.stdout.readline())
        self.assertTrue(match, "the startup line")
        self.port = int(match.group(1))

    def stop(self, process):
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            process.stdout.close()
            process.stderr.close()
        self.assertEqual(process.returncode, 0)

    def raw(self, target):
        """(status, headers as a lower-case dict, body bytes) of GET `target` as written."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", target)
            response = connection.getresponse()
            return (response.status, {k.lower(): v for k, v in response.getheaders()},
                    response.read())
        finally:
            connection.close()

    def get(self, endpoint, **query):
        """(status, parsed JSON body) of GET `endpoint` with `query` percent-encoded."""
        target = endpoint + ("?" + urllib.parse.urlencode(query) if query else "")
        status, headers, body = self.raw(target)
        self.assertEqual(headers["content-type"], "application/json", target)
        return status, json.loads(body)

    def test_every_endpoint_answers(self):
        status, page = self.get("/api/v1/runs", sort="LR", columns="LR,data.metrics.acc",
                                where='status == "done"')
        self.assertEqual(status, 200)
        self.assertEqual((page["total"], page["archive_total"]), (2, 3))
        self.assertEqual([row["values"]["LR"] for row in page["rows"]], [0.01, 0.1])
        self.assertEqual(page["rows"][0]["values"]["data.metrics.acc"], 0.99)
        _, page = self.get("/api/v1/runs", group="MODEL")
        self.assertEqual({g["value"]: g["count"] for g in page["groups"]},
                         {"bad": 1, "cnn": 1, "mlp": 1})
        failed = next(row["run"] for row in page["rows"] if row["status"] == "failed")
        self.assertEqual(next(row for row in page["rows"] if row["run"] == failed)["error_type"],
                         "ValueError")

        status, columns = self.get("/api/v1/columns")
        self.assertEqual(status, 200)
        self.assertEqual(columns["parameters"][:2], ["LR", "MODEL"])
        self.assertIn("data.metrics.acc", columns["data"])

        run = self.run_ids[0]
        status, details = self.get("/api/v1/run", run=run)
        self.assertEqual(status, 200)
        self.assertEqual(details["run"], run)
        self.assertIn(details["status"], ("done", "failed"))
        self.assertEqual(details["meta"]["parameters"]["LR"]["name"], "LR")
        self.assertIn("metrics", details["data"])
        self.assertGreater(details["log_size"], 0)

        status, log = self.get("/api/v1/log", run=run, offset=-65536)
        self.assertEqual(status, 200)
        self.assertIn("training with", log["text"])
        self.assertEqual(log["next"], log["size"])

        status, files = self.get("/api/v1/files", run=run)
        self.assertEqual(status, 200)
        kinds = {entry["path"]: entry["kind"] for entry in files["files"]}
        self.assertEqual(kinds["experiment_meta.json"], "file")
        self.assertEqual(kinds[".track"], "dir")
        self.assertEqual(kinds[".track/loss.csv"], "file")

        status, images = self.get("/api/v1/images", run=run)
        self.assertEqual(status, 200)
        self.assertEqual(images["keys"], ["sample"])
        self.assertEqual(images["images"][0]["caption"], "first")
        image = images["images"][0]["file"]
        query = urllib.parse.urlencode({"run": run, "path": image})
        status, headers, body = self.raw(f"/api/v1/file?{query}")
        self.assertEqual((status, headers["content-type"], body), (200, "image/png", PNG))
        query = urllib.parse.urlencode({"run": run, "path": "report.html"})
        status, headers, body = self.raw(f"/api/v1/file?{query}")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/octet-stream")
        self.assertIn("attachment", headers["content-disposition"])
        self.assertIn("report.html", headers["content-disposition"])

        status, sweeps = self.get("/api/v1/sweeps")
        self.assertEqual((status, sweeps), (200, {"sweeps": []}))

    def test_a_sweep_and_its_rows(self):
        result = self.xrun("run", "exp.py", "--sweep", "LR=0.5,0.25", "-j", "1")
        self.assertEqual(result.returncode, 0, result.stderr)
        status, sweeps = self.get("/api/v1/sweeps")
        self.assertEqual(status, 200)
        self.assertEqual(len(sweeps["sweeps"]), 1)
        item = sweeps["sweeps"][0]
        self.assertEqual((item["namespace"], item["rows"], item["counts"]), ("exp", 2, {"done": 2}))
        status, sweep = self.get("/api/v1/sweep", sweep=item["sweep"])
        self.assertEqual(status, 200)
        self.assertEqual([row["status"] for row in sweep["rows"]], ["done", "done"])
        self.assertEqual([row["settings"] for row in sweep["rows"]], [{"LR": 0.5}, {"LR": 0.25}])
        for row in sweep["rows"]:
            self.assertEqual(self.get("/api/v1/run", run=row["run"])[0], 200)
        self.assertTrue(sweep["resume"].startswith(f"xrun sweep resume {item['id']}"))

    def test_a_bad_where_points_at_its_column(self):
        status, body = self.get("/api/v1/runs", where="LR > 0.1 and MODEL = 'x'")
        self.assertEqual(status, 400)
        self.assertEqual(body["column"], 20)
        self.assertEqual(body["where"], "LR > 0.1 and MODEL = 'x'")
        self.assertIn("column 20", body["error"])

    def test_a_large_file_is_streamed_whole(self):
        run = self.run_ids[0]
        data = os.urandom(3 << 20)
        (self.dir / "results" / run / "weights.bin").write_bytes(data)
        status, headers, body = self.raw(
            f"/api/v1/file?run={urllib.parse.quote(run, safe='')}&path=weights.bin")
        self.assertEqual(status, 200)
        self.assertEqual(body, data)
        self.assertEqual(headers["content-type"], "application/octet-stream")
        self.assertIn("attachment", headers["content-disposition"])
        self.assertEqual(headers["x-content-type-options"], "nosniff")

    def test_what_one_request_may_ask_is_bounded(self):
        run = self.run_ids[0]
        _, listing = self.get("/api/v1/series", run=run)
        name = listing["series"][0]["name"]
        # A run named many times is answered once.
        status, body = self.get("/api/v1/series/data", runs=",".join([run] * 300), name=name)
        self.assertEqual(status, 200)
        self.assertEqual([series["run"] for series in body["series"]], [run])
        status, body = self.get("/api/v1/series/data", name=name,
                                runs=",".join(f"exp/r{i}" for i in range(257)))
        self.assertEqual(status, 400)
        self.assertIn("at most 256", body["error"])
        status, body = self.get("/api/v1/runs", columns=",".join(f"c{i}" for i in range(101)))
        self.assertEqual(status, 400)
        self.assertIn("at most 100", body["error"])
        status, body = self.get("/api/v1/runs", where=" or ".join(f"a{i} == 1" for i in range(33)))
        self.assertEqual(status, 400)
        self.assertIn("at most 32", body["error"])
        status, _ = self.get("/api/v1/runs", where=" or ".join(f"a{i} == 1" for i in range(31)))
        self.assertEqual(status, 200)

    def test_paths_out_of_the_archive_are_refused(self):
        run = self.run_ids[0]
        (self.dir / "secret.txt").write_text("not served")
        os.symlink(self.dir / "secret.txt", self.dir / "results" / run / "escape.txt")
        os.symlink(self.dir / "results" / run, self.dir / "results" / "exp" / "alias")
        encoded = urllib.parse.quote(run, safe="")
        refused = [
            f"/api/v1/run?run=../{encoded}",
            f"/api/v1/run?run=%2e%2e%2f{encoded}",
            f"/api/v1/run?run=exp%2F%2E%2E%2F{encoded}",
            "/api/v1/run?run=%2Fetc",
            f"/api/v1/run?run=exp%5C{encoded[len('exp%2F'):]}",
            "/api/v1/run?run=exp%2Falias",
            f"/api/v1/file?run={encoded}&path=../../secret.txt",
            f"/api/v1/file?run={encoded}&path=%2e%2e%2f%2e%2e%2fsecret.txt",
            f"/api/v1/file?run={encoded}&path=%2Fetc%2Fpasswd",
            f"/api/v1/file?run={encoded}&path=..%5C..%5Csecret.txt",
            f"/api/v1/file?run={encoded}&path=escape.txt",
            "/api/v1/file?run=exp%2Falias&path=experiment_meta.json",
            "/api/v1/files?run=..",
            "/api/v1/log?run=%2e%2e",
        ]
        for target in refused:
            status, headers, body = self.raw(target)
            self.assertEqual(status, 403, target)
            self.assertNotIn(b"not served", body)
            self.assertIn("error", json.loads(body), target)
        # A NUL byte never reaches a handler: the query cannot be decoded.
        for target in (f"/api/v1/run?run={encoded}%00", f"/api/v1/file?run={encoded}&path=x%00"):
            self.assertEqual(self.raw(target)[0], 400, target)
        self.assertEqual(self.get("/api/v1/run", run="exp/none")[0], 404)
        self.assertEqual(self.get("/api/v1/file", run=run, path="none.txt")[0], 404)
        self.assertEqual(self.get("/api/v1/nothing")[0], 404)


if __name__ == "__main__":
    import unittest
    unittest.main()
