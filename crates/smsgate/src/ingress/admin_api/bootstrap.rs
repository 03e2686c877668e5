//! The first admin user: when a node starts and the store has no admin
//! user at all, it creates `admin` with a random password and writes that
//! password to `<data dir>/admin-password` (mode 0600), so a new
//! installation's console can be opened without a setup step, and the
//! password never goes to the log.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;
use tracing::info;

use crate::accounts::verifier::PasswordVerifier;
use crate::store::{Store, StoreError};

/// The first admin user's name.
pub const FIRST_USER: &str = "admin";

/// The file the first admin user's password is written to.
pub fn password_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin-password")
}

/// Creates the first admin user unless there is one; returns the password
/// file it wrote, if it did.
pub async fn ensure_admin_user(
    store: &dyn Store,
    verifier: &PasswordVerifier,
    data_dir: &Path,
) -> Result<Option<PathBuf>, StoreError> {
    if !store.admin_users().await?.is_empty() {
        return Ok(None);
    }
    let secret: String = rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let hash = verifier
        .hash(secret.clone())
        .await
        .map_err(|error| StoreError::Backend(error.to_string()))?;
    let path = password_file(data_dir);
    // The file first: a user whose password went nowhere would lock the
    // operator out.
    write_secret(&path, &secret).map_err(|error| {
        StoreError::Backend(format!(
            "cannot write the first admin password to {}: {error}",
            path.display()
        ))
    })?;
    match store.create_admin_user(FIRST_USER, &hash).await {
        Ok(_) => {
            info!(
                user = FIRST_USER,
                password_file = %path.display(),
                "created the first admin user; its password is in the file"
            );
            Ok(Some(path))
        }
        // Another node sharing the store made one at the same moment.
        Err(StoreError::AlreadyExists(_)) => {
            let _ = std::fs::remove_file(&path);
            Ok(None)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            Err(error)
        }
    }
}

/// Writes `secret` to a new file only its owner can read (replacing an
/// older one, whose permissions may be wider).
fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}
