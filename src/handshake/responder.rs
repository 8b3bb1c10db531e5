//! The responder's side: message 1 in, message 2 out, message 3 in.

use crate::cert::{COMPACT_LEN, CompactCert, VerifiedDevice};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::handshake::initiator::redacted_debug;
use crate::handshake::key_schedule::{AeadKey, LABEL_PREFIX, TAG_LEN, extract, hash};
use crate::handshake::messages::{CredentialMode, MSG1_LEN, PeerCredential, VERSION, parse_point};
use crate::handshake::session::{Role, Session};
use crate::handshake::{
    Ephemeral, INITIATOR_SIGNATURE, MAX_PLAINTEXT, PeerPolicy, RESPONDER_SIGNATURE, Received,
    next_th, send_credential,
};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::SecretBytes;
use crate::store::{IdentityKeys, KeyId};
use core::marker::PhantomData;

/// A responder waiting for message 1. It holds no per-peer state.
///
/// Its ephemeral key, key schedule and verification of the initiator run on the
/// [`CryptoProvider`] `P`: [`RustCrypto`] from [`new`](Responder::new), another from
/// [`with_provider`](Self::with_provider). Signing runs wherever the identity key is
/// (the key store's provider).
#[derive(Clone, Copy, Debug)]
pub struct Responder<'c, P: CryptoProvider = RustCrypto> {
    identity: KeyId,
    cert: CompactCert<'c>,
    mode: CredentialMode,
    provider: PhantomData<P>,
}

impl<'c> Responder<'c> {
    /// A responder whose identity key is `identity` in the key store, certified by `cert`,
    /// presenting it as `mode` says, on the [`RustCrypto`] provider.
    #[must_use]
    pub const fn new(identity: KeyId, cert: CompactCert<'c>, mode: CredentialMode) -> Self {
        Self::with_provider(identity, cert, mode)
    }
}

impl<'c, P: CryptoProvider> Responder<'c, P> {
    /// As [`new`](Responder::new), on the provider `P`
    /// (`Responder::<AwsLc>::with_provider(..)` on a server).
    #[must_use]
    pub const fn with_provider(
        identity: KeyId,
        cert: CompactCert<'c>,
        mode: CredentialMode,
    ) -> Self {
        Self {
            identity,
            cert,
            mode,
            provider: PhantomData,
        }
    }

    /// Checks message 1 (version, length, a valid curve point) before doing any costly or
    /// stateful work; then generates its ephemeral key, signs, and writes message 2.
    ///
    /// # Errors
    /// `Decode` for a malformed message 1 (nothing else was done); store errors from
    /// signing; [`Error::BufferTooSmall`].
    pub fn respond<S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
        self,
        store: &mut S,
        rng: &mut R,
        msg1: &[u8],
        out: &mut [u8],
    ) -> Result<(AwaitingFinish<'c, P>, usize)> {
        match msg1.first() {
            Some(&VERSION) => {}
            Some(_) => return Err(Error::decode(DecodeErrorKind::UnknownVersion, 0)),
            None => return Err(Error::decode(DecodeErrorKind::Truncated, 0)),
        }
        if msg1.len() != MSG1_LEN {
            let kind = if msg1.len() < MSG1_LEN {
                DecodeErrorKind::Truncated
            } else {
                DecodeErrorKind::TrailingData
            };
            return Err(Error::decode(kind, msg1.len().min(MSG1_LEN)));
        }
        let x = parse_point::<P>(msg1.get(1..).unwrap_or(&[]), 1)?;
        let needed = self.mode.msg2_len();
        let dst = out
            .get_mut(..needed)
            .ok_or(Error::buffer_too_small(needed))?;

        let ephemeral = Ephemeral::<P>::generate(rng);
        let y_bytes = ephemeral.public();
        let th2 = hash::<P>(&[LABEL_PREFIX, msg1, &y_bytes]);
        let prk = extract::<P>(&th2, &ephemeral.agree(&x)?)?;
        let (y_out, rest) = dst.split_at_mut(y_bytes.len());
        y_out.copy_from_slice(&y_bytes);
        let th3 = send_credential::<P, S>(
            store,
            self.identity,
            &self.cert,
            self.mode,
            RESPONDER_SIGNATURE,
            &th2,
            &prk,
            b"k2",
            rest,
        )?;
        Ok((
            AwaitingFinish {
                base: self,
                prk,
                th3,
            },
            needed,
        ))
    }
}

/// Message 2 sent; waiting for message 3.
pub struct AwaitingFinish<'c, P: CryptoProvider = RustCrypto> {
    base: Responder<'c, P>,
    prk: SecretBytes<32>,
    th3: [u8; 32],
}

impl<'c, P: CryptoProvider> AwaitingFinish<'c, P> {
    /// Decrypts and parses message 3; the initiator's identity is checked by
    /// [`FinishParsed::verify_message_3`].
    ///
    /// # Errors
    /// `Decode` for a malformed message; [`Error::Crypto`] if it does not authenticate
    /// (including a message 3 replayed from another handshake).
    pub fn parse_message_3(self, msg3: &[u8]) -> Result<FinishParsed<'c, P>> {
        if msg3.len() > MAX_PLAINTEXT + TAG_LEN {
            return Err(Error::decode(
                DecodeErrorKind::TrailingData,
                MAX_PLAINTEXT + TAG_LEN,
            ));
        }
        let k3 = AeadKey::<P>::derive(&self.prk, b"k3", &self.th3);
        let received = Received::open(&k3, &self.th3, msg3, 0)?;
        Ok(FinishParsed {
            base: self.base,
            prk: self.prk,
            th3: self.th3,
            received,
        })
    }
}

/// Message 3 decrypted; the initiator's certificate is not verified yet.
pub struct FinishParsed<'c, P: CryptoProvider = RustCrypto> {
    base: Responder<'c, P>,
    prk: SecretBytes<32>,
    th3: [u8; 32],
    received: Received,
}

impl<P: CryptoProvider> FinishParsed<'_, P> {
    /// How the initiator presented its certificate.
    #[must_use]
    pub const fn peer_credential(&self) -> PeerCredential {
        self.received.credential
    }

    /// The initiator's certificate if it was sent by value.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<[u8; COMPACT_LEN]> {
        self.received.peer_certificate()
    }

    /// Verifies the initiator as [`ResponseParsed::verify_message_2`](crate::handshake::ResponseParsed::verify_message_2)
    /// does the responder, and returns the established session and the peer.
    ///
    /// # Errors
    /// `Handshake(CredentialMismatch | Reflection | Revoked)`, certificate chain errors,
    /// [`Error::Crypto`] for a bad signature.
    pub fn verify_message_3(
        self,
        peer: &CompactCert<'_>,
        policy: &PeerPolicy<'_>,
    ) -> Result<(Session<P>, VerifiedDevice)> {
        let verified = self.received.verify::<P>(
            peer,
            &self.base.cert,
            policy,
            INITIATOR_SIGNATURE,
            &self.th3,
        )?;
        let th4 = next_th::<P>(&self.th3, self.received.bytes(), peer);
        let session = Session::new(Role::Responder, &self.prk, &th4);
        Ok((session, verified))
    }
}

redacted_debug!(AwaitingFinish, FinishParsed);
