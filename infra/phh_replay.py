"""Replays hand histories in PokerKit, hand by hand: python infra/phh_replay.py FILE.phhs...

Run with the pinned PokerKit in ./.venv-pokerkit (infra/test.sh installs it); the
differential test (runner-task/tests/phh_replay.rs) calls it on hands the real runner
recorded. Every hand must load, every action must be legal in PokerKit, and the final
stacks must equal the hand's `finishing_stacks`. Where simrunner's engine follows one of
its documented conventions (shared/poker/src/engine.rs) and PokerKit's rules differ, the
convention is applied to PokerKit's state at that point and counted by name:

- full_big_blind_call: the big blind was posted all-in short, and a call or raise before
  the flop was to the full big blind (PokerKit has callers match only what was posted);
- odd_chips_one_at_a_time: a split pot's odd chips went one each to the winners nearest the
  button's left, pot by pot (PokerKit gives them all to the first winner, and first merges
  the pots whose winners are the same);
- option_skipped_nobody_can_answer: PokerKit asked a seat whose only choice was to check,
  nobody being left to answer a bet (typically the big blind's option); simrunner does not
  ask.

Prints one JSON object: hands, tables, conventions (hands per name), failures (the first
few unexplained differences, with the hand), seconds and hands_per_second. Exits 1 when
any hand differs in any other way.
"""

import json
import sys
import time
import tomllib
import warnings

from pokerkit import Automation, HandHistory, Mode, NoLimitTexasHoldem
from pokerkit.notation import parse_action

AUTOMATIONS = (
    Automation.ANTE_POSTING,
    Automation.BET_COLLECTION,
    Automation.BLIND_OR_STRADDLE_POSTING,
    Automation.RUNOUT_COUNT_SELECTION,
    Automation.CHIPS_PULLING,
)
# Burn cards are burnt here, face down: PokerKit's automation would burn a card from its own
# shuffled deck, possibly one the board then deals. Losing hands are killed and the pots
# pushed here, once the showdown's hands are noted, to compare with how simrunner pays them.

FULL_BIG_BLIND = "full_big_blind_call"
ODD_CHIPS = "odd_chips_one_at_a_time"
OPTION_SKIPPED = "option_skipped_nobody_can_answer"
CONVENTIONS = (FULL_BIG_BLIND, ODD_CHIPS, OPTION_SKIPPED)


class Unexplained(Exception):
    """A difference no documented convention explains."""


def new_state(hh):
    game = NoLimitTexasHoldem(
        AUTOMATIONS,
        hh.ante_trimming_status,
        hh.antes,
        hh.blinds_or_straddles,
        hh.min_bet,
        mode=Mode.CASH_GAME,
    )
    return game(hh.starting_stacks, len(hh.starting_stacks))


def big_blind_index(hh):
    # PHH lists the small blind first; heads-up the big blind is first and the button second.
    return 0 if len(hh.starting_stacks) == 2 else 1


