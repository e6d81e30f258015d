//! The model manager as Kotlin and Swift see it: pulls that report through a
//! listener and pause on cancel, installs of app-downloaded files, activation
//! with rollback, `ModelSet` under a budget that holds one real model, and
//! models embedded in a larger file (APK assets). A loopback HTTP server
//! started by each test serves the files.

#[path = "../../models/tests/common/mod.rs"]
mod http;

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{blob, sha256_hex, Server};
use mote_ffi::{
    DownloadHandle, DownloadListener, DownloadProgress, Engine, LoadOptions, ModelError, ModelManager, ModelSet, MoteError, PullResult,
    TokenListener, VersionStatus,
};

#[derive(Debug)]
enum Event {
    Progress(DownloadProgress),
    Done(Result<PullResult, ModelError>),
}

struct Probe {
    tx: Mutex<Sender<Event>>,
    /// Cancels the pull (through the slot's handle) once this many bytes are on disk.
    cancel_after: Option<(i64, Arc<Mutex<Option<Arc<DownloadHandle>>>>)>,
    panic_on_progress: bool,
}

impl DownloadListener for Probe {
    fn on_progress(&self, p: DownloadProgress) {
        if self.panic_on_progress {
            panic!("listener bug");
        }
        if let Some((at, slot)) = &self.cancel_after {
            if p.downloaded_bytes >= *at {
                if let Some(h) = slot.lock().unwrap().as_ref() {
                    h.cancel();
                }
            }
        }
        let _ = self.tx.lock().unwrap().send(Event::Progress(p));
    }
    fn on_complete(&self, r: PullResult) {
        let _ = self.tx.lock().unwrap().send(Event::Done(Ok(r)));
    }
    fn on_error(&self, e: ModelError) {
        let _ = self.tx.lock().unwrap().send(Event::Done(Err(e)));
    }
}

fn probe(cancel_after: Option<i64>) -> (Arc<Probe>, Receiver<Event>, Arc<Mutex<Option<Arc<DownloadHandle>>>>) {
    let (tx, rx) = channel();
    let slot = Arc::new(Mutex::new(None));
    let p = Probe { tx: Mutex::new(tx), cancel_after: cancel_after.map(|n| (n, slot.clone())), panic_on_progress: false };
    (Arc::new(p), rx, slot)
}

/// Waits for the terminal event (with a watchdog) and returns it with the progress seen before it.
fn outcome(rx: &Receiver<Event>) -> (Vec<DownloadProgress>, Result<PullResult, ModelError>) {
    let mut progress = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).expect("a terminal callback within 60 s") {
            Event::Progress(p) => progress.push(p),
            Event::Done(r) => {
                assert!(rx.recv_timeout(Duration::from_millis(50)).is_err(), "nothing after the terminal callback");
                return (progress, r);
            }
        }
    }
}

#[test]
fn pull_reports_progress_pauses_on_cancel_and_resumes() {
    let data = blob(6 << 20, 7);
    let sha = sha256_hex(&data);
    let server = Server::start("tiny.gguf", data.clone());
    server.with(|b| b.chunk_delay = Some(Duration::from_millis(1)));
    let dir = tempfile::tempdir().unwrap();
    let m = ModelManager::open(dir.path().to_str().unwrap().into(), None).unwrap();

    // Paused after 1 MiB: Cancelled, partial file kept.
    let (p, rx, slot) = probe(Some(1 << 20));
    let h = m.pull_url(server.url.clone(), sha.clone(), Some("tiny".into()), p);
    *slot.lock().unwrap() = Some(h.clone());
    let (seen, r) = outcome(&rx);
    assert_eq!(r, Err(ModelError::Cancelled));
    assert!(h.is_finished());
    assert!(!seen.is_empty());
    assert!(m.installed().unwrap().is_empty(), "nothing installed by a paused pull");

    // Resumed: progress is monotonic, starts from the kept bytes, ends installed.
    server.with(|b| b.chunk_delay = None);
    let (p, rx, _) = probe(None);
    m.pull_url(server.url.clone(), sha.clone(), Some("tiny".into()), p);
    let (seen, r) = outcome(&rx);
    let r = r.unwrap();
    assert!(r.resumed_from_bytes >= 1 << 20, "resumed from {}", r.resumed_from_bytes);
    assert_eq!(r.resumed_from_bytes + r.fetched_bytes, data.len() as i64, "no byte fetched twice");
    assert!(seen.windows(2).all(|w| w[0].downloaded_bytes <= w[1].downloaded_bytes));
    assert!(seen.iter().all(|p| p.resumed_from_bytes == r.resumed_from_bytes));
    assert_eq!(std::fs::read(&r.model.path).unwrap(), data);
    assert_eq!((r.model.name.as_str(), r.model.version, r.model.sha256.as_str()), ("tiny", 1, sha.as_str()));
    assert_eq!(m.resolve("tiny".into()).unwrap(), r.model.path);
    assert_eq!(m.installed().unwrap(), vec![r.model.clone()]);

    // Pulling it again costs nothing.
    let (p, rx, _) = probe(None);
    m.pull_url(server.url.clone(), sha.clone(), Some("tiny".into()), p);
    assert_eq!(outcome(&rx).1.unwrap().fetched_bytes, 0);
}

