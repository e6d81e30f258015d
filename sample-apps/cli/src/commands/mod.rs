pub mod bench;
pub mod chat;
pub mod energy;
pub mod generate;
pub mod lifecycle;
pub mod misc;
pub mod report;

use std::path::Path;

use mote_core::{Engine, LoadOptions};

pub type CmdResult = Result<(), Box<dyn std::error::Error>>;

pub fn load(model: &Path, threads: usize, context_length: usize) -> Result<Engine, mote_core::Error> {
    Engine::load(model, LoadOptions { threads, context_length, ..Default::default() })
}
