//! The runner: plays exactly one run and exits. See `run.rs` for the flow.

pub mod cli;
pub mod hand_tool;
pub mod handover;
mod host;
pub mod llm;
pub mod outside;
mod platform;
pub mod quality;
pub mod record;
pub mod run;
pub mod settings;
pub mod webhook;
