//! The run's peer CA, made on every node from the cluster secret alone, with no channel between
//! the nodes: HKDF-SHA256 (RFC 5869) of the secret, salted with the run's identity (the sorted
//! `--cluster` list, the peer port and the token), gives an ECDSA P-256 key; the CA certificate
//! has a fixed name, serial and validity window and a deterministic (RFC 6979) signature, so it
//! is byte-identical on every node. Each node then issues its own peer certificate (a fresh
//! random key, its address as IP SAN, server and client auth) signed by that CA. Members run with
//! `--peer-client-cert-auth` and trust only that CA: a host without the secret gets no TLS
//! session on a peer port.
//!
//! P-256 rather than Ed25519: Go's crypto/x509 and crypto/tls accept Ed25519 certificates only
//! from Go 1.13 on, so an etcd built with an older Go would refuse them; ECDSA P-256 is accepted by
//! every Go that etcd 3.4 and 3.5 have been built with (tested here with etcd 3.4.23, Go 1.19).

use super::secret::ClusterSecret;
use super::spec::NodeSpec;
use super::ClusterError;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey as EcdsaKey};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm, SigningKey,
};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// HKDF `info` of the CA key (a counter byte follows: the rare 32 bytes that are no P-256
/// scalar are skipped the same way on every node).
const CA_KEY_INFO: &[u8] = b"nodefit cluster peer CA key v1";

/// The derived CA key, as rcgen's signer (deterministic signatures).
struct CaKey {
    key: EcdsaKey,
    /// The uncompressed SEC1 public point, as X.509 carries it.
    public: Vec<u8>,
}

impl PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for CaKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: Signature = self
            .key
            .try_sign(msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

struct OkmLen(usize);
impl ring::hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// The run's CA: its certificate and the key that signs the nodes' peer certificates.
pub struct PeerCa {
    key: CaKey,
    params: CertificateParams,
    cert_pem: String,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for PeerCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerCa({} certificate bytes)", self.cert_der.len())
    }
}

/// This node's peer credentials, as written for etcd (and used by nodefit's own peer check).
#[derive(Clone)]
pub struct PeerCredentials {
    pub ca_der: Vec<u8>,
    pub cert_der: Vec<u8>,
    /// PKCS#8.
    pub key_der: Vec<u8>,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl std::fmt::Debug for PeerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PeerCredentials({})", self.cert_file.display())
    }
}

fn failed(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Member(format!("cannot make the peer certificates ({what}): {e}"))
}

impl PeerCa {
    /// The CA of the run `identity` for holders of `secret` (the same on every node).
    pub fn derive(secret: &ClusterSecret, identity: &str) -> Result<PeerCa, ClusterError> {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, identity.as_bytes())
            .extract(secret.bytes());
        let mut key = None;
        for counter in 0u8..=u8::MAX {
            let counter = [counter];
            let info: [&[u8]; 2] = [CA_KEY_INFO, &counter];
            let mut bytes = [0u8; 32];
            prk.expand(&info, OkmLen(32))
                .and_then(|okm| okm.fill(&mut bytes))
                .map_err(|e| failed("HKDF", e))?;
            if let Ok(k) = EcdsaKey::from_slice(&bytes) {
                key = Some(k);
                break;
            }
        }
        let key = key.ok_or_else(|| failed("HKDF", "no P-256 scalar in 256 tries"))?;
        let public = key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        let key = CaKey { key, public };
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "nodefit");
        dn.push(DnType::CommonName, "nodefit cluster peer CA");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from(1u64));
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let cert = params.self_signed(&key).map_err(|e| failed("CA", e))?;
        Ok(PeerCa {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key,
            params,
        })
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// SHA-256 of the CA certificate, hex: the same on every node of a run with the same secret
    /// (and nothing about the secret).
    pub fn fingerprint(&self) -> String {
        ring::digest::digest(&ring::digest::SHA256, &self.cert_der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Issue `node`'s peer certificate (its address as IP SAN; server and client auth) with a
    /// fresh key, and write CA, certificate and key into `dir` (created 0700; files 0600).
    pub fn issue(&self, node: &NodeSpec, dir: &Path) -> Result<PeerCredentials, ClusterError> {
        let leaf_key =
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| failed("key", e))?;
        let mut p = CertificateParams::new(vec![node.addr.to_string()])
            .map_err(|e| failed("certificate", e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "nodefit");
        dn.push(DnType::CommonName, node.name.as_str());
        p.distinguished_name = dn;
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.use_authority_key_identifier_extension = true;
        p.not_before = self.params.not_before;
        p.not_after = self.params.not_after;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = p
            .signed_by(&leaf_key, &issuer)
            .map_err(|e| failed("certificate", e))?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| failed(&dir.display().to_string(), e))?;
        let creds = PeerCredentials {
            ca_der: self.cert_der.clone(),
            cert_der: cert.der().to_vec(),
            key_der: leaf_key.serialize_der(),
            ca_file: dir.join("ca.crt"),
            cert_file: dir.join("peer.crt"),
            key_file: dir.join("peer.key"),
        };
        write_private(&creds.ca_file, self.cert_pem.as_bytes())?;
        write_private(&creds.cert_file, cert.pem().as_bytes())?;
        write_private(&creds.key_file, leaf_key.serialize_pem().as_bytes())?;
        Ok(creds)
    }
}

/// Create `path` (it must not exist) with mode 0600 and write `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ClusterError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| failed(&path.display().to_string(), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn secret(text: &str) -> ClusterSecret {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        ClusterSecret::read(&p, "test").unwrap()
    }

    #[test]
    fn the_same_secret_and_run_give_a_byte_identical_ca() {
        let s = secret("3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1");
        let a = PeerCa::derive(&s, "run a").unwrap();
        let b = PeerCa::derive(&s, "run a").unwrap();
        assert_eq!(a.cert_der(), b.cert_der());
        assert_eq!(a.fingerprint().len(), 64);
        let other_run = PeerCa::derive(&s, "run b").unwrap();
        assert_ne!(a.cert_der(), other_run.cert_der());
        let other_secret = PeerCa::derive(&secret("0123456789abcdef0123"), "run a").unwrap();
        assert_ne!(a.cert_der(), other_secret.cert_der());
    }

    #[test]
    fn issues_private_files_with_the_node_address() {
        let s = secret("3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1");
        let ca = PeerCa::derive(&s, "run").unwrap();
        let d = tempfile::tempdir().unwrap();
        let node = NodeSpec {
            name: "cp1".into(),
            addr: "198.18.0.10".parse().unwrap(),
        };
        let c = ca.issue(&node, &d.path().join("tls")).unwrap();
        for f in [&c.ca_file, &c.cert_file, &c.key_file] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        let dir_mode = std::fs::metadata(d.path().join("tls"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        // The address is in the certificate (IP SAN: 4 raw bytes).
        assert!(c.cert_der.windows(4).any(|w| w == [198, 18, 0, 10]));
        assert_eq!(c.ca_der, ca.cert_der());
        // A second issue into the same place refuses to overwrite.
        assert!(ca.issue(&node, &d.path().join("tls")).is_err());
    }
}
