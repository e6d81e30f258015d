//! The manager end to end: catalogue, pulls into the store, versions with
//! validation and rollback, garbage collection, and the engine set's LRU
//! eviction under a budget that holds one of the two real models.

mod common;
use common::*;

use mote_models::{Catalogue, EngineSet, Manager, ModelError, RetryPolicy, Status};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

fn manager(dir: &std::path::Path) -> Manager {
    Manager::open(dir)
        .unwrap()
        .with_retry_policy(RetryPolicy { max_failures: 4, initial_backoff: Duration::from_millis(5), max_backoff: Duration::from_millis(20) })
}

#[test]
fn builtin_catalogue_is_valid_and_recommends_by_memory() {
    let c = Catalogue::builtin();
    assert!(c.entries.len() >= 11, "the two tested models plus nine that apps ship");
    for id in ["smollm2-135m-instruct-q4_1", "gemma-3-270m-q4_k_m"] {
        assert!(c.get(id).unwrap().is_pinned(), "{id} is pinned by SHA-256");
    }
    for id in ["qwen3-0.6b-q4_k_m", "qwen3-4b-q4_k_m", "llama-3.2-1b-instruct-q4_k_m", "llama-3.2-3b-instruct-q4_k_m", "phi-4-mini-instruct-q4_k_m", "gemma-3-1b-it-q4_k_m", "smollm2-1.7b-instruct-q4_k_m"] {
        assert!(c.get(id).is_some(), "{id}");
    }
    const GIB: u64 = 1 << 30;
    // Half of a 2 GiB phone: a ~1B model at the default 4096 context.
    let small = c.recommend(2 * GIB, 0, 0.5).unwrap();
    assert!(small.ram_bytes(0) <= GIB, "{} needs {}", small.id, small.ram_bytes(0));
    let big = c.recommend(12 * GIB, 0, 0.5).unwrap();
    assert!(big.parameters > small.parameters, "{} vs {}", big.id, small.id);
    assert!(c.recommend(64 << 20, 0, 0.5).is_none(), "nothing fits in 32 MiB");
    // Invalid catalogues are typed errors.
    for bad in [
        r#"{"format": 2, "entries": []}"#,
        r#"{"format": 1, "entries": [{"id": "x"}]}"#,
        r#"{"format": 1, "entries": [{"id":"a","name":"a","family":"f","file_name":"../a.gguf","parameters":1,"quant":"Q4_0","bits_per_weight":4.5,"context_length":1,"kv_bytes_per_token":1,"licence":"l","sources":[[{"url":"https://x/a"}]]}]}"#,
        r#"{"format": 1, "entries": [{"id":"a","name":"a","family":"f","file_name":"a.gguf","parameters":1,"quant":"Q4_0","bits_per_weight":4.5,"context_length":1,"kv_bytes_per_token":1,"licence":"l","sha256":"zz","sources":[[{"url":"https://x/a"}]]}]}"#,
    ] {
        assert!(matches!(Catalogue::from_json(bad), Err(ModelError::Catalogue(_))), "{bad}");
    }
}

