//! A signed ECDH handshake (SIGMA-I) between two devices, or a device and a server,
//! authenticated by compact certificates.
//!
//! Three messages: ephemeral P-256 ECDH for forward secrecy, each side signing the
//! transcript with its certified identity key (through the key store, so the key may sit
//! in a secure element), and each side's credential and signature encrypted and
//! authenticated under keys derived from the ECDH secret, which binds identities to the
//! session (SIGMA's MAC). HKDF-SHA256 with role labels, AES-128-GCM.
//!
//! | credentials | message 1 | message 2 | message 3 | total |
//! |---|---:|---:|---:|---:|
//! | both by reference | 34 | 115 | 82 | **231** |
//! | both by value | 34 | 225 | 192 | **451** |
//!
//! The API is a typestate chain; every step takes `self` and returns the next state, so
//! steps cannot be called out of order, and a failed step drops (and zeroizes) the state.
//! Parsing and verification are separate, so the application can look up a peer's
//! certificate by reference in between:
//!
//! ```text
//! Initiator ──start──▶ AwaitingResponse ──parse_message_2──▶ ResponseParsed
//!    ──verify_message_2──▶ ResponseVerified ──finish──▶ Session (+ message 3)
//! Responder ──respond(message 1)──▶ AwaitingFinish ──parse_message_3──▶ FinishParsed
//!    ──verify_message_3──▶ Session
//! ```
//!
//! ```
//! use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Responder};
//! # use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
//! # use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! # fn main() -> provkit::Result<()> {
//! # let mut rng = provkit::rng::OsRng;
//! # let mut ca = MemoryStore::<1, 0, 0>::new();
//! # ca.generate_p256(KeyId(1), &mut rng)?;
//! # let mut der = [0u8; 512];
//! # let profile = CaProfile::new(CaName::new("Root"), [1; 16], 0, 4_000_000_000);
//! # let n = cert::create_root(&mut ca, KeyId(1), &profile, &mut der)?;
//! # let root = CaCert::from_der(&der[..n])?;
//! # let (mut alice, mut bob) = (MemoryStore::<1, 1, 128>::new(), MemoryStore::<1, 1, 128>::new());
//! # let a_pub = alice.generate_p256(KeyId(1), &mut rng)?;
//! # let b_pub = bob.generate_p256(KeyId(1), &mut rng)?;
//! # let now = 1_800_000_000;
//! # let a_cert = cert::issue_device(&mut ca, KeyId(1), &root, &DeviceRequest::new(1, &a_pub, now))?;
//! # let b_cert = cert::issue_device(&mut ca, KeyId(1), &root, &DeviceRequest::new(2, &b_pub, now))?;
//! let policy = PeerPolicy::new(&root, now);
//! let (mut m1, mut m2, mut m3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
//!
//! let alice_hs = Initiator::new(KeyId(1), CompactCert::parse(&a_cert)?, CredentialMode::ByValue);
//! let (alice_hs, n1) = alice_hs.start(&mut rng, &mut m1)?;
//!
//! let bob_hs = Responder::new(KeyId(1), CompactCert::parse(&b_cert)?, CredentialMode::ByValue);
//! let (bob_hs, n2) = bob_hs.respond(&mut bob, &mut rng, &m1[..n1], &mut m2)?;
//!
//! let parsed = alice_hs.parse_message_2(&m2[..n2])?;
//! let peer = parsed.peer_certificate().expect("sent by value");
//! let verified = parsed.verify_message_2(&CompactCert::parse(&peer)?, &policy)?;
//! let (mut alice_session, n3) = verified.finish(&mut alice, &mut m3)?;
//!
//! let parsed = bob_hs.parse_message_3(&m3[..n3])?;
//! let peer = parsed.peer_certificate().expect("sent by value");
//! let (mut bob_session, who) = parsed.verify_message_3(&CompactCert::parse(&peer)?, &policy)?;
//! assert_eq!(who.serial, 1);
//!
//! let mut record = [0u8; 64];
//! let len = alice_session.seal(b"hello", b"", &mut record)?;
//! let mut plain = [0u8; 64];
//! let n = bob_session.open(&record[..len], b"", &mut plain)?;
//! assert_eq!(&plain[..n], b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! Byte layouts, key schedule and security argument: `docs/handshake.md`.

mod initiator;
mod key_schedule;
mod messages;
mod policy;
mod responder;
mod session;

pub use initiator::{AwaitingResponse, Initiator, ResponseParsed, ResponseVerified};
pub use messages::{
    CredentialMode, MAX_MSG2_LEN, MAX_MSG3_LEN, MSG1_LEN, PeerCredential, VERSION, kid,
};
pub use policy::{PeerPolicy, REPLACEMENT_LEN, Replacement, check_pinned, pin, pinned, repin};
pub use responder::{AwaitingFinish, FinishParsed, Responder};
pub use session::{MAX_RECORDS, RECORD_OVERHEAD, Role, Session};

use crate::cert::{COMPACT_LEN, CompactCert, VerifiedDevice};
use crate::ec::{EcdsaSignature, Ephemeral};
use crate::error::{Error, HandshakeError, Result};
use crate::provider::CryptoProvider;
use crate::secret::SecretBytes;
use crate::store::{IdentityKeys, KeyId};
use key_schedule::{AeadKey, TAG_LEN, hash, signature_digest};
use messages::{parse_plaintext, write_plaintext};

