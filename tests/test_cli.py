"""The `briefbot` command line, end to end: real files, a real local HTTP server, the real engines."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import EXIT_CONFIG, app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "harbor-bridge.txt"
NOISE = ("Subscribe", "Share this article", "covers transportation", "Sign up for our morning newsletter", "Sign Up")

PAGE = """<!doctype html><html lang="en"><head>
<title>Valley orchards brace for a late frost | Hill Country Gazette</title>
<meta property="og:site_name" content="Hill Country Gazette">
<meta name="author" content="Rosa Delgado">
<meta property="article:published_time" content="2026-04-02T07:30:00Z">
</head><body><nav><a href="/">Home</a> <a href="/farms">Farms</a></nav>
<article><h1>Valley orchards brace for a late frost</h1>
<p>Fruit growers across the Linden Valley spent Tuesday night lighting smudge pots and running wind machines as
temperatures dropped to minus four degrees, the coldest April night in twenty years.</p>
<p>"If the blossoms freeze tonight, we lose the whole peach crop," said Harold Beck, who farms 80 acres outside
Millbrook. "There is no second bloom."</p>
<p>The state agriculture department said it would survey damage on Thursday and could declare a disaster, which
would open low-interest loans to growers.</p>
<p>Beck said most of his neighbours had stayed up all night. Growers expect to know by the weekend how many buds
survived, according to the county extension office.</p>
<p>Peaches bring the valley about $45 million a year, and a lost crop would also hurt packing houses and seasonal
workers, the extension office said.</p>
</article><footer>Copyright Hill Country Gazette. All rights reserved.</footer></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/orchards.html":
            body, ctype = PAGE.encode(), "text/html; charset=utf-8"
        elif self.path == "/report.pdf":
            body, ctype = b"%PDF-1.7\n" + b"0" * 2000, "application/pdf"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real web server on 127.0.0.1, reachable only because the operator setting allows loopback explicitly."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv("BRIEFBOT_FETCH_ALLOW", "127.0.0.1/32")
    monkeypatch.setenv("BRIEFBOT_FETCH_EXTRA_PORTS", str(port))
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


runner = CliRunner()


def test_extract_pasted_example_drops_noise() -> None:
    result = runner.invoke(app, ["extract", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "We are not going to wait for a cable to snap" in result.stdout
    assert "trucks could return by March next year" in result.stdout
    for noise in NOISE:
        assert noise not in result.stdout


def test_extract_jsonl_batch_goes_on_past_a_failure(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    result = runner.invoke(app, ["extract", str(EXAMPLE), str(missing), "--format", "jsonl"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["source"] == str(EXAMPLE)
    assert lines[0]["word_count"] > 300
    assert lines[1]["source"] == str(missing)
    assert lines[1]["error"] == f"No such file: {missing}"


def test_unsupported_file_type_is_one_clear_sentence(tmp_path: Path) -> None:
    doc = tmp_path / "report.docx"
    doc.write_bytes(b"PK\x03\x04")
    result = runner.invoke(app, ["extract", str(doc)])
    assert result.exit_code == 1
    assert "report.docx: briefbot reads web pages and text" in result.stderr
    assert "Traceback" not in result.output


def test_brief_example_attributes_quotes_and_ignores_noise() -> None:
    result = runner.invoke(app, ["brief", str(EXAMPLE), "--format", "json", "--engine", "extractive"])
    assert result.exit_code == 0, result.output
    briefing = json.loads(result.stdout)
    assert briefing["engine"] == "extractive"
    assert len(briefing["tldr"].split()) <= 35
    # Three statements in all for a short article: the TL;DR and two key points that do not repeat it.
    assert len(briefing["key_points"]) == 2
    assert not any(briefing["tldr"].rstrip(".") in point["text"] for point in briefing["key_points"])
    speakers = {q["speaker"]: q["speaker_role"] for q in briefing["quotes"]}
    assert "Alicia Moreno" in speakers
    # "..., city officials announced on Tuesday." ends the TL;DR's sentence: not shown again as an attribution.
    assert "city officials" not in speakers
    assert not any(q["kind"] == "indirect" and q["text"] in briefing["tldr"] for q in briefing["quotes"])
    assert "Tomas Okafor" in speakers
    assert all(q["verified"] for q in briefing["quotes"] if q["kind"] == "direct")
    text = json.dumps(briefing)
    for noise in ("Share this article", "covers transportation", "morning newsletter"):
        assert noise not in text


def test_brief_markdown_over_real_http(site: str) -> None:
    result = runner.invoke(app, ["brief", f"{site}/orchards.html"])
    assert result.exit_code == 0, result.output
    assert "Harold Beck" in result.stdout
    assert "Who said what" in result.stdout
    assert "All rights reserved" not in result.stdout


def test_pdf_link_gets_a_specific_message(site: str) -> None:
    result = runner.invoke(app, ["brief", f"{site}/report.pdf"])
    assert result.exit_code == 1
    assert "PDF" in result.stderr


def test_quotes_offsets_index_the_input_as_given(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    result = runner.invoke(app, ["quotes", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 0, result.output
    attributions = json.loads(result.stdout)["attributions"]
    assert attributions
    for item in attributions:
        assert item["text"] == text[item["start"] : item["end"]] or item["kind"] == "indirect"
        assert item["speaker_start"] is None or text[item["speaker_start"] : item["speaker_end"]]


def test_configuration_error_exits_with_distinct_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFBOT_ENGINE", "psychic")
    result = runner.invoke(app, ["brief", str(EXAMPLE)])
    assert result.exit_code == EXIT_CONFIG
    assert "BRIEFBOT_ENGINE" in result.stderr


def test_ask_answers_with_citations_or_refuses() -> None:
    result = runner.invoke(app, ["ask", str(EXAMPLE), "How much will the repairs cost?", "--format", "json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["refused"]
    assert "$186 million" in answer["answer"]
    assert any("$186 million" in c["text"] for c in answer["citations"])

    result = runner.invoke(app, ["ask", str(EXAMPLE), "What did the governor say about ferries?", "--format", "json"])
    refused = json.loads(result.stdout)
    assert refused == {"answer": "The article doesn't say.", "refused": True, "citations": [], "closest": []}


def test_a_refusal_shows_the_closest_passage_apart_from_the_answer() -> None:
    # The answerer does not take "cost drivers" for "add $40 million a year in fuel and labor costs": it refuses,
    # but shows the passage that came closest, so the reader can judge; it is never presented as the answer.
    question = "What will the detour cost drivers?"
    result = runner.invoke(app, ["ask", str(EXAMPLE), question, "--format", "json"])
    answer = json.loads(result.stdout)
    assert answer["refused"] and answer["answer"] == "The article doesn't say." and answer["citations"] == []
    assert len(answer["closest"]) >= 1 and "$40 million" in answer["closest"][0]["text"]

    result = runner.invoke(app, ["ask", str(EXAMPLE), question])
    lines = result.stdout.splitlines()
    assert lines[0] == "The article doesn't say."
    assert lines[1].startswith("The closest it comes:") and "$40 million" in result.stdout


def test_llm_engine_without_a_model_is_a_configuration_error() -> None:
    result = runner.invoke(app, ["brief", str(EXAMPLE), "--engine", "llm"])
    assert result.exit_code == EXIT_CONFIG
    assert "needs BRIEFBOT_LLM_API_KEY or BRIEFBOT_LLM_BASE_URL" in result.stderr
    assert "Traceback" not in result.output
