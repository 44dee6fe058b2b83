"""What the agent protocol tests share: the real local stack, REST calls, outside agents over
real WebSockets, and a fake OpenAI-compatible provider for an LLM seat.

Everything talks to 127.0.0.1 only.
"""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets

ADMIN_TOKEN = "agent-tests-admin-token-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"{self.status} {self.body}"


class Stack:
    """`simrunner up` on a throwaway data folder with its own embedded PostgreSQL."""

    def __init__(self, extra_env=None):
        self.data = tempfile.mkdtemp(prefix="simrunner-agents-")
        os.chmod(self.data, 0o755)  # the embedded PostgreSQL runs as `postgres` under root
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.update({
            "SIMRUNNER_DATA_DIR": self.data, "SIMRUNNER_HTTP_ADDR": f"127.0.0.1:{port}",
            "SIMRUNNER_ADMIN_TOKEN": ADMIN_TOKEN, "SIMRUNNER_DEMO": "off",
            "RUST_LOG": os.environ.get("SIMRUNNER_AGENT_TESTS_LOG", "warn"),
            "SIMRUNNER_AGENT_REQUESTS_PER_MINUTE": "100000", "SIMRUNNER_MAX_CONCURRENT_RUNS": "20",
            # Low, so the flood test floods quickly.
            "SIMRUNNER_AGENT_FRAMES_PER_SECOND": "20",
        })
        env.update(extra_env or {})
        self.log = open(os.path.join(self.data, "stack.log"), "wb")
        self.process = subprocess.Popen(
            [os.environ["SIMRUNNER_BIN"], "up"], env=env, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(240):
            try:
                if self.call("GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.25)
        self.stop()
        raise RuntimeError("the local stack did not start; see its log above")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        if os.environ.get("SIMRUNNER_AGENT_TESTS_KEEP"):
            print(f"stack data kept in {self.data}")
        else:
            shutil.rmtree(self.data, ignore_errors=True)

    def call(self, method, path, body=None, token=None, raw=None, content_type=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {}
        if data is not None:
            headers["Content-Type"] = content_type or "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status, headers, text = r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            status, headers, text = e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text.decode()
        return Response(status, headers, parsed)

    def admin(self, method, path, body=None):
        return self.call(method, path, body, token=ADMIN_TOKEN)

    def register(self, name):
        r = self.call("POST", "/v1/agents", {"name": name})
        assert r.status == 201, r
        return r.body

    def table_for(self, slots, **config):
        """Creates a config with these slots and starts a run; returns (config, run, table)."""
        body = {
            "name": config.pop("name", "agent test"), "agent_slots": slots,
            "table_config": {"blinds": {"small": 5, "big": 10}, "initialStack": 1000,
                             "actionTimeoutMs": config.pop("timeout", 2000)},
            "max_hands": config.pop("hands", 3), "pace": config.pop("pace", "live"),
        }
        body.update(config)
        created = self.admin("POST", "/v1/admin/simulations", body)
        assert created.status == 201, created
        run = self.admin("POST", f"/v1/admin/simulations/{created.body['id']}/start")
        assert run.status == 201, run
        table = self.wait(lambda: self.admin(
            "GET", f"/v1/admin/simulations/runs/{run.body['id']}").body.get("table_id"))
        return created.body, run.body, table

    def run(self, run_id):
        return self.admin("GET", f"/v1/admin/simulations/runs/{run_id}").body

    def wait_run(self, run_id, timeout=90):
        return self.wait(
            lambda: (r := self.run(run_id))["status"] not in ("queued", "running") and r,
            timeout)

    def events(self, table):
        out, after = [], 0
        while True:
            page = self.call("GET", f"/v1/public/tables/{table}/events?after={after}&limit=500").body
            out.extend(page["events"])
            if not page["has_more"]:
                return out
            after = page["next_after"]

    def logs(self, run_id):
        files = self.admin("GET", f"/v1/admin/simulations/runs/{run_id}/logs").body["files"]
        return {f["name"]: f["entries"] for f in files}

    @staticmethod
    def wait(probe, timeout=30, every=0.1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(every)
        raise AssertionError("timed out waiting")


class Conn:
    """One agent connection: every message received is kept, in order (`messages`); `next`
    takes the oldest unread one of a type, and leaves the others unread for later calls."""

    def __init__(self, ws, framing):
        self.ws, self.framing = ws, framing
        self.messages = []
        self.unread = []
        self.closed = asyncio.Event()
        self.close_code = None
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url, token, framing="agent"):
        query = f"?token={token}" + ("&format=agent" if framing == "agent" else "")
        ws = await websockets.connect(ws_url + query, max_size=2**22)
        return cls(ws, framing)

    async def _read(self):
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.messages.append(message)
                self.unread.append(message)
                self.arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()
            self.arrived.set()

    @staticmethod
    def kind(message):
        return message["type"]

    def payload(self, message):
        return message["payload"] if self.framing == "envelope" else message

    async def next(self, kind, timeout=10, where=lambda p: True):
        deadline = asyncio.get_event_loop().time() + timeout
        while True:
            for i, m in enumerate(self.unread):
                if m["type"] == kind and where(self.payload(m)):
                    del self.unread[i]
                    return self.payload(m)
            if self.closed.is_set():
                raise AssertionError(f"closed ({self.close_code}) before a {kind}: {self.unread}")
            remaining = deadline - asyncio.get_event_loop().time()
            if remaining <= 0:
                raise AssertionError(f"no {kind} within {timeout} s: {self.unread}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    async def take(self):
        """The oldest unread message of any type."""
        while not self.unread:
            if self.closed.is_set():
                raise AssertionError(f"closed ({self.close_code})")
            self.arrived.clear()
            await self.arrived.wait()
        return self.unread.pop(0)

    async def send(self, frame):
        await self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def act(self, state, kind, amount=None, seq=True):
        action = {"turn_token": state["turn_token"], "kind": kind}
        if amount is not None:
            action["amount"] = amount
        frame = {"type": "action", "action": action}
        if seq:
            frame["expected_seq"] = state["seq"]
        await self.send(frame)
        return frame

    async def close(self):
        await self.ws.close()
        await self.closed.wait()


def legal(state):
    """The legal actions of a state in either framing, as (kind, min, max)."""
    if "actions" in state:
        return [(a["kind"], a.get("min"), a.get("max")) for a in state["actions"]]
    return [(a["kind"], a.get("minAmount"), a.get("maxAmount")) for a in state["legalActions"]]


def own_cards(state, seat):
    for player in state["players"]:
        if player.get("seat", player.get("seatId")) == seat:
            cards = player.get("cards") or player.get("holeCards") or []
            return [c if isinstance(c, str) else c["rank"] + c["suit"] for c in cards]
    return []


class FakeOpenAi:
    """An OpenAI-compatible chat server for an LLM seat: answers every call with the first
    legal action of the answer schema it was given (check or call)."""

    KEY = "sk-fake-agent-tests-0123456789"

    def __init__(self):
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                calls.append(body)
                schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
                names = schema.get("properties", {}).get("action", {}).get("enum", ["check"])
                choice = "check" if "check" in names else "call"
                content = json.dumps({"reasoning": "steady", "action": choice, "amount": None})
                answer = json.dumps({
                    "id": "x", "object": "chat.completion", "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
