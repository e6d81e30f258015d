#![allow(dead_code)]
//! A loopback HTTP/1.1 server with injectable faults, started by each test:
//! dropped connections at chosen byte offsets, 5xx answers, a server that
//! ignores `Range`, bodies without a length, slow bodies.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
pub struct Behaviour {
    /// Answer the next requests with these statuses (and an empty body).
    pub statuses: VecDeque<u16>,
    /// Close the connection after this many body bytes of the next responses.
    pub cuts: VecDeque<u64>,
    /// Send 200 with the whole body whatever `Range` says.
    pub ignore_range: bool,
    /// No `Content-Length`: the body ends when the connection closes.
    pub no_length: bool,
    /// Sleep this long per 16 KiB of body (so a kill lands mid-transfer).
    pub chunk_delay: Option<Duration>,
    /// Changes the ETag (the object "changed" on the server).
    pub etag: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub range_from: Option<u64>,
    pub if_range: Option<String>,
    pub status: u16,
    /// Body bytes actually sent.
    pub sent: u64,
}

pub struct Server {
    pub url: String,
    pub behaviour: Arc<Mutex<Behaviour>>,
    pub log: Arc<Mutex<Vec<Logged>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `body` at `/NAME` on 127.0.0.1.
    pub fn start(name: &str, body: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let behaviour = Arc::new(Mutex::new(Behaviour { etag: "\"v1\"".into(), ..Default::default() }));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let body = Arc::new(body);
        let (b, l, s) = (behaviour.clone(), log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (body, b, l) = (body.clone(), b.clone(), l.clone());
                        std::thread::spawn(move || {
                            let _ = serve(stream, &body, &b, &l);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { url: format!("http://{addr}/{name}"), behaviour, log, stop, thread: Some(thread) }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Behaviour) -> T) -> T {
        f(&mut self.behaviour.lock().unwrap())
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, body: &[u8], b: &Mutex<Behaviour>, log: &Mutex<Vec<Logged>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut range_from = None;
    let mut if_range = None;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let (k, v) = line.split_once(':').unwrap_or((&line, ""));
        let v = v.trim();
        match k.to_ascii_lowercase().as_str() {
            "range" => range_from = v.strip_prefix("bytes=").and_then(|r| r.trim_end_matches('-').parse::<u64>().ok()),
            "if-range" => if_range = Some(v.to_string()),
            _ => {}
        }
    }
    let (status_override, cut, ignore_range, no_length, delay, etag) = {
        let mut g = b.lock().unwrap();
        let s = g.statuses.pop_front();
        let c = if s.is_none() { g.cuts.pop_front() } else { None };
        (s, c, g.ignore_range, g.no_length, g.chunk_delay, g.etag.clone())
    };
    let mut out = stream;
    let total = body.len() as u64;
    let mut record = Logged { range_from, if_range: if_range.clone(), status: 0, sent: 0 };
    if let Some(s) = status_override {
        record.status = s;
        log.lock().unwrap().push(record);
        write!(out, "HTTP/1.1 {s} Injected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let honour = range_from.is_some() && !ignore_range && if_range.as_deref().is_none_or(|v| v == etag);
    let start = if honour { range_from.unwrap_or(0) } else { 0 };
    if honour && start >= total {
        record.status = 416;
        log.lock().unwrap().push(record);
        write!(out, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let mut head = if honour {
        format!("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{total}\r\n", total - 1)
    } else {
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    record.status = if honour { 206 } else { 200 };
    head += &format!("ETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n");
    if !no_length {
        head += &format!("Content-Length: {}\r\n", total - start);
    }
    head += "\r\n";
    out.write_all(head.as_bytes())?;
    let end = cut.map_or(total, |c| (start + c).min(total));
    let mut pos = start;
    let mut result = Ok(());
    while pos < end {
        let n = (end - pos).min(16 << 10);
        if let Err(e) = out.write_all(&body[pos as usize..(pos + n) as usize]) {
            result = Err(e);
            break;
        }
        pos += n;
        if let Some(d) = delay {
            std::thread::sleep(d);
        }
    }
    record.sent = pos - start;
    log.lock().unwrap().push(record);
    let _ = out.flush();
    // Dropping the stream closes the connection, mid-body when cut.
    result
}

/// Deterministic pseudo-random bytes.
pub fn blob(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A small xorshift for picking offsets.
pub struct Rng(pub u64);
impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The real model `name` ("smollm2", "gemma3"), fetched by scripts/fetch-models.sh when missing.
pub fn model_path(name: &str) -> PathBuf {
    let file = match name {
        "smollm2" => "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gemma3" => "gemma-3-270m-q4_k_m.gguf",
        other => panic!("no model {other}"),
    };
    let dir = std::env::var_os("MOTE_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/mote/models"));
    let p = dir.join(file);
    if p.is_file() {
        return p;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("bash").arg(root.join("scripts/fetch-models.sh")).arg(name).output().unwrap();
    assert!(out.status.success(), "fetch-models.sh {name}: {}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(line.split_whitespace().nth(1).expect("<name> <path>"))
}
