//! Signing the catalog the way pkg(8) verifies `signature_type: "pubkey"`,
//! with the RustCrypto `rsa` crate (no hand-written cryptography).
//!
//! Read from freebsd/pkg:
//!
//! - What is signed (`libpkg/pkgsign_ossl.c` `ossl_sign`, `ossl_sign_data`;
//!   `libpkg/rsa.c` before 1.21): the lowercase SHA-256 **hex string** (64
//!   ASCII bytes) of the uncompressed catalog file (`packagesite.yaml`,
//!   `data`), never the archive.
//! - How, since pkg 1.20.0 (`b4d2e2fc4`, 2023-06-29, "pubkey: workaround bad
//!   usage of openssl") when built on OpenSSL 3: RSASSA-PKCS1-v1_5 with
//!   SHA-256 of that hex string (`EVP_sha256`, `RSA_PKCS1_PADDING`). pkg
//!   built on OpenSSL 1.1 still signs the older form (the hex string passed
//!   as a "SHA-1" digest). Every pkg since 1.20.0 *verifies* the SHA-256
//!   form first (`ossl_verify_cert_cb`) and falls back to the old one
//!   (`ossl_verify_cb`), on OpenSSL 1.1 (FreeBSD 13) and 3 (14, 15) alike;
//!   pkg built on OpenSSL 3 only accepts the SHA-256 form. bsdx writes the
//!   SHA-256 form.
//! - The stored signature is the RSA signature followed by one NUL byte
//!   (`ossl_sign_data`: `*siglen += 1`; before 1.21.0 `pkg_repo_create.c`
//!   packed `siglen + 1` bytes). pkg 1.20 drops the last byte
//!   unconditionally (`s->siglen - 1`), pkg ≥ 1.21.0 (`3766425ec`) drops it
//!   when it is NUL: so the NUL must be there.
//! - Signatures without a `$PKGSIGN:<type>$` head are RSA
//!   (`pkg_repo.c` `pkg_repo_archive_extract_archive`); ECC signers
//!   (`ecc`/`ecdsa`/`eddsa`, `pkgsign_ecc.c`) exist since pkg 1.21.0
//!   (`012369c0e`) — bsdx signs with RSA only, which every version reads.
//! - The host's key (`pkgsign_ossl.c` `_load_public_key_buf`:
//!   `PEM_read_bio_PUBKEY`) is a PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as
//!   `openssl rsa -pubout` writes it; only RSA keys (`EVP_PKEY_RSA`).

use std::path::Path;

use anyhow::Result;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use crate::exit::{self, Exit};

fn bad(message: String) -> anyhow::Error {
    Exit {
        code: exit::UNREADABLE,
        message,
    }
    .into()
}

/// The RSA private key in the PEM file `path`: PKCS#8 (`BEGIN PRIVATE
/// KEY`, what `openssl genrsa` writes with OpenSSL 3) or PKCS#1 (`BEGIN RSA
/// PRIVATE KEY`, OpenSSL 1.1's `genrsa`, pkg's own `pkg key --create`).
pub fn load_private_key(path: &Path) -> Result<RsaPrivateKey> {
    let fix = format!(
        "  fix: create one with `openssl genrsa -out {0} 4096` (keep it off the web server), or pass the right file to --key",
        path.display()
    );
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(format!(
            "cannot read the signing key {}: {e}\n{fix}",
            path.display()
        ))
    })?;
    if let Ok(k) = RsaPrivateKey::from_pkcs8_pem(&text) {
        return Ok(k);
    }
    if let Ok(k) = RsaPrivateKey::from_pkcs1_pem(&text) {
        return Ok(k);
    }
    let what = if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        "an encrypted (passphrase-protected) key; bsdx reads unencrypted PEM keys only".to_string()
    } else if text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN PRIVATE KEY") {
        "a private key, but not an RSA one (EC/Ed25519 keys are pkg's `ecdsa`/`eddsa` signers, pkg ≥ 1.21; bsdx signs with RSA, which every pkg verifies)".to_string()
    } else if text.contains("PUBLIC KEY") {
        "a public key: signing needs the private key".to_string()
    } else {
        "not a PEM RSA private key".to_string()
    };
    Err(bad(format!("{}: {what}\n{fix}", path.display())))
}

/// The RSA public key in the PEM file `path` (`BEGIN PUBLIC KEY`, as pkg
/// reads it, or `BEGIN RSA PUBLIC KEY`), or the public half of a private
/// key file.
pub fn load_public_key(path: &Path) -> Result<RsaPublicKey> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        bad(format!(
            "cannot read the public key {}: {e}\n  fix: pass the key the hosts use (`bsdx repo --print-conf URL --key PRIVATE.pem` prints it)",
            path.display()
        ))
    })?;
    if let Ok(k) = RsaPublicKey::from_public_key_pem(&text) {
        return Ok(k);
    }
    if let Ok(k) = RsaPublicKey::from_pkcs1_pem(&text) {
        return Ok(k);
    }
    if text.contains("PRIVATE KEY") {
        return Ok(load_private_key(path)?.to_public_key());
    }
    Err(bad(format!(
        "{}: not a PEM RSA public key (pkg reads `-----BEGIN PUBLIC KEY-----`)\n  fix: write it with `openssl rsa -in PRIVATE.pem -pubout -out {}`",
        path.display(),
        path.display()
    )))
}

/// The public key as the host installs it: PEM SubjectPublicKeyInfo.
pub fn public_pem(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("an RSA public key encodes")
}

/// The `signature` member for the catalog file `content`: RSASSA-PKCS1-v1_5
/// / SHA-256 over the SHA-256 hex string of `content`, then a NUL byte.
pub fn sign(key: &RsaPrivateKey, content: &[u8]) -> Vec<u8> {
    let hex = crate::digest::sha256_hex(content);
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let mut sig = signer.sign(hex.as_bytes()).to_vec();
    sig.push(0);
    sig
}

/// Whether `signature` (as stored: with or without its trailing NUL) is a
/// valid signature of `content` by `key`, as pkg ≥ 1.20 checks it first.
pub fn verify(key: &RsaPublicKey, content: &[u8], signature: &[u8]) -> bool {
    let sig = match signature.split_last() {
        Some((0, rest)) => rest,
        _ => signature,
    };
    let Ok(sig) = rsa::pkcs1v15::Signature::try_from(sig) else {
        return false;
    };
    let hex = crate::digest::sha256_hex(content);
    rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone())
        .verify(hex.as_bytes(), &sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_carry_a_nul_and_verify_only_for_their_content_and_key() {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let other = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let sig = sign(&key, b"catalog\n");
        assert_eq!(sig.len(), 128 + 1);
        assert_eq!(sig.last(), Some(&0));
        assert_eq!(sig, sign(&key, b"catalog\n"), "deterministic");
        let public = key.to_public_key();
        assert!(verify(&public, b"catalog\n", &sig));
        assert!(verify(&public, b"catalog\n", &sig[..sig.len() - 1]));
        assert!(!verify(&public, b"catalog!\n", &sig));
        assert!(!verify(&other.to_public_key(), b"catalog\n", &sig));
        assert!(!verify(&public, b"catalog\n", b"short"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pub");
        std::fs::write(&p, public_pem(&public)).unwrap();
        assert!(public_pem(&public).starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(load_public_key(&p).unwrap(), public);
    }
}