class Replay:
    def __init__(self, hh):
        self.hh = hh
        self.state = new_state(hh)
        self.used = set()
        big_blind = hh.blinds_or_straddles[1]
        self.big_blind = big_blind
        self.short_big_blind = hh.starting_stacks[big_blind_index(hh)] < big_blind
        self.showdown = None

    def preflop(self):
        return self.state.street_index == 0

    def full_big_blind_pending(self):
        """Before the flop, while nobody has put in the full big blind (posted short)."""
        return self.short_big_blind and self.preflop() and max(self.state.bets) < self.big_blind

    def skip_checks_nobody_can_answer(self, actor):
        """PokerKit asks for a check simrunner skips: check, and count it."""
        state = self.state
        while state.actor_index is not None and state.actor_index != actor:
            if state.checking_or_calling_amount != 0 or state.can_complete_bet_or_raise_to():
                raise Unexplained(
                    f"PokerKit expects p{state.actor_index + 1} to act "
                    f"(to call {state.checking_or_calling_amount})"
                )
            state.check_or_call()
            self.used.add(OPTION_SKIPPED)

    def call(self, text):
        """A call to the full big blind when the big blind was posted short."""
        state = self.state
        player = state.actor_index
        level = max(self.big_blind, max(state.bets)) if self.short_big_blind and self.preflop() else None
        parse_action(state, text)
        # When the call ends the betting, what it would add beyond everyone else comes back
        # uncalled either way.
        if level is None or not state.actor_indices:
            return
        target = min(level, state.bets[player] + state.stacks[player])
        if state.bets[player] < target:
            extra = target - state.bets[player]
            state.bets[player] += extra
            state.stacks[player] -= extra
            state.payoffs[player] -= extra
            self.used.add(FULL_BIG_BLIND)

    def raise_to(self, text, amount):
        """A raise measured from the full big blind when the big blind was posted short."""
        pending = self.full_big_blind_pending()
        parse_action(self.state, text)
        if pending:
            self.state.completion_betting_or_raising_amount = amount - self.big_blind
            self.used.add(FULL_BIG_BLIND)

    def pay_pots(self):
        """Notes who showed down with what, then lets PokerKit kill the losing hands and
        push the pots."""
        state = self.state
        showdown = state.can_kill_hand() or (state.can_push_chips() and sum(state.statuses) > 1)
        if showdown and self.showdown is None:
            self.hands = tuple(state.get_up_hands(0, 0))
            self.showdown = [i for i in state.player_indices if state.statuses[i]]
            self.stacks_before_pots = list(state.stacks)
        while state.can_kill_hand():
            state.kill_hand()
        while state.can_push_chips():
            state.push_chips()

    def simrunner_payouts(self):
        """The pots as simrunner's engine pays them: a pot per contribution level of the
        players who showed down, each split among its best hands, odd chips one each from
        the button's left (PHH's first player)."""
        hh = self.hh
        paid = [0] * len(hh.starting_stacks)
        contributed = [start - left for start, left in zip(hh.starting_stacks, self.stacks_before_pots)]
        levels = sorted({contributed[i] for i in self.showdown if contributed[i] > 0})
        previous = 0
        pots = []
        for level in levels:
            amount = sum(min(max(c, previous), level) - previous for c in contributed)
            pots.append([amount, [i for i in self.showdown if contributed[i] >= level]])
            previous = level
        pots[-1][0] += sum(max(c - previous, 0) for c in contributed)
        for amount, eligible in pots:
            best = max(self.hands[i] for i in eligible)
            winners = [i for i in eligible if self.hands[i] == best]
            share, odd = divmod(amount, len(winners))
            for n, i in enumerate(winners):
                paid[i] += share + (n < odd)
        return paid, len(pots)

    def settle_odd_chips(self):
        """PokerKit has paid the pots; where only odd chips went elsewhere than simrunner
        puts them, put them there and count the convention."""
        if self.showdown is None:
            return
        state = self.state
        pokerkit = [after - before for after, before in zip(state.stacks, self.stacks_before_pots)]
        ours, pots = self.simrunner_payouts()
        if ours == pokerkit:
            return
        if sum(ours) != sum(pokerkit) or any(abs(a - b) > pots for a, b in zip(ours, pokerkit)):
            raise Unexplained(f"the pots were paid {pokerkit} in PokerKit, {ours} by simrunner's rules")
        for i, (a, b) in enumerate(zip(ours, pokerkit)):
            state.stacks[i] += a - b
        self.used.add(ODD_CHIPS)

    def run(self):
        state = self.state
        for text in self.hh.actions:
            words = text.split("#")[0].split()
            if not words:
                continue
            actor = int(words[0][1:]) - 1 if words[0] != "d" else None
            betting = actor is not None and words[1] in ("f", "cc", "cbr")
            self.skip_checks_nobody_can_answer(actor if betting else None)
            if words[:2] == ["d", "db"] and state.can_burn_card():
                state.burn_card("??")
            try:
                if betting and words[1] == "cc":
                    self.call(text)
                elif betting and words[1] == "cbr":
                    self.raise_to(text, int(words[2]))
                else:
                    parse_action(state, text)
            except (ValueError, UserWarning) as error:
                raise Unexplained(f"{text!r} is not legal in PokerKit: {error}") from error
            self.pay_pots()
        self.skip_checks_nobody_can_answer(None)
        self.pay_pots()
        if state.status:
            raise Unexplained("the hand is not over in PokerKit after its last action")
        self.settle_odd_chips()
        expected = list(self.hh.finishing_stacks)
        if list(state.stacks) != expected:
            raise Unexplained(f"final stacks {list(state.stacks)} in PokerKit, {expected} recorded")
        return self.used


def main(paths):
    # A warning from PokerKit (an action it finds dubious) is a difference too.
    warnings.simplefilter("error")
    counts = {name: 0 for name in CONVENTIONS}
    failures = []
    failed = hands = 0
    started = time.perf_counter()
    for path in paths:
        with open(path, "rb") as file:
            document = tomllib.load(file)
        for key, fields in document.items():
            hands += 1
            try:
                hh = HandHistory(**HandHistory._filter_non_fields(**fields))
                for name in Replay(hh).run():
                    counts[name] += 1
            except Exception as error:  # noqa: BLE001 - every difference is reported
                failed += 1
                if len(failures) < 10:
                    failures.append({"file": path, "hand": key, "error": f"{type(error).__name__}: {error}",
                                     "actions": fields.get("actions")})
    seconds = time.perf_counter() - started
    print(json.dumps({
        "hands": hands,
        "tables": len(paths),
        "conventions": counts,
        "failed": failed,
        "failures": failures,
        "seconds": round(seconds, 2),
        "hands_per_second": round(hands / seconds) if seconds else None,
    }))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
