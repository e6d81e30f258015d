//! Kill and restore (issue 12): a child process chats with long replies and
//! saves a snapshot after every completed turn; it is SIGKILLed at random
//! points, often right inside the snapshot write, `MOTE_KILLS` times (default
//! 50). After every kill the snapshot on disk must read back whole (never
//! half-written), hold the conversation intact up to a completed turn, and
//! lose no turn the child had reported saved; the next child restores from it
//! and carries on. Real SmolLM2 model.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use mote_core::memory::snapshot;
use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions, Role};

mod common;

const SNAPSHOT: &str = "chat.motesnap";

fn question(turn: usize) -> String {
    format!("Turn {turn}: tell me a long story about a lighthouse.")
}

/// The child: restores the chat if a snapshot exists, then chats forever,
/// saving after each completed turn. A no-op unless the parent set the env.
#[test]
fn kill_restore_child() {
    let Some(dir) = std::env::var_os("MOTE_KILL_RESTORE_DIR").map(PathBuf::from) else { return };
    let path = dir.join(SNAPSHOT);
    let e = Engine::load(&common::model_path("smollm2"), LoadOptions { context_length: 512, ..Default::default() }).unwrap();
    let s = if path.exists() { e.restore_session(&path).expect("the snapshot on disk always reads") } else { e.new_session() };
    let mut out = std::io::stdout();
    loop {
        let turn = s.history().len() / 2;
        let cfg = GenerationConfig { max_tokens: 48, ..GenerationConfig::greedy() };
        s.send(&question(turn), &cfg, &CancelToken::new(), &mut |_| {}).unwrap();
        writeln!(out, "SAVING {turn}").unwrap();
        out.flush().unwrap();
        s.save_snapshot(&path).unwrap();
        writeln!(out, "SAVED {turn}").unwrap();
        out.flush().unwrap();
    }
}

/// Completed turns in the snapshot at `path`, checked to be a whole, ordered
/// conversation (0 if there is no snapshot yet).
fn saved_turns(path: &Path) -> usize {
    if !path.exists() {
        return 0;
    }
    let h = snapshot::read(path).unwrap_or_else(|e| panic!("half-written snapshot: {e}")).0.history;
    assert_eq!(h.len() % 2, 0, "a snapshot holds whole turns");
    for (i, pair) in h.chunks(2).enumerate() {
        assert_eq!((pair[0].role, pair[0].content.as_str()), (Role::User, question(i).as_str()), "turn {i}");
        assert_eq!(pair[1].role, Role::Assistant, "turn {i}");
        assert!(!pair[1].content.is_empty(), "turn {i} has its reply");
    }
    h.len() / 2
}

#[test]
fn a_chat_killed_at_random_points_restores_every_saved_turn() {
    let kills: usize = std::env::var("MOTE_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SNAPSHOT);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut in_write, mut restores, mut last_saved) = (0, 0, 0usize);
    let t = Instant::now();
    for _ in 0..kills {
        let had_snapshot = path.exists();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill_restore_child", "--nocapture", "--test-threads", "1"])
            .env("MOTE_KILL_RESTORE_DIR", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // A third of the kills aim at the snapshot write, the rest land anywhere.
        let aim_at_write = next(3) == 0;
        let deadline = Instant::now() + Duration::from_millis(300 + next(2500));
        let mut saved_here = None;
        let mut writing = false;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(if aim_at_write { Duration::from_secs(60) } else { wait }) {
                Ok(line) => {
                    if let Some(k) = line.strip_prefix("SAVED ") {
                        saved_here = Some(k.trim().parse::<usize>().unwrap());
                        writing = false;
                    } else if line.starts_with("SAVING ") {
                        writing = true;
                        if aim_at_write {
                            std::thread::sleep(Duration::from_micros(next(3000)));
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
            if !aim_at_write && Instant::now() >= deadline {
                break;
            }
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child ran until killed: {status}");
        reader.join().unwrap();
        in_write += usize::from(writing);
        restores += usize::from(had_snapshot);
        let turns = saved_turns(&path);
        // Every turn the child reported saved is there; at most one more
        // (a write that finished as the kill landed).
        let reported = saved_here.map_or(last_saved, |k| k + 1);
        assert!(turns >= reported && turns <= reported + 1, "{turns} turns on disk, {reported} reported saved");
        last_saved = turns;
    }
    let stale = std::fs::read_dir(dir.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name() != SNAPSHOT).count();
    println!(
        "{kills} kills in {:.0} s ({in_write} during a snapshot write), {restores} restores, {last_saved} turns intact; {stale} stale temporary files",
        t.elapsed().as_secs_f64()
    );
    assert!(last_saved > 0, "the chat made progress across kills");
    assert!(stale <= 1, "temporary files of killed writers are cleaned up: {stale} left");
}
