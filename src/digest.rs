//! SHA-256 as bsdx writes it everywhere: lowercase hex. One helper for bytes
//! in memory, one for a file streamed from disk, and a reader that hashes what
//! passes through it (for archives hashed while they are read).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Lowercase hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut t = HashingReader::new(f, ProgressBar::hidden());
    io::copy(&mut t, &mut io::sink()).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(t.hex())
}

/// A reader that hashes and counts what passes through it, and advances a
/// progress bar by the bytes read.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bar: ProgressBar,
    /// Bytes read so far.
    pub bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R, bar: ProgressBar) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            bar,
            bytes: 0,
        }
    }

    /// Lowercase hex SHA-256 of what was read so far.
    pub fn hex(&self) -> String {
        format!("{:x}", self.hasher.clone().finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bar.inc(n as u64);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_known_inputs() {
        // FIPS 180-2's "abc" vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut r = HashingReader::new(&b"abc"[..], ProgressBar::hidden());
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(r.hex(), sha256_hex(b"abc"));
        assert_eq!(r.bytes, 3);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(sha256_file(&p).unwrap(), sha256_hex(b"abc"));
    }
}
