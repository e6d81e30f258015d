//! Installed models and their versions, recorded in `DIR/manifest.json`.
//!
//! Each name has numbered versions (1, 2, …), each one verified file with its
//! SHA-256, and at most one active version. Activating a version validates
//! it first (by default: it parses, it loads, one token generates); a version
//! that fails is marked failed with the reason and the previous one stays
//! active — the rollback. The manifest is replaced atomically (write to a
//! temporary file, fsync, rename), so a crash leaves the old or the new one.
//! Files are never deleted while a version refers to them except by `remove`
//! and `gc`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Installed and verified by hash; not yet activated.
    Installed,
    /// Passed validation (parse, load, smoke generation).
    Valid,
    /// Failed validation; `reason` says why.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub version: u32,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    /// Where it came from (URL, catalogue id, or the file it was installed from).
    pub source: String,
    pub installed_at: u64,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub active: Option<u32>,
    pub versions: Vec<Version>,
}

impl Model {
    pub fn version(&self, v: u32) -> Option<&Version> {
        self.versions.iter().find(|x| x.version == v)
    }
    pub fn active_version(&self) -> Option<&Version> {
        self.active.and_then(|v| self.version(v))
    }
    /// The active version, else the newest one that has not failed.
    pub fn current(&self) -> Option<&Version> {
        self.active_version().or_else(|| self.versions.iter().rev().find(|v| v.status != Status::Failed))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    models: Vec<Model>,
}

/// A row of `list`: one installed version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Listing {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub version: u32,
    pub active: bool,
    pub status: Status,
}

pub struct Store {
    dir: PathBuf,
}

/// File names we create must stay inside the store directory.
pub(crate) fn check_file_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.len() > 200 || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
        return Err(format!("{name:?} is not a plain file name"));
    }
    Ok(())
}

