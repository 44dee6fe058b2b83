"""The agent protocol 0.1, server side, over real HTTP and WebSockets against the real local
stack: every message, every error code, idempotent turn tokens, reconnects, takeovers,
timeouts, leaving, revocation, floods; and whole runs where outside agents play beside bots
and an LLM seat, checked against what the table recorded.

Run by ./infra/agent-tests.sh (part of ./infra/test.sh).
"""

import asyncio
import json
import random
import unittest

from harness import Conn, FakeOpenAi, Stack, legal, own_cards

stack = None
fake = None


def setUpModule():
    global stack, fake
    fake = FakeOpenAi()
    stack = Stack({"SIMRUNNER_OPENAI_BASE_URL": fake.url})
    key = stack.admin("POST", "/v1/admin/api-keys",
                      {"provider": "openai", "label": "fake", "key": FakeOpenAi.KEY})
    assert key.status == 201, key


def tearDownModule():
    stack.stop()
    fake.stop()


def seat_of(state):
    for player in state["players"]:
        if player.get("cards") or player.get("holeCards"):
            return player.get("seat", player.get("seatId"))


async def join(agent, table, **body):
    r = stack.call("POST", f"/v1/tables/{table}/join", body or None, token=agent["api_key"])
    assert r.status == 200, r
    return r.body


