//! `runner-task`: plays the run named by `RUN_ID` (ECS Fargate task, child process or
//! container), or checks one hand with `runner-task hand < hand.json`.
//!
//! Exit codes: 0 completed or cancelled (or nothing to do: the run was not queued),
//! 1 failed, 2 bad settings or input, or no such run.

fn main() -> std::process::ExitCode {
    runner_task::cli::main(std::env::args().skip(1))
}