#[test]
fn pull_errors_are_typed() {
    let data = blob(256 << 10, 3);
    let server = Server::start("x.gguf", data.clone());
    let dir = tempfile::tempdir().unwrap();
    let m = ModelManager::open(dir.path().to_str().unwrap().into(), None).unwrap();

    let wrong = sha256_hex(b"something else");
    let (p, rx, _) = probe(None);
    m.pull_url(server.url.clone(), wrong, None, p);
    assert!(matches!(outcome(&rx).1, Err(ModelError::ChecksumMismatch { .. })));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().flatten().filter(|e| e.file_name() != ".manifest.lock").count(), 0, "nothing left");

    let (p, rx, _) = probe(None);
    m.pull("no-such-model".into(), None, p);
    assert_eq!(outcome(&rx).1, Err(ModelError::UnknownEntry { id: "no-such-model".into() }));

    server.with(|b| b.statuses.push_back(404));
    let (p, rx, _) = probe(None);
    m.pull_url(server.url.clone(), sha256_hex(&data), None, p);
    assert!(matches!(outcome(&rx).1, Err(ModelError::Http { status: 404, .. })), "a 404 is not retried into a Network error");

    // A listener that throws stops its pull, which still ends with one terminal callback.
    let (tx, rx) = channel();
    let p = Arc::new(Probe { tx: Mutex::new(tx), cancel_after: None, panic_on_progress: true });
    m.pull_url(server.url.clone(), sha256_hex(&data), None, p);
    assert_eq!(outcome(&rx).1, Err(ModelError::Cancelled));

    assert!(matches!(ModelManager::open("/proc/no/such/dir".into(), None), Err(ModelError::Storage { .. })));
    assert!(matches!(ModelManager::open("/tmp".into(), Some("{".into())), Err(ModelError::InvalidCatalogue { .. })));
    assert!(matches!(m.recommend(-1, 0, 0.5), Err(ModelError::InvalidArgument { .. })));
    assert!(matches!(m.activate("nothing".into(), 1), Err(ModelError::NotInstalled { .. })));
}

#[test]
fn catalogue_install_file_and_activation_with_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let m = ModelManager::open(dir.path().to_str().unwrap().into(), None).unwrap();
    let cat = m.catalogue();
    assert!(cat.len() >= 11);
    let smol = cat.iter().find(|e| e.id == "smollm2-135m-instruct-q4_1").unwrap();
    assert!(smol.sha256.is_some() && !smol.urls.is_empty() && smol.ram_bytes_4k > 0);
    let small = m.recommend(2 << 30, 0, 0.5).unwrap().unwrap();
    assert!(small.ram_bytes_4k <= 1 << 30);
    assert_eq!(m.recommend(32 << 20, 0, 0.5).unwrap(), None);

    // The app downloaded the real model itself (background URLSession / WorkManager).
    let model = std::fs::read(common_model()).unwrap();
    let handed_over = tempfile::tempdir().unwrap();
    let good = handed_over.path().join("smol.gguf");
    std::fs::write(&good, &model).unwrap();
    let wrong = m.install_file(good.to_str().unwrap().into(), sha256_hex(b"x"), "smol".into());
    assert!(matches!(wrong, Err(ModelError::ChecksumMismatch { .. })));
    assert!(good.exists(), "a rejected hand-over is left where it was");
    let v1 = m.install_file(good.to_str().unwrap().into(), sha256_hex(&model), "smol".into()).unwrap();
    assert_eq!(v1.status, VersionStatus::Installed);
    let v1 = m.activate("smol".into(), 1).unwrap();
    assert_eq!((v1.status, v1.active), (VersionStatus::Valid, true));

    // Version 2 hashes correctly but is not a runnable model: rolled back.
    let broken = handed_over.path().join("smol-v2.gguf");
    std::fs::write(&broken, &model[..1 << 20]).unwrap();
    let v2 = m.install_file(broken.to_str().unwrap().into(), sha256_hex(&model[..1 << 20]), "smol".into()).unwrap();
    let r = m.activate("smol".into(), v2.version);
    assert!(matches!(&r, Err(ModelError::ValidationFailed { version: 2, .. })), "{r:?}");
    assert_eq!(m.resolve("smol".into()).unwrap(), v1.path, "the previous version stays active");
    let rows = m.installed().unwrap();
    let failed = rows.iter().find(|v| v.version == 2).unwrap();
    assert_eq!(failed.status, VersionStatus::Failed);
    assert!(failed.failure_reason.as_deref().unwrap_or("").contains("load"), "{:?}", failed.failure_reason);

    // Damage is found by verify; gc drops the failed version.
    assert!(m.verify(None).unwrap().is_empty());
    assert_eq!(m.gc(0).unwrap(), vec![v2.path.clone()]);
    assert_eq!(m.installed().unwrap().len(), 1);
    assert_eq!(m.remove("smol".into(), None).unwrap(), vec![v1.path]);
    assert!(matches!(m.resolve("smol".into()), Err(ModelError::NotInstalled { .. })));
}