fn check_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !ok || name.starts_with('.') {
        return Err(ModelError::Invalid(format!("model name {name:?}: use letters, digits, '.', '_' and '-'")));
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        if dir.exists() && !dir.is_dir() {
            return Err(ModelError::Invalid(format!("{} is not a directory", dir.display())));
        }
        fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn manifest_path(&self) -> PathBuf {
        self.dir.join("manifest.json")
    }

    fn load(&self) -> Result<Manifest> {
        let p = self.manifest_path();
        match fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ModelError::Io { path: p, source: std::io::Error::new(std::io::ErrorKind::InvalidData, e) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest { format: 1, models: Vec::new() }),
            Err(e) => Err(ModelError::io(&p, e)),
        }
    }

    fn save(&self, m: &Manifest) -> Result<()> {
        let p = self.manifest_path();
        let tmp = self.dir.join(".manifest.json.tmp");
        let bytes = serde_json::to_vec_pretty(m).expect("serializable");
        fs::write(&tmp, bytes).map_err(|e| ModelError::io(&tmp, e))?;
        crate::disk::durable_rename(&tmp, &p)
    }

    /// Reads, edits and saves the manifest under the store's lock, so two
    /// threads or processes editing at once never lose each other's change.
    fn edit<T>(&self, f: impl FnOnce(&mut Manifest) -> Result<T>) -> Result<T> {
        let _lock = crate::disk::lock(&self.dir.join(".manifest.lock"), None)?;
        let mut m = self.load()?;
        let out = f(&mut m)?;
        self.save(&m)?;
        Ok(out)
    }

    pub fn models(&self) -> Result<Vec<Model>> {
        Ok(self.load()?.models)
    }

    pub fn model(&self, name: &str) -> Result<Model> {
        self.load()?.models.into_iter().find(|m| m.name == name).ok_or_else(|| ModelError::NotInstalled(name.to_string()))
    }

    pub fn list(&self) -> Result<Vec<Listing>> {
        let mut rows = Vec::new();
        for m in self.load()?.models {
            for v in &m.versions {
                rows.push(Listing {
                    name: m.name.clone(),
                    path: v.path.clone(),
                    size: v.size,
                    sha256: v.sha256.clone(),
                    version: v.version,
                    active: m.active == Some(v.version),
                    status: v.status,
                });
            }
        }
        Ok(rows)
    }

    /// Where a new download of `file_name` should go: the plain name if no
    /// version uses it, else `stem.vN.ext`. Deterministic for a given
    /// manifest, so an interrupted download's partial file is found again.
    pub fn destination(&self, name: &str, file_name: &str) -> Result<PathBuf> {
        check_model_name(name)?;
        check_file_name(file_name).map_err(ModelError::Invalid)?;
        let m = self.load()?;
        let taken = |p: &Path| m.models.iter().flat_map(|x| &x.versions).any(|v| v.path == p);
        let plain = self.dir.join(file_name);
        if !taken(&plain) {
            return Ok(plain);
        }
        let (stem, ext) = file_name.rsplit_once('.').unwrap_or((file_name, "gguf"));
        let next = m.models.iter().find(|x| x.name == name).map_or(1, |x| x.versions.len() + 1);
        (next..next + 1000)
            .map(|n| self.dir.join(format!("{stem}.v{n}.{ext}")))
            .find(|p| !taken(p))
            .ok_or_else(|| ModelError::Invalid(format!("no free file name for {file_name}")))
    }

    /// Records a verified file as a new version of `name` (or returns the
    /// existing version with the same hash and path). Activation is separate.
    pub fn register(&self, name: &str, path: &Path, sha256: &str, source: &str) -> Result<Version> {
        check_model_name(name)?;
        let size = fs::metadata(path).map_err(|e| ModelError::io(path, e))?.len();
        self.edit(|m| {
            let entry = match m.models.iter().position(|x| x.name == name) {
                Some(i) => &mut m.models[i],
                None => {
                    m.models.push(Model { name: name.to_string(), ..Default::default() });
                    m.models.last_mut().expect("just pushed")
                }
            };
            if let Some(v) = entry.versions.iter().find(|v| v.sha256 == sha256 && v.path == path) {
                return Ok(v.clone());
            }
            let version = entry.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
            let v = Version {
                version,
                path: path.to_path_buf(),
                size,
                sha256: sha256.to_string(),
                source: source.to_string(),
                installed_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                status: Status::Installed,
                reason: None,
            };
            entry.versions.push(v.clone());
            Ok(v)
        })
    }

    /// Activates `version` of `name` if `validate(path)` passes; otherwise
    /// records the failure and leaves the previously active version active.
    pub fn activate(&self, name: &str, version: u32, validate: &dyn Fn(&Path) -> std::result::Result<(), String>) -> Result<Version> {
        let model = self.model(name)?;
        let v = model
            .version(version)
            .cloned()
            .ok_or_else(|| ModelError::Invalid(format!("{name} has no version {version}")))?;
        let verdict = validate(&v.path);
        self.edit(|m| {
            let entry = m.models.iter_mut().find(|x| x.name == name).ok_or_else(|| ModelError::NotInstalled(name.into()))?;
            let rec = entry.versions.iter_mut().find(|x| x.version == version).ok_or_else(|| ModelError::NotInstalled(name.into()))?;
            match &verdict {
                Ok(()) => {
                    rec.status = Status::Valid;
                    rec.reason = None;
                    let out = rec.clone();
                    entry.active = Some(version);
                    Ok(out)
                }
                Err(reason) => {
                    rec.status = Status::Failed;
                    rec.reason = Some(reason.clone());
                    Ok(rec.clone())
                }
            }
        })
        .and_then(|rec| match verdict {
            Ok(()) => Ok(rec),
            Err(reason) => Err(ModelError::Validation { name: name.into(), version, reason }),
        })
    }

    /// Re-hashes every version of `name` (all names if `None`): the ones
    /// whose file is missing or changed.
    pub fn verify(&self, name: Option<&str>) -> Result<Vec<(String, u32, String)>> {
        let mut bad = Vec::new();
        for m in self.load()?.models.into_iter().filter(|m| name.is_none_or(|n| n == m.name)) {
            for v in &m.versions {
                match crate::hash::file_sha256(&v.path) {
                    Ok(h) if h == v.sha256 => {}
                    Ok(h) => bad.push((m.name.clone(), v.version, format!("{} hashes to {h}", v.path.display()))),
                    Err(e) => bad.push((m.name.clone(), v.version, e.to_string())),
                }
            }
        }
        Ok(bad)
    }

    /// Removes `name` (every version, `None`) or one version, files included.
    pub fn remove(&self, name: &str, version: Option<u32>) -> Result<Vec<PathBuf>> {
        let removed = self.edit(|m| {
            let i = m.models.iter().position(|x| x.name == name).ok_or_else(|| ModelError::NotInstalled(name.into()))?;
            let entry = &mut m.models[i];
            let (gone, kept): (Vec<Version>, Vec<Version>) =
                entry.versions.drain(..).partition(|v| version.is_none_or(|x| x == v.version));
            if gone.is_empty() {
                return Err(ModelError::Invalid(format!("{name} has no version {}", version.unwrap_or(0))));
            }
            entry.versions = kept;
            if entry.active.is_some_and(|a| gone.iter().any(|v| v.version == a)) {
                entry.active = None;
            }
            if entry.versions.is_empty() {
                m.models.remove(i);
            }
            Ok(gone)
        })?;
        Ok(self.delete_unreferenced(removed))
    }

    /// Garbage collection: keeps the active version and the newest `keep`
    /// other non-failed versions of each model; removes the rest (failed ones first).
    pub fn gc(&self, keep: usize) -> Result<Vec<PathBuf>> {
        let removed = self.edit(|m| {
            let mut gone = Vec::new();
            for entry in &mut m.models {
                let mut others: Vec<u32> = entry
                    .versions
                    .iter()
                    .filter(|v| Some(v.version) != entry.active && v.status != Status::Failed)
                    .map(|v| v.version)
                    .collect();
                others.sort_unstable_by(|a, b| b.cmp(a));
                let keep_set: Vec<u32> = others.into_iter().take(keep).chain(entry.active).collect();
                let (g, k): (Vec<Version>, Vec<Version>) = entry.versions.drain(..).partition(|v| !keep_set.contains(&v.version));
                entry.versions = k;
                gone.extend(g);
            }
            m.models.retain(|x| !x.versions.is_empty());
            Ok(gone)
        })?;
        Ok(self.delete_unreferenced(removed))
    }

    /// Deletes the files of removed versions that no remaining version uses.
    fn delete_unreferenced(&self, removed: Vec<Version>) -> Vec<PathBuf> {
        let still: Vec<PathBuf> = self.load().map(|m| m.models.into_iter().flat_map(|x| x.versions).map(|v| v.path).collect()).unwrap_or_default();
        let mut deleted = Vec::new();
        for v in removed {
            if !still.contains(&v.path) && fs::remove_file(&v.path).is_ok() {
                deleted.push(v.path);
            }
        }
        deleted
    }
}
