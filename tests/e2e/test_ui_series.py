"""`xrun ui`'s series over HTTP: a run's series listed, a long one downsampled (its summary
file made beside it), the points appended since an offset, and the event stream telling of a
series that grew."""

import http.client
import json
import os
import re
import signal

from support import Workspace, experiment_source

STARTUP = re.compile(r"xrun ui: serving \S+ at http://127\.0\.0\.1:(\d+)/")


class SeriesOverHttp(Workspace):
    def setUp(self):
        super().setUp()
        # 100k points (a summary file is kept beyond 65536), one of them a spike.
        self.write("exp.py", experiment_source("", """\
            for step in range(100000):
                e.track("train/loss", 1000.0 if step == 54321 else 1.0 / (1 + step))
            """))
        result = self.xrun("run", "exp.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.run_folder = self.only_run("results/exp")
        self.run_id = self.run_folder.relative_to(self.dir / "results").as_posix()
        self.series = self.run_folder / ".track" / "train" / "loss.csv"
        process = self.start("ui", "--path", "results", "--port", "0")
        self.addCleanup(self.stop, process)
        match = STARTUP.match(process.stdout.readline())
        self.assertTrue(match, "no startup line")
        self.port = int(match.group(1))

    def stop(self, process):
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
        self.assertEqual(process.returncode, 0)

    def get(self, path, expect=200):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            self.assertEqual(response.status, expect, body)
            self.assertRegex(response.getheader("Server-Timing"), r"^app;dur=\d+\.\d{3}$")
            return json.loads(body)
        finally:
            connection.close()

    def data(self, query):
        return self.get(f"/api/v1/series/data?runs={self.run_id}&name=train/loss&{query}")

    def test_a_long_series_is_downsampled_and_followed(self):
        listed = self.get(f"/api/v1/series?run={self.run_id}")["series"]
        self.assertEqual([s["name"] for s in listed], ["train/loss"])
        self.assertEqual(listed[0]["bytes"], self.series.stat().st_size)
        self.assertIsNone(listed[0]["points"])  # not counted until a summary is made

        answer = self.data("width=500")
        entry = answer["series"][0]
        self.assertEqual((answer["from"], answer["to"]), (0, 99999))
        self.assertEqual((entry["count"], entry["total"], entry["exact"]),
                         (100000, 100000, False))
        self.assertLessEqual(len(entry["x"]), 2000)
        self.assertEqual(entry["x"][entry["y"].index(1000.0)], 54321)
        self.assertEqual(len(entry["band"]["x"]), 500)
        self.assertTrue(self.series.with_name("loss.csv.m4").is_file())
        self.assertEqual(self.get(f"/api/v1/series?run={self.run_id}")["series"][0]["points"],
                         100000)
        self.assertEqual(self.data("width=500"), answer)  # the same from the summary

        offset = entry["offset"]
        self.assertEqual(self.data(f"after={offset}")["series"][0]["x"], [])
        with open(self.series, "a") as series:
            series.write("100000,0.5,1800000000.000,\n100001,0.25,1800000001.000,\n100002,0.1")
        followed = self.data(f"after={offset}")["series"][0]
        self.assertEqual(followed["x"], [100000, 100001])
        self.assertEqual(followed["y"], [0.5, 0.25])
        self.assertEqual(followed["offset"], self.series.stat().st_size - len("100002,0.1"))
        self.get(f"/api/v1/series/data?runs={self.run_id}&name=train/loss&after=7", expect=400)
        self.get(f"/api/v1/series/data?runs={self.run_id}&name=../../x", expect=403)
        self.get(f"/api/v1/series/data?runs={self.run_id}&name=train/loss&width=0", expect=400)

    def test_the_event_stream_tells_of_a_series_that_grew(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        self.addCleanup(connection.close)
        connection.request("GET", "/api/v1/events?runs=" + self.run_id)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.readline(), b"retry: 2000\n")
        with open(self.series, "a") as series:
            series.write("100000,0.5,1800000000.000,\n")
        event = None
        while event != b"event: series\n":
            event = response.readline()
            self.assertTrue(event, "the stream ended")
        data = json.loads(response.readline()[len(b"data: "):])
        self.assertEqual(data, {"run": self.run_id, "name": "train/loss",
                                "bytes": self.series.stat().st_size})
