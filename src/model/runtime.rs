//! ONNX Runtime: finding its shared library, the process's one environment, and sessions
//! configured for a small shared CPU.
//!
//! `ort` is built with `load-dynamic`: nothing is downloaded at build time, and the library
//! comes from the `onnxruntime` PyPI wheel at run time. [`find_library`] looks, in order, at
//! `ORT_DYLIB_PATH`, the repository's virtual environments (`.venv-train`, `.venv-test`,
//! `.venv-ref`, searched from the working directory and from the executable's folder
//! upwards), then the system's library folders. ONNX Runtime allows one environment per
//! process, so it is kept in a process-wide cell: the one global of the core, forced by the
//! library, not chosen.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::{Error, Result};

/// The environment variable that names the library file explicitly.
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Virtual environments of this repository that may hold the `onnxruntime` wheel.
const VENVS: [&str; 3] = [".venv-train", ".venv-test", ".venv-ref"];

/// System folders searched last.
const SYSTEM_DIRS: [&str; 5] = [
    "/usr/local/lib",
    "/usr/lib",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/opt/onnxruntime/lib",
];

/// How sessions use the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threads {
    /// Threads inside one operator (ONNX Runtime's intra-op pool), at least 1.
    pub intra_op: usize,
}

impl Default for Threads {
    /// Two threads: the size of the machine the design is measured on.
    fn default() -> Self {
        Self { intra_op: 2 }
    }
}

/// The path of ONNX Runtime's shared library, or an error that says how to get it: the
/// first of [`candidates`].
pub fn find_library() -> Result<PathBuf> {
    candidates()?.into_iter().next().ok_or_else(not_found)
}

/// Every library file found, in the order of preference: `ORT_DYLIB_PATH` alone when set,
/// else each venv's wheel, then the system's. A venv with a too old wheel is skipped at load.
pub fn candidates() -> Result<Vec<PathBuf>> {
    if let Some(path) = std::env::var_os(ORT_DYLIB_ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(vec![path])
        } else {
            Err(Error::OnnxRuntime {
                reason: format!("{ORT_DYLIB_ENV}={} is not a file", path.display()),
            })
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Some(exe_dir) =
        std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
    {
        roots.extend(exe_dir.ancestors().map(Path::to_path_buf));
    }
    // The crate's own folder, for tests and benches run from anywhere.
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut found: Vec<PathBuf> = Vec::new();
    for root in &roots {
        for venv in VENVS {
            if let Some(lib) = in_venv(&root.join(venv))
                && !found.contains(&lib)
            {
                found.push(lib);
            }
        }
    }
    for dir in SYSTEM_DIRS {
        if let Some(lib) = newest_match(Path::new(dir), "libonnxruntime.so") {
            found.push(lib);
        }
    }
    if found.is_empty() { Err(not_found()) } else { Ok(found) }
}

fn not_found() -> Error {
    Error::OnnxRuntime {
        reason: format!(
            "libonnxruntime.so not found (looked at {ORT_DYLIB_ENV}, {} under the working \
             directory and its parents, and {})",
            VENVS.join(", "),
            SYSTEM_DIRS.join(", ")
        ),
    }
}

/// `VENV/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`.
fn in_venv(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python3"))
        })
        .collect();
    pythons.sort();
    pythons.iter().rev().find_map(|py| {
        newest_match(&py.join("site-packages/onnxruntime/capi"), "libonnxruntime.so")
    })
}

/// The file in `dir` whose name starts with `prefix` (`libonnxruntime.so`, `….so.1.32.0`),
/// the longest name first (the versioned file rather than a link to it).
fn newest_match(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    found.pop()
}

static ENVIRONMENT: OnceLock<std::result::Result<(Environment, PathBuf), String>> = OnceLock::new();

/// Loads ONNX Runtime (once per process) and returns the library's path.
pub fn init() -> Result<PathBuf> {
    environment().map(|(_, path)| path.clone())
}

fn environment() -> Result<&'static (Environment, PathBuf)> {
    let cell = ENVIRONMENT.get_or_init(|| {
        let mut failures = Vec::new();
        let found = candidates().map_err(|e| match e {
            Error::OnnxRuntime { reason } => reason,
            other => other.to_string(),
        })?;
        for path in found {
            // A library that fails to load (too old a wheel) leaves ort free to try the next.
            match ort::init_from(&path) {
                Ok(builder) => {
                    let env = builder.with_name("memsynth").build().map_err(|e| {
                        format!("cannot start an environment from {}: {e}", path.display())
                    })?;
                    return Ok((env, path));
                }
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
        Err(format!("no usable library ({})", failures.join("; ")))
    });
    match cell {
        Ok(env) => Ok(env),
        // The first failure's full message (it says how to get the library) is kept.
        Err(reason) => Err(Error::OnnxRuntime { reason: reason.clone() }),
    }
}

/// Opens one model: `threads.intra_op` intra-op threads, no inter-op parallelism, and
/// spinning off (`session.intra_op.allow_spinning = 0`): on a shared 2-core box spinning
/// threads made a 0.3 CPU-s step take 5–9 s of wall time (FIELD-NOTES.md).
pub fn open_session(path: &Path, threads: Threads) -> Result<Session> {
    let (env, _) = environment()?;
    let model_error = |reason: String| Error::Model { path: path.to_path_buf(), reason };
    if !path.is_file() {
        return Err(model_error("the model file is missing".into()));
    }
    let fail = |e: ort::Error<ort::session::builder::SessionBuilder>| model_error(e.to_string());
    let builder = Session::builder(env).map_err(|e| model_error(e.to_string()))?;
    let builder = builder.with_intra_threads(threads.intra_op.max(1)).map_err(fail)?;
    let builder = builder.with_inter_threads(1).map_err(fail)?;
    let builder = builder.with_parallel_execution(false).map_err(fail)?;
    let builder =
        builder.with_config_entry("session.intra_op.allow_spinning", "0").map_err(fail)?;
    let builder =
        builder.with_config_entry("session.inter_op.allow_spinning", "0").map_err(fail)?;
    let mut builder =
        builder.with_optimization_level(GraphOptimizationLevel::Level3).map_err(fail)?;
    builder
        .commit_from_file(path)
        .map_err(|e| model_error(format!("ONNX Runtime cannot load it: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_file_wins_over_its_link_name() {
        let dir = std::env::temp_dir().join(format!("memsynth-ort-find-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("libonnxruntime.so"), b"").unwrap();
        std::fs::write(dir.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        std::fs::write(dir.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        let found = newest_match(&dir, "libonnxruntime.so").unwrap();
        assert_eq!(found.file_name().unwrap(), "libonnxruntime.so.1.32.0");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_venv_without_the_wheel_is_no_match() {
        assert!(in_venv(Path::new("/nonexistent/venv")).is_none());
    }
}