class Rest(unittest.TestCase):
    def test_registration_answers_once_with_a_key_and_refuses_bad_input(self):
        r = stack.call("POST", "/v1/agents", {"name": "Tight Tim", "metadata": {"lang": "py"}})
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.body["agent_id"].startswith("agt_"))
        self.assertTrue(r.body["api_key"].startswith("agk_"))
        self.assertEqual(r.body["protocol_version"], "0.1")
        self.assertTrue(r.body["skill_doc_url"].endswith("/skill.md"))
        anonymous = stack.call("POST", "/v1/agents", raw=b"", content_type="application/json")
        self.assertEqual(anonymous.status, 201, anonymous)
        for body, status in [({"name": "bad\nname"}, 400), ({"nickname": "x"}, 400),
                             ({"metadata": [1]}, 400)]:
            r = stack.call("POST", "/v1/agents", body)
            self.assertEqual((r.status, r.body["error"]["code"]), (status, "VALIDATION_ERROR"), r)
        r = stack.call("POST", "/v1/agents", raw=b"name=x", content_type="text/plain")
        self.assertEqual((r.status, r.body["error"]["code"]), (415, "VALIDATION_ERROR"), r)
        skill = stack.call("GET", "/skill.md")
        self.assertEqual(skill.status, 200)
        self.assertIn(f"{stack.url}/v1/agents", skill.body)

    def test_joining_needs_a_key_a_current_version_and_a_real_table(self):
        agent = stack.register("joiner")
        _, _, table = stack.table_for([{"type": "external"}, {"type": "external"}],
                                      join_timeout_seconds=5, hands=1)
        r = stack.call("POST", f"/v1/tables/{table}/join", {})
        self.assertEqual((r.status, r.body["error"]["code"]), (401, "UNAUTHORIZED"))
        self.assertEqual(r.headers.get("www-authenticate"), "Bearer")
        r = stack.call("POST", f"/v1/tables/{table}/join", {}, token="agk_not-a-key")
        self.assertEqual((r.status, r.body["error"]["code"]), (401, "UNAUTHORIZED"))
        r = stack.call("POST", f"/v1/tables/{table}/join", {"client_protocol_version": "0.0"},
                       token=agent["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (400, "OUTDATED_CLIENT"), r)
        self.assertEqual(r.body["error"]["min_supported_protocol_version"], "0.1")
        self.assertTrue(r.body["error"]["skill_doc_url"].endswith("/skill.md"))
        r = stack.call("POST", "/v1/tables/tbl_missing/join", {}, token=agent["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (404, "TABLE_NOT_FOUND"))
        r = stack.call("GET", "/v1/tables/tbl_missing")
        self.assertEqual((r.status, r.body["error"]["code"]), (404, "TABLE_NOT_FOUND"))
        listed = stack.call("GET", "/v1/tables?status=waiting").body
        mine = [t for t in listed["tables"] if t["id"] == table][0]
        self.assertEqual((mine["status"], mine["availableSeats"], mine["playerCount"]),
                         ("waiting", 2, 0))
        self.assertEqual(mine["config"]["blinds"], {"small": 5, "big": 10})
        joined = stack.call("POST", f"/v1/tables/{table}/join", {"preferred_seat": 1},
                            token=agent["api_key"])
        self.assertEqual((joined.status, joined.body["seat_id"]), (200, 1), joined)
        self.assertTrue(joined.body["ws_url"].startswith("ws://127.0.0.1:"))
        again = stack.call("POST", f"/v1/tables/{table}/join", {}, token=agent["api_key"])
        self.assertEqual((again.status, again.body["error"]["code"]), (409, "ALREADY_SEATED"))
        self.assertEqual(stack.call("GET", f"/v1/tables/{table}").body["availableSeats"], 1)
        r = stack.call("GET", "/v1/tables?status=sideways")
        self.assertEqual((r.status, r.body["error"]["code"]), (400, "VALIDATION_ERROR"))

    def test_a_kept_seat_refuses_others_auto_join_finds_a_bucket_and_leaving_early_reopens(self):
        kept_for = stack.register("vip")
        other = stack.register("walk-in")
        bucket = f"sb7_bb14_seats2_timeout2000"
        config, run, table = stack.table_for(
            [{"type": "external", "agent_id": kept_for["agent_id"]}, {"type": "random"}],
            join_timeout_seconds=30, hands=1,
            table_config={"blinds": {"small": 7, "big": 14}, "initialStack": 1000,
                          "actionTimeoutMs": 2000})
        self.assertEqual(config["bucket_key"], bucket)
        r = stack.call("POST", f"/v1/tables/{table}/join", {}, token=other["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (409, "TABLE_FULL"), r)
        r = stack.call("POST", "/v1/tables/auto-join", {"bucket_key": bucket}, token=other["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (404, "TABLE_NOT_FOUND"), r)
        r = stack.call("POST", "/v1/tables/auto-join", {"bucket_key": bucket},
                       token=kept_for["api_key"])
        self.assertEqual((r.status, r.body["table_id"], r.body["seat_id"]), (200, table, 0), r)
        left = stack.call("POST", f"/v1/tables/{table}/leave", token=kept_for["api_key"])
        self.assertEqual(left.status, 200, left)
        self.assertIn("open again", left.body["message"])
        self.assertEqual(stack.call("GET", f"/v1/tables/{table}").body["availableSeats"], 1)
        r = stack.call("POST", f"/v1/tables/{table}/leave", token=kept_for["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (404, "NOT_SEATED"))
        stack.admin("POST", f"/v1/admin/simulations/{config['id']}/stop")
        stack.wait_run(run["id"])

    def test_a_table_nobody_joins_fails_naming_the_seat_or_is_filled_by_the_bot_asked_for(self):
        _, run, table = stack.table_for([{"type": "external"}, {"type": "tight"}],
                                        join_timeout_seconds=5, hands=1)
        done = stack.wait_run(run["id"])
        self.assertEqual(done["status"], "failed")
        self.assertEqual(done["error"]["code"], "external_seats_empty")
        self.assertIn("seat 0", done["error"]["message"])
        events = stack.events(table)
        self.assertEqual(events[-1]["type"], "table_ended", "the feed still ends")
        _, run, table = stack.table_for([{"type": "external"}, {"type": "tight"}],
                                        join_timeout_seconds=5, hands=2,
                                        fill_empty_seats_with="callstation")
        done = stack.wait_run(run["id"])
        self.assertEqual(done["status"], "completed", done)
        names = [a["name"] for a in done["results"]["agents"]]
        self.assertEqual(names, ["sim-callstation-0", "sim-tight-1"])


class Game(unittest.IsolatedAsyncioTestCase):
    async def test_a_table_over_websockets_every_message_and_error(self):
        alice, bob = stack.register("alice"), stack.register("bob <b>")
        config, run, table = stack.table_for([{"type": "external"}, {"type": "external"}],
                                             join_timeout_seconds=60, hands=2, timeout=4000)
        a = await join(alice, table)
        # Connecting early: welcome, then the table waits.
        ca = await Conn.open(a["ws_url"], a["session_token"], "agent")
        welcome = await ca.next("welcome")
        self.assertEqual((welcome["seat"], welcome["agent_id"], welcome["timeout"]),
                         (a["seat_id"], alice["agent_id"], 4000))
        waiting = await ca.next("table_status")
        self.assertEqual((waiting["status"], waiting["current_players"]), ("waiting", 1))
        b = await join(bob, table)
        joined = await ca.next("player_joined")
        self.assertEqual((joined["seatId"], joined["agentName"]), (b["seat_id"], "bob <b>"))
        cb = await Conn.open(b["ws_url"], b["session_token"], "envelope")
        await cb.next("welcome")
        envelope_welcome = cb.messages[0]
        self.assertEqual(set(envelope_welcome), {"type", "table_id", "ts", "payload"})
        self.assertEqual(envelope_welcome["payload"]["protocol_version"], "0.1")
        await ca.next("table_status", where=lambda p: p["status"] == "running")
        # Pings are answered by the gateway.
        await ca.send({"type": "ping", "payload": {"timestamp": 42}})
        self.assertEqual((await ca.next("pong"))["timestamp"], 42)
        # Bad frames: each gets its error and the connection stays.
        for frame, code in [("{nope", "VALIDATION_ERROR"), ({"type": "dance"}, "VALIDATION_ERROR"),
                            ({"type": "action", "action": {"kind": "call"}}, "VALIDATION_ERROR")]:
            await ca.send(frame)
            self.assertEqual((await ca.next("error"))["code"], code)
        await ca.send(b"\x00\x01")
        self.assertEqual((await ca.next("error"))["code"], "VALIDATION_ERROR")

        conns = {a["seat_id"]: ca, b["seat_id"]: cb}
        first = await ca.next("game_state")
        state_b = await cb.next("game_state")
        self.assertEqual(first["hand"], 1)
        self.assertEqual(len(own_cards(first, a["seat_id"])), 2)
        self.assertEqual(own_cards(first, b["seat_id"]), [], "never another seat's cards")
        self.assertEqual(own_cards(state_b, a["seat_id"]), [])
        self.assertEqual(len(state_b["players"][b["seat_id"]]["holeCards"]), 2)
        to_act = first["turn"]
        mover, waiter = conns[to_act], conns[1 - to_act]
        mine = first if to_act == a["seat_id"] else state_b
        other_state = state_b if to_act == a["seat_id"] else first
        self.assertIn("turn_token", mine)
        self.assertNotIn("turn_token", other_state)
        self.assertFalse(other_state.get("actions") or other_state.get("legalActions"))
        # Out of turn, stale, illegal: refused with their codes; nothing is played.
        fake_turn = dict(mine, seq=mine["seq"])
        await waiter.act(fake_turn, "call")
        self.assertEqual((await waiter.next("error"))["code"], "NOT_YOUR_TURN")
        await mover.act(dict(mine, seq=mine["seq"] - 1), "call")
        self.assertEqual((await mover.next("error"))["code"], "STALE_SEQ")
        top = max(m or 0 for k, _, m in legal(mine) if k == "raiseTo")
        await mover.act(mine, "raiseTo", top + 1)
        self.assertEqual((await mover.next("error"))["code"], "INVALID_ACTION")
        await mover.act(dict(mine, turn_token="someone-elses"), "call")
        self.assertEqual((await mover.next("error"))["code"], "INVALID_ACTION")
        # A legal call, sent twice: one ack each time, the same, and one action.
        frame = await mover.act(mine, "call")
        ack = await mover.next("ack")
        self.assertEqual(ack["turn_token"], mine["turn_token"])
        await mover.send(frame)
        again = await mover.next("ack")
        self.assertEqual(again["seq"], ack["seq"])
        nxt = await waiter.next("game_state", where=lambda p: p["seq"] > mine["seq"])
        self.assertEqual(nxt["seq"], ack["seq"])

        # Reconnect with the same token: welcome and the current state again.
        await waiter.close()
        back = await Conn.open(a["ws_url"] if waiter is ca else b["ws_url"],
                               (a if waiter is ca else b)["session_token"], waiter.framing)
        await back.next("welcome")
        current = await back.next("game_state")
        self.assertGreaterEqual(current["seq"], nxt["seq"])
        conns[1 - to_act] = back
        # A second connection on the session takes it over; the first is told and closed.
        token = (a if mover is ca else b)["session_token"]
        taker = await Conn.open(a["ws_url"], token, mover.framing)
        await taker.next("welcome")
        self.assertEqual((await mover.next("error"))["code"], "SESSION_EXPIRED")
        await asyncio.wait_for(mover.closed.wait(), 10)
        conns[to_act] = taker

        # Play the rest out calling or checking; the table ends and says why.
        async def play(conn):
            while True:
                message = await asyncio.wait_for(conn.take(), 60)
                state = conn.payload(message)
                if message["type"] == "table_status" and state["status"] == "ended":
                    return state
                if message["type"] == "game_state" and state.get("turn_token"):
                    kinds = [k for k, _, _ in legal(state)]
                    await conn.act(state, "check" if "check" in kinds else "call")

        ends = await asyncio.gather(*(play(c) for c in conns.values()))
        self.assertEqual(ends[0]["reason"], "the hand limit was reached")
        self.assertEqual(sum(s["stack"] for s in ends[0]["final_stacks"]), 2000)
        for conn in conns.values():
            completes = [m for m in conn.messages if m["type"] == "hand_complete"]
            self.assertEqual(len(completes), 2)
            await asyncio.wait_for(conn.closed.wait(), 10)
        done = stack.wait_run(run["id"])
        self.assertEqual((done["status"], done["hands_played"]), ("completed", 2))
        # The session is over now.
        late = await Conn.open(a["ws_url"], a["session_token"], "agent")
        self.assertEqual((await late.next("error"))["code"], "SESSION_EXPIRED")
        await asyncio.wait_for(late.closed.wait(), 10)
        self.assertEqual(late.close_code, 1008)

    async def test_bad_tokens_oversized_frames_and_floods_are_refused(self):
        stack_url = stack.url.replace("http://", "ws://") + "/v1/ws"
        for token, code in [("", "UNAUTHORIZED"), ("ses_unknown", "UNAUTHORIZED")]:
            conn = await Conn.open(stack_url, token, "agent")
            self.assertEqual((await conn.next("error"))["code"], code)
            await asyncio.wait_for(conn.closed.wait(), 10)
            self.assertEqual(conn.close_code, 1008)
        agent = stack.register("flooder")
        config, run, table = stack.table_for([{"type": "external"}, {"type": "external"}],
                                             join_timeout_seconds=60, hands=1)
        seat = await join(agent, table)
        big = await Conn.open(seat["ws_url"], seat["session_token"], "agent")
        await big.next("welcome")
        await big.send(json.dumps({"type": "ping", "pad": "x" * 70_000}))
        await asyncio.wait_for(big.closed.wait(), 10)
        self.assertEqual(big.close_code, 1009)
        flood = await Conn.open(seat["ws_url"], seat["session_token"], "agent")
        await flood.next("welcome")
        for _ in range(400):
            try:
                await flood.send({"type": "ping", "payload": {"timestamp": 1}})
            except Exception:
                break
        self.assertEqual((await flood.next("error"))["code"], "RATE_LIMIT_EXCEEDED")
        await asyncio.wait_for(flood.closed.wait(), 10)
        self.assertEqual(flood.close_code, 1008)
        stack.admin("POST", f"/v1/admin/simulations/{config['id']}/stop")
        stack.wait_run(run["id"])

    async def test_timeouts_fall_back_and_are_logged_leaving_cashes_out_revoking_ends_sessions(self):
        idle, leaver, revoked = (stack.register(n) for n in ("idle", "leaver", "revoked"))
        config, run, table = stack.table_for(
            [{"type": "external"}, {"type": "external"}, {"type": "external"}],
            join_timeout_seconds=60, hands=50, timeout=1000)
        seats = {}
        conns = {}
        for agent in (idle, leaver, revoked):
            seats[agent["agent_id"]] = await join(agent, table)
            s = seats[agent["agent_id"]]
            conns[agent["agent_id"]] = await Conn.open(s["ws_url"], s["session_token"], "agent")
        # Nobody answers: the first decisions time out and are played check-or-fold.
        c = conns[idle["agent_id"]]
        await c.next("game_state", timeout=15, where=lambda p: p["hand"] >= 2)
        # The leaver leaves mid-run: told, disconnected, and the others see it go.
        left = stack.call("POST", f"/v1/tables/{table}/leave", token=leaver["api_key"])
        self.assertEqual(left.status, 200, left)
        lc = conns[leaver["agent_id"]]
        self.assertEqual((await lc.next("error"))["code"], "SESSION_EXPIRED")
        await asyncio.wait_for(lc.closed.wait(), 10)
        gone = await c.next("player_left", timeout=20)
        self.assertEqual(gone["seatId"], seats[leaver["agent_id"]]["seat_id"])
        # A revoked agent's connection ends and its key opens nothing.
        r = stack.admin("POST", f"/v1/admin/agents/{revoked['agent_id']}/revoke")
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(r.body["revoked_at"])
        rc = conns[revoked["agent_id"]]
        self.assertEqual((await rc.next("error"))["code"], "UNAUTHORIZED")
        await asyncio.wait_for(rc.closed.wait(), 10)
        r = stack.call("GET", f"/v1/tables/{table}")
        r = stack.call("POST", f"/v1/tables/{table}/leave", token=revoked["api_key"])
        self.assertEqual((r.status, r.body["error"]["code"]), (401, "UNAUTHORIZED"))
        ended = await c.next("table_status", timeout=60, where=lambda p: p["status"] == "ended")
        self.assertEqual(ended["reason"], "one seat holds every chip")
        done = stack.wait_run(run["id"])
        self.assertEqual(done["status"], "completed", done)
        results = {a["name"]: a for a in done["results"]["agents"]}
        self.assertEqual(sum(a["final_stack"] for a in results.values()), 3000,
                         "cashed-out stacks count")
        logs = stack.logs(run["id"])
        stream = f"agent-{seats[idle['agent_id']]['seat_id']}-external"
        timeouts = [e for e in logs[stream] if e.get("event") == "fallback"]
        self.assertTrue(timeouts and all(e["reason"] == "timeout" for e in timeouts), logs[stream])
        stats = stack.admin("GET", f"/v1/admin/agents/{idle['agent_id']}").body
        self.assertEqual(stats["timeouts"], len(timeouts))
        self.assertEqual(stats["tables_played"], 1)
        self.assertIsNotNone(stats["last_seen_at"])
        kinds = [e["type"] for e in stack.events(table)]
        self.assertIn("player_left", kinds)


class WholeRun(unittest.IsolatedAsyncioTestCase):
    async def test_outside_agents_play_beside_bots_and_an_llm_and_the_record_matches(self):
        agents = [stack.register(f"player {i}") for i in range(2)]
        config, run, table = stack.table_for(
            [{"type": "external"}, {"type": "tight"}, {"type": "external"},
             {"type": "protocol", "model": "openai:fake-model"}],
            join_timeout_seconds=60, hands=12, timeout=1500, pace="fast")
        rng = random.Random(7)
        seen = {}  # (seat, hand) -> own cards
        done_actions = {}  # seat -> [(hand, kind, amount)] as acked

        async def play(agent, framing):
            s = await join(agent, table)
            seat = s["seat_id"]
            conn = await Conn.open(s["ws_url"], s["session_token"], framing)
            pending = {}
            while True:
                message = await asyncio.wait_for(conn.take(), 120)
                kind, p = message["type"], conn.payload(message)
                if kind == "game_state":
                    cards = own_cards(p, seat)
                    hand = p.get("hand", p.get("handNumber"))
                    if cards:
                        seen[(seat, hand)] = cards
                    if p.get("turn_token"):
                        options = legal(p)
                        k, lo, hi = rng.choice(options)
                        amount = rng.randint(lo, min(hi, lo * 2)) if k == "raiseTo" else None
                        pending[p["turn_token"]] = (hand, k, amount)
                        await conn.act(p, k, amount)
                elif kind == "ack":
                    done_actions.setdefault(seat, []).append(pending.pop(p["turn_token"]))
                elif kind == "table_status" and p["status"] == "ended":
                    return seat

        await asyncio.gather(play(agents[0], "agent"), play(agents[1], "envelope"))
        done = stack.wait_run(run["id"])
        self.assertEqual(done["status"], "completed", done)
        # Twelve hands, unless one seat took every chip before (the deck is the run's own).
        holding = [a for a in done["results"]["agents"] if a["final_stack"] > 0]
        self.assertTrue(done["hands_played"] == 12 or (done["hands_played"] < 12 and len(holding) == 1), done)
        events = stack.events(table)
        opened = [e for e in events if e["type"] == "table_opened"][0]["data"]["seats"]
        self.assertEqual([s["type"] for s in opened], ["external", "tight", "external", "protocol"])
        self.assertEqual(opened[0]["name"], "player 0")
        recorded = {}
        for e in events:
            if e["type"] == "action" and e["data"]["seat"] in (0, 2):
                d = e["data"]
                kind = {"bet": "raiseTo", "raise": "raiseTo"}.get(d["action"], d["action"])
                amount = d["total"] if kind == "raiseTo" else None
                recorded.setdefault(d["seat"], []).append((e["hand"], kind, amount))
        for seat in (0, 2):
            self.assertEqual(recorded.get(seat, []), done_actions.get(seat, []),
                             f"seat {seat}: what it did is what was recorded")
        for e in events:
            if e["type"] == "showdown" and e["data"]["seat"] in (0, 2):
                self.assertEqual(e["data"]["cards"], seen[(e["data"]["seat"], e["hand"])],
                                 "the cards shown are the cards the agent was dealt")
        self.assertTrue(fake.calls, "the LLM seat was asked")
        usage = done["llm_usage"]["seats"][0]
        self.assertEqual(usage["fallbacks"], 0, usage)


if __name__ == "__main__":
    unittest.main()