#[test]
fn pull_list_versions_rollback_and_gc() {
    let model = std::fs::read(model_path("smollm2")).unwrap();
    let sha = sha256_hex(&model);
    // v2: a file that passes its hash but is not a runnable model (truncated).
    let broken = model[..1 << 20].to_vec();
    let broken_sha = sha256_hex(&broken);
    let good = Server::start("SmolLM2-135M-Instruct.Q4_1.gguf", model.clone());
    let bad = Server::start("SmolLM2-135M-Instruct.Q4_1.gguf", broken.clone());
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path());

    good.with(|b| b.cuts = [5_000_000, 40_000_000].into());
    let p1 = m.pull_url(&good.url, &sha, Some("smol"), &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(p1.version.version, 1);
    assert_eq!(std::fs::read(&p1.version.path).unwrap(), model);
    assert_eq!(p1.downloads[0].requests, 3, "two drops, two resumes");
    // Pulling the same bytes again downloads nothing.
    let again = m.pull_url(&good.url, &sha, Some("smol"), &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(again.downloads.is_empty());
    assert_eq!(again.version.version, 1);

    m.activate("smol", 1).unwrap();
    let p2 = m.pull_url(&bad.url, &broken_sha, Some("smol"), &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(p2.version.version, 2);
    assert_ne!(p2.version.path, p1.version.path, "versions do not overwrite each other");
    match m.activate("smol", 2) {
        Err(ModelError::Validation { version: 2, reason, .. }) => assert!(reason.contains("load"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let model_rec = m.store().model("smol").unwrap();
    assert_eq!(model_rec.active, Some(1), "rolled back: version 1 stays active");
    assert_eq!(model_rec.version(2).unwrap().status, Status::Failed);
    assert!(model_rec.version(2).unwrap().reason.is_some());
    assert_eq!(m.resolve("smol").unwrap(), p1.version.path);

    let list = m.store().list().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|l| l.version == 1 && l.active && l.sha256 == sha && l.size == model.len() as u64));

    // Verification notices a file changed on disk.
    assert!(m.store().verify(Some("smol")).unwrap().is_empty());
    std::fs::write(&p2.version.path, b"tampered").unwrap();
    assert_eq!(m.store().verify(Some("smol")).unwrap().len(), 1);

    // GC keeps the active version, drops the failed one with its file.
    let deleted = m.store().gc(0).unwrap();
    assert_eq!(deleted, vec![p2.version.path.clone()]);
    assert!(!p2.version.path.exists() && p1.version.path.exists());
    assert_eq!(m.store().list().unwrap().len(), 1);
    m.store().remove("smol", None).unwrap();
    assert!(!p1.version.path.exists());
    assert!(matches!(m.resolve("smol"), Err(ModelError::NotInstalled(_))));
}

#[test]
fn app_downloaded_files_are_verified_then_installed() {
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path());
    let inbox = tempfile::tempdir().unwrap();
    let f = inbox.path().join("model.gguf");
    let data = blob(100_000, 21);
    std::fs::write(&f, &data).unwrap();
    let r = m.install_file(&f, &sha256_hex(b"other"), "app");
    assert!(matches!(r, Err(ModelError::Checksum { .. })), "{r:?}");
    let v = m.install_file(&f, &sha256_hex(&data), "app").unwrap();
    assert_eq!(std::fs::read(&v.path).unwrap(), data);
    assert!(v.path.starts_with(dir.path()));
}

#[test]
fn catalogue_entry_with_archive_member_parts() {
    // A wheel-like zip holding the file in two parts, as the Gemma entry does.
    let data = blob(600_000, 31);
    let mk = |name: &str, bytes: &[u8]| {
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut z, bytes).unwrap();
        z.finish().unwrap();
        buf.into_inner()
    };
    let (a, b) = (mk("pkg/data/m.gguf.part00", &data[..250_000]), mk("pkg/data/m.gguf.part01", &data[250_000..]));
    let (sa, sb) = (Server::start("a.whl", a.clone()), Server::start("b.whl", b.clone()));
    sa.with(|x| x.cuts = [1000].into());
    let json = format!(
        r#"{{"format":1,"entries":[{{"id":"two","name":"Two","family":"test","file_name":"m.gguf","parameters":1000,"quant":"Q8_0","bits_per_weight":8.5,"context_length":64,"kv_bytes_per_token":16,"licence":"none","sha256":"{}","sources":[[{{"url":"{}","sha256":"{}","member":"pkg/data/m.gguf.part00"}},{{"url":"{}","sha256":"{}","member":"pkg/data/m.gguf.part01"}}]]}}]}}"#,
        sha256_hex(&data), sa.url, sha256_hex(&a), sb.url, sha256_hex(&b)
    );
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).with_catalogue(Catalogue::from_json(&json).unwrap());
    let p = m.pull_entry("two", None, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&p.version.path).unwrap(), data);
    assert_eq!(p.downloads.len(), 2);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with('.') && n != ".manifest.lock").collect();
    assert!(leftovers.is_empty(), "no archives, partial or lock files left (the store's own lock stays): {leftovers:?}");
}

