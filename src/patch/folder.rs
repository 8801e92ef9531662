//! Patch names to files, confined to the patches folder: `/patch/load NAME` must never
//! read outside it, whatever the name or the links inside the folder say.

use std::path::{Path, PathBuf};

/// Why a patch name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Not a plain file name (a folder, `..`, an absolute path, a hidden file…).
    #[error("patch name {name:?} refused: {reason}")]
    Refused {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The name resolves outside the folder (through a symbolic link).
    #[error("patch name {name:?} refused: it leads outside {folder}")]
    Escapes {
        /// The name as given.
        name: String,
        /// The patches folder.
        folder: String,
    },
    /// No such patch.
    #[error("no patch {name:?} in {folder}")]
    Missing {
        /// The name as given.
        name: String,
        /// The patches folder.
        folder: String,
    },
}

/// The file `folder/NAME` (`.ron` added when missing), after checking that `NAME` is a
/// plain file name and that the file, with every link resolved, lies inside `folder`.
pub fn resolve(folder: &Path, name: &str) -> Result<PathBuf, NameError> {
    if let Err(reason) = crate::osc::command::check_file_name(name) {
        return Err(NameError::Refused { name: name.into(), reason });
    }
    let file = if name.ends_with(".ron") { name.to_string() } else { format!("{name}.ron") };
    let shown = folder.display().to_string();
    let missing = || NameError::Missing { name: name.into(), folder: shown.clone() };
    let root = folder.canonicalize().map_err(|_| missing())?;
    let path = root.join(&file).canonicalize().map_err(|_| missing())?;
    if !path.starts_with(&root) || path.parent() != Some(root.as_path()) {
        return Err(NameError::Escapes { name: name.into(), folder: shown });
    }
    if !path.is_file() {
        return Err(missing());
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_in_the_folder() {
        let root =
            std::env::temp_dir().join(format!("memsynth-patch-folder-{}", std::process::id()));
        let patches = root.join("patches");
        std::fs::create_dir_all(&patches).unwrap();
        std::fs::write(patches.join("set.ron"), "()").unwrap();
        std::fs::write(root.join("secret.ron"), "()").unwrap();
        assert_eq!(
            resolve(&patches, "set").unwrap(),
            patches.canonicalize().unwrap().join("set.ron")
        );
        assert!(resolve(&patches, "set.ron").is_ok());
        for bad in ["../secret", "../secret.ron", "/etc/passwd", "a/b", "..", ".set.ron"] {
            assert!(matches!(resolve(&patches, bad), Err(NameError::Refused { .. })), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.ron"), patches.join("link.ron")).unwrap();
            assert!(matches!(resolve(&patches, "link"), Err(NameError::Escapes { .. })));
        }
        assert!(matches!(resolve(&patches, "nope"), Err(NameError::Missing { .. })));
        let _ = std::fs::remove_dir_all(&root);
    }
}
