use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::HumanBytes;

use crate::archive::progress;
use crate::cache;
use crate::digest::HashingReader;

use super::extract::extract;
use super::{complete, Labels, Marker, SysrootError, Wanted};

const ATTEMPTS: u32 = 3;
/// Downloads in progress in the cache: `sysroots/.base.txz-XXXXXX`.
const DOWNLOAD_PREFIX: &str = ".base.txz-";
// ---------------------------------------------------------------- fetch

/// The sysroot for `want` in the cache: reused when complete, else
/// downloaded from `urls` and extracted. Returns (path, marker, cached).
pub fn fetch(want: &Wanted, urls: &[String]) -> Result<(PathBuf, Marker, bool)> {
    let root = cache::dir()?.join("sysroots");
    let dir = root.join(want.dir_name());
    if let Some(marker) = complete(&dir, &want.sha256) {
        return Ok((dir, marker, true));
    }
    remove_garbage(&dir)?;
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    sweep(&root);
    if want.single_source {
        eprintln!("bsdx: note: the pinned SHA-256 of FreeBSD {} {} is confirmed by one source only (see data/releases.json)", want.release, want.arch);
    }
    let (tmp, url) = download(urls, want, &root)?;
    let labels = Labels {
        release: Some(want.release.clone()),
        arch: Some(want.arch.clone()),
    };
    let marker = match extract(tmp.path(), &dir, labels, &url, Some(&want.sha256)) {
        Ok(marker) => marker,
        // Another bsdx may have finished the same directory first.
        Err(e) => complete(&dir, &want.sha256).ok_or(e)?,
    };
    Ok((dir, marker, false))
}

/// Remove a cache directory left without its marker.
fn remove_garbage(dir: &Path) -> Result<()> {
    let removed = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir),
        _ => std::fs::remove_file(dir),
    };
    eprintln!("bsdx: removing the unfinished {}", dir.display());
    removed.with_context(|| {
        format!(
            "cannot remove the unfinished {}; remove it yourself",
            dir.display()
        )
    })
}

/// Delete downloads an interrupted bsdx left behind (a day old or more).
fn sweep(root: &Path) {
    let day = Duration::from_secs(24 * 3600);
    for e in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let stale = e
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if stale
            && e.file_name().to_string_lossy().starts_with(DOWNLOAD_PREFIX)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Why one download attempt failed, and so what happens next.
enum Attempt {
    /// The URL has no such file: the next URL, at once.
    Missing(String),
    /// Worth retrying the same URL.
    Transient(String),
    /// The next URL.
    Failed(String),
    /// Trouble on this machine (disk full...): stop.
    Local(anyhow::Error),
}

/// The first of `urls` that yields the wanted file, verified, in a
/// temporary file in `dir` (deleted when dropped). Also how `bsdx run`
/// fetches kernel.txz and base.txz.
pub(crate) fn download(
    urls: &[String],
    want: &Wanted,
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, String)> {
    let mut tried = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        match download_url(url, want, dir)? {
            Ok(tmp) => return Ok((tmp, url.clone())),
            Err(why) => {
                if i + 1 < urls.len() {
                    eprintln!("bsdx: {url}: {why}; trying the next URL");
                }
                tried.push(format!("  {url}: {why}"));
            }
        }
    }
    Err(SysrootError::Unreachable {
        file: urls
            .first()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("base.txz")
            .to_string(),
        release: want.release.clone(),
        arch: want.arch.clone(),
        tried: tried.join("\n"),
    }
    .into())
}

