//! Side pots: who contributed what, who may win which part.
//!
//! Each non-folded player's total contribution is a level. Pot *i* holds, from every player,
//! the chips between level *i-1* and level *i*, and only the non-folded players who reached
//! level *i* may win it. Folded players' chips feed the pots their amounts reach.

use super::engine::MAX_SEATS;

/// Seats as bits: bit *i* set means seat *i*.
pub type SeatSet = u16;

/// All seats, as a [`SeatSet`].
pub(crate) const ALL_SEATS: SeatSet = (1 << MAX_SEATS) - 1;

/// How many seats `set` holds. (A table rather than `count_ones`: the x86-64 baseline the
/// build targets has no popcount instruction, and sets are counted on every decision.)
pub(crate) fn seat_count(set: SeatSet) -> usize {
    const COUNTS: [u8; 1 << MAX_SEATS] = {
        let mut counts = [0; 1 << MAX_SEATS];
        let mut set = 1;
        while set < counts.len() {
            counts[set] = counts[set >> 1] + (set & 1) as u8;
            set += 1;
        }
        counts
    };
    usize::from(COUNTS[usize::from(set & ALL_SEATS)])
}

/// The seats of `set`, lowest first.
pub(crate) fn seats_in(mut set: SeatSet) -> impl Iterator<Item = usize> + Clone {
    std::iter::from_fn(move || {
        (set != 0).then(|| {
            let seat = set.trailing_zeros() as usize;
            set &= set - 1;
            seat
        })
    })
}

/// The seats of `set` clockwise from the one left of `after`, `after` itself last.
pub(crate) fn clockwise(set: SeatSet, after: usize) -> impl Iterator<Item = usize> + Clone {
    let later = (ALL_SEATS << (after + 1)) & ALL_SEATS;
    seats_in(set & later).chain(seats_in(set & !later))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pot {
    pub amount: i64,
    pub eligible: SeatSet,
}

/// Splits the hand's contributions into pots, main pot first, writing them to `out` and
/// returning how many there are (at most one per seat). `totals[i]` is what seat *i* put in
/// this hand (after any uncalled bet was returned).
pub fn build_pots(totals: &[i64; MAX_SEATS], folded: SeatSet, out: &mut [Pot; MAX_SEATS]) -> usize {
    let mut pots = 0;
    let mut levels = [0i64; MAX_SEATS];
    let mut count = 0;
    // Without branches: which seats count is as good as random in a simulation.
    for (seat, &total) in totals.iter().enumerate() {
        levels[count] = total;
        count += usize::from(total > 0 && folded & (1 << seat) == 0);
    }
    let levels = &mut levels[..count];
    levels.sort_unstable();
    let mut previous = 0;
    // Sorted, so each level's repeats follow it; they add nothing (`previous` already
    // reached it) and are skipped.
    for &level in levels.iter() {
        if level == previous {
            continue;
        }
        let mut amount = 0;
        let mut eligible = 0;
        for (seat, &total) in totals.iter().enumerate() {
            amount += total.clamp(previous, level) - previous;
            eligible |= SeatSet::from(total >= level) << seat;
        }
        eligible &= !folded;
        out[pots] = Pot { amount, eligible };
        pots += 1;
        previous = level;
    }
    // Chips above every live player's total can only come from folded players; they are
    // dead money for the last pot rather than lost.
    let dead: i64 = totals.iter().map(|&t| (t - previous).max(0)).sum();
    if dead > 0 {
        if pots == 0 {
            out[0] = Pot {
                amount: 0,
                eligible: 0,
            };
            pots = 1;
        }
        out[pots - 1].amount += dead;
    }
    pots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pots(totals: &[i64], folded: &[usize]) -> Vec<(i64, Vec<usize>)> {
        let mut all = [0; MAX_SEATS];
        all[..totals.len()].copy_from_slice(totals);
        let folded = folded.iter().fold(0, |m, s| m | (1 << s));
        let mut out = [Pot {
            amount: 0,
            eligible: 0,
        }; MAX_SEATS];
        let count = build_pots(&all, folded, &mut out);
        out[..count]
            .iter()
            .map(|p| {
                let seats = (0..MAX_SEATS)
                    .filter(|s| p.eligible & (1 << s) != 0)
                    .collect();
                (p.amount, seats)
            })
            .collect()
    }

    #[test]
    fn equal_contributions_make_one_pot() {
        assert_eq!(pots(&[100, 100, 100], &[]), [(300, vec![0, 1, 2])]);
    }

    #[test]
    fn each_all_in_level_makes_a_side_pot_only_its_contributors_can_win() {
        // Seat 0 all-in for 50, seat 1 for 120, seats 2 and 3 go on to 300.
        assert_eq!(
            pots(&[50, 120, 300, 300], &[]),
            [
                (200, vec![0, 1, 2, 3]),
                (210, vec![1, 2, 3]),
                (360, vec![2, 3])
            ]
        );
    }

    #[test]
    fn folded_chips_stay_in_the_pots_but_their_owner_cannot_win() {
        // Seat 2 put in 80 then folded; seat 0 is all-in for 50.
        assert_eq!(
            pots(&[50, 200, 80, 200], &[2]),
            [(200, vec![0, 1, 3]), (330, vec![1, 3])]
        );
    }

    #[test]
    fn chips_are_conserved() {
        let totals = [7, 130, 130, 55, 0, 999, 1, 130, 64];
        let mut out = [Pot {
            amount: 0,
            eligible: 0,
        }; MAX_SEATS];
        let count = build_pots(&totals, 0b1_0000_0010, &mut out);
        let paid: i64 = out[..count].iter().map(|p| p.amount).sum();
        assert_eq!(paid, totals.iter().sum::<i64>());
    }
}