#[test]
fn engine_set_evicts_least_recently_used_and_restores_sessions() {
    use mote_core::{CancelToken, Engine, GenerationConfig, LoadOptions};
    let (smol, gemma) = (model_path("smollm2"), model_path("gemma3"));
    let opts = LoadOptions { context_length: 256, threads: 2, ..Default::default() };
    let (ns, ng) = (Engine::estimate_load_bytes(&smol, &opts).unwrap(), Engine::estimate_load_bytes(&gemma, &opts).unwrap());
    // Room for either model alone, never both.
    let budget = ns.max(ng) + (ns.min(ng) / 2);
    let snapshots = tempfile::tempdir().unwrap();
    let set = EngineSet::new(budget, LoadOptions { state_dir: Some(snapshots.path().to_path_buf()), ..opts });
    let config = GenerationConfig { max_tokens: 4, temperature: 0.0, ..Default::default() };

    let s_engine = set.get("smol", &smol).unwrap();
    let session = s_engine.new_session();
    let first = session.send("Hi", &config, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(session.history().len(), 2);

    let g_engine = set.get("gemma", &gemma).unwrap();
    assert!(g_engine.is_loaded());
    assert!(!s_engine.is_loaded(), "the least recently used model was evicted");
    let state = set.state();
    assert_eq!(state.iter().filter(|r| r.loaded).count(), 1);
    assert!(state.iter().filter(|r| r.loaded).map(|r| r.need_bytes).sum::<u64>() <= budget);

    let again = set.get("smol", &smol).unwrap();
    assert!(std::sync::Arc::ptr_eq(&again, &s_engine), "the same engine comes back");
    assert!(s_engine.is_loaded() && !g_engine.is_loaded());
    assert_eq!(session.history().len(), 2, "the conversation survived the eviction");
    assert_eq!(session.history()[1].content, first.text);
    session.send("And?", &config, &CancelToken::new(), &mut |_| {}).unwrap();
    assert_eq!(session.history().len(), 4);

    // A budget below one model is refused before anything loads.
    let tiny = EngineSet::new(ns / 2, opts_clone());
    let r = tiny.get("smol", &smol);
    assert!(matches!(r, Err(ModelError::Engine(mote_core::Error::InsufficientMemory { .. }))), "{:?}", r.err());
}

fn opts_clone() -> mote_core::LoadOptions {
    mote_core::LoadOptions { context_length: 256, threads: 1, ..Default::default() }
}

/// One manager shared by threads, as the bindings share it: pulls of
/// different models run side by side and both land in the manifest; a second
/// pull of a file already downloading is refused with `InProgress`; each
/// pull's cancel flag pauses only that pull, which then resumes.
#[test]
fn concurrent_pulls_share_one_store() {
    use std::sync::atomic::Ordering;
    let (a, b) = (blob(3 << 20, 1), blob(2 << 20, 2));
    let (sa, sb) = (Server::start("a.gguf", a.clone()), Server::start("b.gguf", b.clone()));
    // Slow enough that the pulls overlap and a cancel lands mid-transfer.
    for s in [&sa, &sb] {
        s.with(|x| x.chunk_delay = Some(Duration::from_millis(10)));
    }
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path());
    let (ha, hb) = (sha256_hex(&a), sha256_hex(&b));
    let cancel_b = AtomicBool::new(false);
    std::thread::scope(|s| {
        let ta = s.spawn(|| m.pull_url(&sa.url, &ha, Some("a"), &AtomicBool::new(false), &mut |_| {}));
        let tb = s.spawn(|| {
            m.pull_url(&sb.url, &hb, Some("b"), &cancel_b, &mut |p| {
                if p.downloaded > 512 << 10 {
                    cancel_b.store(true, Ordering::Relaxed);
                }
            })
        });
        // While `a` is downloading, a second pull of it is refused, not interleaved.
        std::thread::sleep(Duration::from_millis(150));
        let dup = m.pull_url(&sa.url, &ha, Some("a"), &AtomicBool::new(false), &mut |_| {});
        assert!(matches!(dup, Err(ModelError::InProgress { .. })), "{dup:?}");
        assert_eq!(ta.join().unwrap().unwrap().version.size, a.len() as u64);
        assert!(matches!(tb.join().unwrap(), Err(ModelError::Cancelled)), "b was paused");
    });
    // b resumes from its partial file; both are in the one manifest.
    sb.with(|x| x.chunk_delay = None);
    let pb = m.pull_url(&sb.url, &hb, Some("b"), &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(pb.downloads[0].resumed_from >= 512 << 10, "resumed from {}", pb.downloads[0].resumed_from);
    let names: Vec<String> = m.store().list().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["a", "b"]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).filter(|n| n.to_string_lossy().starts_with('.') && n != ".manifest.lock").collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).unwrap().flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}

/// A model in three parts: the store never holds more than the model plus
/// one part, and a pull paused after the first part resumes with the second
/// (the first is neither fetched nor appended again).
#[test]
fn multi_part_pull_peak_disk_and_resume() {
    let data = blob(3 << 20, 41);
    let parts: Vec<Vec<u8>> = data.chunks(1 << 20).map(<[u8]>::to_vec).collect();
    let servers: Vec<Server> = parts.iter().enumerate().map(|(k, p)| Server::start(&format!("p{k}"), p.clone())).collect();
    let sources: Vec<String> = servers
        .iter()
        .zip(&parts)
        .map(|(s, p)| format!(r#"{{"url":"{}","sha256":"{}","size":{}}}"#, s.url, sha256_hex(p), p.len()))
        .collect();
    let json = format!(
        r#"{{"format":1,"entries":[{{"id":"three","name":"Three","family":"test","file_name":"t.gguf","parameters":1000,"quant":"Q8_0","bits_per_weight":8.5,"file_size":{},"context_length":64,"kv_bytes_per_token":16,"licence":"none","sha256":"{}","sources":[[{}]]}}]}}"#,
        data.len(),
        sha256_hex(&data),
        sources.join(",")
    );
    let dir = tempfile::tempdir().unwrap();
    let m = manager(dir.path()).with_catalogue(Catalogue::from_json(&json).unwrap());
    let mut peak = 0u64;
    // Paused during the second part's download.
    let cancel = AtomicBool::new(false);
    let r = m.pull_entry("three", None, &cancel, &mut |p| {
        peak = peak.max(dir_bytes(dir.path()));
        if p.downloaded > 0 && servers[1].requests().len() == 1 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert!(matches!(r, Err(ModelError::Cancelled)), "{r:?}");
    let p = m.pull_entry("three", None, &AtomicBool::new(false), &mut |_| peak = peak.max(dir_bytes(dir.path()))).unwrap();
    assert_eq!(std::fs::read(&p.version.path).unwrap(), data);
    assert_eq!(servers[0].requests().len(), 1, "the first part was not fetched again");
    let extra = peak.saturating_sub(data.len() as u64);
    eprintln!("3-part pull: peak disk {peak} bytes for a {} byte model: {extra} extra (one part is {} bytes)", data.len(), 1 << 20);
    assert!(peak <= data.len() as u64 + (1 << 20) + 4096, "peak {peak}");
}
