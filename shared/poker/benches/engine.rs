//! Engine benchmark: `cargo bench -p simrunner-poker --bench engine`.
//!
//! Six `random` bots at one table, fast pace (no sleeps), one thread, nothing recorded:
//! tables are dealt until `HANDS` hands have been played (a table that is down to one player
//! is replaced by a fresh one). Prints hands per second. Target: >= 1,000,000.

use poker::{Bot, RandomBot, Table, play_out};
use std::time::Instant;

const HANDS: u64 = 3_000_000;

fn main() {
    let hands: u64 = std::env::var("BENCH_HANDS")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(HANDS);
    let started = Instant::now();
    let (mut played, mut tables, mut actions) = (0u64, 0u64, 0u64);
    let mut events = Vec::with_capacity(64);
    while played < hands {
        tables += 1;
        let mut table = Table::new(6, 1_000, 5, 10, tables);
        let mut bots: Vec<Box<dyn Bot>> = (0..6)
            .map(|s| Box::new(RandomBot::new(tables * 10 + s)) as Box<dyn Bot>)
            .collect();
        while played < hands {
            let Some((_, mut hand)) = table.deal(std::mem::take(&mut events)) else {
                break;
            };
            play_out(&mut hand, &mut bots);
            table.settle(&hand);
            played += 1;
            actions += hand
                .events()
                .iter()
                .filter(|e| matches!(e, poker::Event::Acted { .. }))
                .count() as u64;
            events = hand.into_events();
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("\nengine benchmark: 6 random bots, fast pace, one thread, nothing recorded");
    println!(
        "  {played} hands ({tables} tables, {:.1} actions/hand) in {seconds:.2} s: {:.0} hands/s",
        actions as f64 / played as f64,
        played as f64 / seconds
    );
}
