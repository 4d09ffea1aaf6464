//! Sealing of device passwords at rest (DOMAIN.md §5). AES-256-GCM with a
//! random nonce per value; the device's kind and id are the associated data,
//! so a ciphertext copied onto another device's row does not decrypt.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key};
use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    pub fn from_key(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// The key from `GOZCU_MASTER_KEY` (32 bytes as base64 or hex) or else
    /// from `<data_dir>/master.key`, created with mode 0600 on first start.
    pub fn load(master_key: Option<&str>, data_dir: &Path) -> anyhow::Result<SecretBox> {
        if let Some(text) = master_key {
            return Ok(SecretBox::from_key(&parse_key(text.trim()).context(
                "GOZCU_MASTER_KEY must be 32 bytes as base64 or 64 hex digits",
            )?));
        }
        let path = data_dir.join("master.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return Ok(SecretBox::from_key(&parse_key(text.trim()).with_context(
                || format!("{} is not a valid key", path.display()),
            )?));
        }
        let key: [u8; 32] = Aes256Gcm::generate_key(OsRng).into();
        write_private(&path, B64.encode(key).as_bytes())
            .with_context(|| format!("creating {}", path.display()))?;
        tracing::info!(path = %path.display(), "created a new master key; back it up together with the database");
        Ok(SecretBox::from_key(&key))
    }

    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        B64.encode(out)
    }

    pub fn open(&self, sealed: &str, context: &str) -> anyhow::Result<String> {
        let bytes = B64.decode(sealed).context("sealed value is not base64")?;
        anyhow::ensure!(bytes.len() > 12, "sealed value too short");
        let (nonce, ct) = bytes.split_at(12);
        let pt = self
            .cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("cannot decrypt: wrong master key or tampered value"))?;
        String::from_utf8(pt).context("decrypted value is not UTF-8")
    }
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).ok()?
    } else {
        B64.decode(text).ok()?
    };
    bytes.try_into().ok()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_and_bind_context() {
        let b = SecretBox::from_key(&[7u8; 32]);
        let sealed = b.seal("Kamera!2024", "camera:1");
        assert!(!sealed.contains("Kamera"));
        assert_eq!(b.open(&sealed, "camera:1").unwrap(), "Kamera!2024");
        assert!(b.open(&sealed, "camera:2").is_err());
        assert_ne!(b.seal("x", "c"), b.seal("x", "c"), "nonces must differ");
        assert!(SecretBox::from_key(&[8u8; 32])
            .open(&sealed, "camera:1")
            .is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("gozcu-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join("master.key"));
        let a = SecretBox::load(None, &dir).unwrap();
        let sealed = a.seal("pw", "x");
        let b = SecretBox::load(None, &dir).unwrap();
        assert_eq!(b.open(&sealed, "x").unwrap(), "pw");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn master_key_formats() {
        assert!(parse_key(&"ab".repeat(32)).is_some());
        assert!(parse_key(&B64.encode([1u8; 32])).is_some());
        assert!(parse_key("short").is_none());
    }
}