/// `Ok(Ok(file))`: downloaded and verified. `Ok(Err(why))`: this URL
/// failed, try the next. `Err`: stop (a SHA-256 mismatch, local trouble).
fn download_url(
    url: &str,
    want: &Wanted,
    dir: &Path,
) -> Result<Result<tempfile::NamedTempFile, String>> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let mut tmp = tempfile::Builder::new()
            .prefix(DOWNLOAD_PREFIX)
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        match download_once(url, tmp.as_file_mut(), want) {
            Ok((got, bytes)) if got == want.sha256 => {
                eprintln!(
                    "bsdx: downloaded {url} ({}, sha256 verified)",
                    HumanBytes(bytes)
                );
                return Ok(Ok(tmp));
            }
            Ok((got, _)) => {
                drop(tmp);
                return Err(SysrootError::Mismatch {
                    url: url.to_string(),
                    expected: want.sha256.clone(),
                    got,
                }
                .into());
            }
            Err(Attempt::Local(e)) => return Err(e),
            Err(Attempt::Missing(why) | Attempt::Failed(why)) => return Ok(Err(why)),
            Err(Attempt::Transient(why)) => {
                if attempt < ATTEMPTS {
                    let wait = Duration::from_secs(2u64.pow(attempt));
                    eprintln!(
                        "bsdx: {url}: {why}; retrying in {}s (attempt {attempt} of {ATTEMPTS})",
                        wait.as_secs()
                    );
                    std::thread::sleep(wait);
                }
                last = format!("{why} ({ATTEMPTS} attempts)");
            }
        }
    }
    Ok(Err(last))
}

/// Download `url` into `dest`; returns its SHA-256 and size.
fn download_once(url: &str, dest: &mut File, want: &Wanted) -> Result<(String, u64), Attempt> {
    let (reader, len) = open_url(url)?;
    let file = url.rsplit('/').next().unwrap_or("base.txz");
    let bar = progress(
        len.or(want.size).unwrap_or(0),
        &format!("downloading FreeBSD {} {} {file}", want.release, want.arch),
    );
    let mut tally = HashingReader::new(reader, bar.clone());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match tally.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Attempt::Transient(format!("the download broke off: {e}"))),
        };
        dest.write_all(&buf[..n]).map_err(|e| {
            Attempt::Local(
                anyhow::Error::new(e).context("cannot write the download into the cache directory"),
            )
        })?;
    }
    dest.flush().map_err(|e| Attempt::Local(e.into()))?;
    bar.finish_and_clear();
    Ok((tally.hex(), tally.bytes))
}

/// A reader for `url` (`file://`, `http://`, `https://`) and its length.
fn open_url(url: &str) -> Result<(Box<dyn Read>, Option<u64>), Attempt> {
    if let Some(path) = file_url_path(url) {
        return match File::open(&path) {
            Ok(f) => {
                let len = f.metadata().ok().map(|m| m.len());
                Ok((Box::new(f), len))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Attempt::Missing("no such file".into()))
            }
            Err(e) => Err(Attempt::Failed(format!(
                "cannot open {}: {e}",
                path.display()
            ))),
        };
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Attempt::Failed(
            "unsupported URL (use https://, http:// or file:///absolute/path)".into(),
        ));
    }
    let response = agent().get(url).call().map_err(classify)?;
    let len = response.body().content_length();
    Ok((Box::new(response.into_body().into_reader()), len))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("bsdx/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn classify(e: ureq::Error) -> Attempt {
    let why = e.to_string();
    match e {
        ureq::Error::StatusCode(c @ (404 | 410)) => {
            Attempt::Missing(format!("HTTP {c}, not there"))
        }
        ureq::Error::StatusCode(c) if c == 408 || c == 429 || c >= 500 => {
            Attempt::Transient(format!("HTTP {c}"))
        }
        ureq::Error::StatusCode(c) => Attempt::Failed(format!("HTTP {c}")),
        ureq::Error::Io(_)
        | ureq::Error::Timeout(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Attempt::Transient(why),
        _ => Attempt::Failed(why),
    }
}

/// The path of a `file:///absolute/path` URL (`%XX` decoded).
pub(crate) fn file_url_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    use std::os::unix::ffi::OsStringExt;
    rest.starts_with('/')
        .then(|| PathBuf::from(std::ffi::OsString::from_vec(percent_decode(rest))))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls() {
        assert_eq!(
            file_url_path("file:///a%20b/c"),
            Some(PathBuf::from("/a b/c"))
        );
        assert_eq!(
            file_url_path("file://localhost/x"),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(file_url_path("file://relative"), None);
        assert_eq!(file_url_path("https://x"), None);
        assert_eq!(percent_decode("100%"), b"100%");
    }
}