const RESPONDER_SIGNATURE: &[u8] = b"responder signature";
const INITIATOR_SIGNATURE: &[u8] = b"initiator signature";
const MAX_PLAINTEXT: usize = 1 + COMPACT_LEN + crate::ec::SIGNATURE_LEN;

/// The decrypted `credential || signature` of message 2 or 3, kept until verification.
struct Received {
    plaintext: [u8; MAX_PLAINTEXT],
    len: usize,
    credential: PeerCredential,
    signature: EcdsaSignature,
}

impl Received {
    /// Decrypts `ciphertext || tag` under `key` with the transcript hash as AAD.
    fn open<P: CryptoProvider>(
        key: &AeadKey<P>,
        th: &[u8; 32],
        msg: &[u8],
        base: usize,
    ) -> Result<Self> {
        let split = msg.len().checked_sub(TAG_LEN).ok_or(Error::decode(
            crate::error::DecodeErrorKind::Truncated,
            base + msg.len(),
        ))?;
        let (ct, tag) = msg.split_at(split);
        let mut plaintext = [0u8; MAX_PLAINTEXT];
        let buf = plaintext.get_mut(..ct.len()).ok_or(Error::decode(
            crate::error::DecodeErrorKind::TrailingData,
            base + MAX_PLAINTEXT,
        ))?;
        buf.copy_from_slice(ct);
        key.open(0, th, buf, tag)?;
        let (credential, signature) = parse_plaintext(buf, base)?;
        Ok(Self {
            len: ct.len(),
            plaintext,
            credential,
            signature,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.plaintext.get(..self.len).unwrap_or(&[])
    }

    fn peer_certificate(&self) -> Option<[u8; COMPACT_LEN]> {
        match self.credential {
            PeerCredential::ByValue(c) => Some(c),
            PeerCredential::ByReference(_) => None,
        }
    }

    /// Checks the peer certificate against the credential, the policy and our own
    /// identity, then the peer's signature over `th`, on the provider `P`.
    fn verify<P: CryptoProvider>(
        &self,
        peer: &CompactCert<'_>,
        own: &CompactCert<'_>,
        policy: &PeerPolicy<'_>,
        role: &[u8],
        th: &[u8; 32],
    ) -> Result<VerifiedDevice> {
        if !self.credential.matches(peer) {
            return Err(HandshakeError::CredentialMismatch.into());
        }
        if peer.serial() == own.serial() || same_key(peer, own) {
            return Err(HandshakeError::Reflection.into());
        }
        let verified = policy.check_on::<P>(peer)?;
        let digest = signature_digest::<P>(role, th, peer.as_bytes());
        verified
            .public_key
            .verify_digest_low_s_on::<P>(&digest, &self.signature)?;
        Ok(verified)
    }
}

/// Whether two compact certificates certify the same public key (x and y parity),
/// compared without decompressing either.
fn same_key(a: &CompactCert<'_>, b: &CompactCert<'_>) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.get(15..47) == b.get(15..47) && a.first().map(|h| h & 1) == b.first().map(|h| h & 1)
}

/// Sends this side's credential: signs `SHA-256(prefix || role || th || own
/// certificate)` with the identity key, writes `credential || signature` into `dst`
/// (which is exactly that plus a tag), encrypts it under the AEAD key `label` derives
/// from `prk` with `th` as associated data, and returns the next transcript hash.
#[allow(clippy::too_many_arguments)] // one call site per role; a struct would only rename them
fn send_credential<P: CryptoProvider, S: IdentityKeys + ?Sized>(
    store: &mut S,
    key: KeyId,
    cert: &CompactCert<'_>,
    mode: CredentialMode,
    role: &[u8],
    th: &[u8; 32],
    prk: &SecretBytes<32>,
    label: &[u8],
    dst: &mut [u8],
) -> Result<[u8; 32]> {
    let split = dst
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(Error::buffer_too_small(TAG_LEN))?;
    let (body, tag) = dst.split_at_mut(split);
    let signature = crate::store::sign_low_s(
        store,
        key,
        &signature_digest::<P>(role, th, cert.as_bytes()),
    )?;
    let n = write_plaintext(mode, cert, &signature, body)?;
    let next = next_th::<P>(th, body.get(..n).unwrap_or(&[]), cert);
    tag.copy_from_slice(&AeadKey::<P>::derive(prk, label, th).seal(0, th, body)?);
    Ok(next)
}

/// `TH_next = SHA-256(TH || plaintext || full certificate of its sender)`.
fn next_th<P: CryptoProvider>(th: &[u8; 32], plaintext: &[u8], cert: &CompactCert<'_>) -> [u8; 32] {
    hash::<P>(&[th, plaintext, cert.as_bytes()])
}

const _: () = {
    assert!(size_of::<AwaitingResponse<'static>>() <= 1024);
    assert!(size_of::<ResponseParsed<'static>>() <= 1024);
    assert!(size_of::<ResponseVerified<'static>>() <= 1024);
    assert!(size_of::<AwaitingFinish<'static>>() <= 1024);
    assert!(size_of::<FinishParsed<'static>>() <= 1024);
    assert!(size_of::<Session>() <= 1024);
};