fn common_model() -> String {
    std::env::var("MOTE_TEST_MODEL").unwrap_or_else(|_| format!("{}/.cache/mote/models/SmolLM2-135M-Instruct.Q4_1.gguf", std::env::var("HOME").unwrap()))
}

struct Collect(Mutex<Sender<Result<String, MoteError>>>, Mutex<String>);
impl TokenListener for Collect {
    fn on_token(&self, t: String) {
        self.1.lock().unwrap().push_str(&t);
    }
    fn on_complete(&self, _: mote_ffi::Reply) {
        let _ = self.0.lock().unwrap().send(Ok(self.1.lock().unwrap().clone()));
    }
    fn on_error(&self, e: MoteError) {
        let _ = self.0.lock().unwrap().send(Err(e));
    }
}

fn reply(engine: &Engine, text: &str) -> String {
    let (tx, rx) = channel();
    let s = engine.new_session().unwrap();
    let _h = s.send(text.into(), greedy(6), Arc::new(Collect(Mutex::new(tx), Mutex::new(String::new()))));
    rx.recv_timeout(Duration::from_secs(60)).unwrap().unwrap()
}

fn greedy(max_tokens: i32) -> mote_ffi::GenerationConfig {
    mote_ffi::GenerationConfig { max_tokens, temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: None, stop: vec![] }
}

/// An APK stores an uncompressed asset inside the zip: the model is loaded
/// from its offset and length in place, and answers exactly as the plain file.
#[test]
fn model_embedded_in_a_larger_file_loads_in_place() {
    let path = common_model();
    let model = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let apk = dir.path().join("app.apk");
    let offset = 4096 + 32 * 7;
    let mut bytes = blob(offset, 9);
    bytes.extend_from_slice(&model);
    bytes.extend_from_slice(&blob(1000, 10));
    std::fs::write(&apk, &bytes).unwrap();
    let opts = |off: Option<i64>, len: Option<i64>| LoadOptions { context_length: 256, byte_offset: off, byte_length: len, ..Default::default() };

    let plain = Engine::load(path.clone(), opts(None, None)).unwrap();
    let embedded = Engine::load(apk.to_str().unwrap().into(), opts(Some(offset as i64), Some(model.len() as i64))).unwrap();
    assert_eq!(reply(&embedded, "Hi"), reply(&plain, "Hi"));

    let one = Engine::load(apk.to_str().unwrap().into(), opts(Some(offset as i64), None));
    assert!(matches!(one, Err(MoteError::InvalidArgument { .. })));
    let past_end = Engine::load(apk.to_str().unwrap().into(), opts(Some(offset as i64), Some(bytes.len() as i64)));
    assert!(matches!(past_end, Err(MoteError::InvalidModel { .. } | MoteError::InvalidArgument { .. } | MoteError::ModelUnreadable { .. })), "{:?}", past_end.err());
}

/// Two real models under a budget that holds one: getting the other evicts
/// the least recently used, whose session keeps its conversation.
#[test]
fn model_set_holds_one_of_two_real_models() {
    let smol = common_model();
    let gemma = smol.replace("SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf");
    assert!(std::path::Path::new(&gemma).is_file(), "{gemma}: run scripts/fetch-models.sh");
    let opts = LoadOptions { context_length: 256, ..Default::default() };
    // Each load's own estimate, from a set with room for anything.
    let probe = ModelSet::new(i64::MAX, opts.clone()).unwrap();
    probe.get("s".into(), smol.clone()).unwrap();
    probe.get("g".into(), gemma.clone()).unwrap();
    let need: Vec<i64> = probe.residents().iter().map(|r| r.need_bytes).collect();
    let budget = need.iter().max().unwrap() + need.iter().min().unwrap() / 2;

    let set = ModelSet::new(budget, opts).unwrap();
    let s = set.get("smol".into(), smol.clone()).unwrap();
    let session = s.new_session().unwrap();
    let (tx, rx) = channel();
    let _h = session.send("Hi".into(), greedy(4), Arc::new(Collect(Mutex::new(tx), Mutex::new(String::new()))));
    rx.recv_timeout(Duration::from_secs(60)).unwrap().unwrap();
    set.get("gemma".into(), gemma).unwrap();
    let r = set.residents();
    assert_eq!(r.iter().map(|x| (x.name.as_str(), x.loaded)).collect::<Vec<_>>(), [("smol", false), ("gemma", true)]);
    assert!(!s.is_loaded().unwrap(), "evicted");
    set.get("smol".into(), smol).unwrap();
    assert_eq!(session.history().unwrap().len(), 2, "the conversation survived the eviction");
    assert!(set.evict("smol".into()));
    assert!(matches!(ModelSet::new(-1, LoadOptions::default()), Err(MoteError::InvalidArgument { .. })));
}
