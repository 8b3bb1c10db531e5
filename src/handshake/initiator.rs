//! The initiator's side: message 1 out, message 2 in, message 3 out.

use crate::cert::{COMPACT_LEN, CompactCert, VerifiedDevice};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::handshake::key_schedule::{AeadKey, TAG_LEN, extract, hash};
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

/// An initiator that has not sent anything yet.
///
/// Its ephemeral key, key schedule and verification of the responder run on the
/// [`CryptoProvider`] `P`: [`RustCrypto`] from [`new`](Initiator::new), another from
/// [`with_provider`](Self::with_provider). Signing runs wherever the identity key is
/// (the key store's provider).
#[derive(Clone, Copy, Debug)]
pub struct Initiator<'c, P: CryptoProvider = RustCrypto> {
    identity: KeyId,
    cert: CompactCert<'c>,
    mode: CredentialMode,
    provider: PhantomData<P>,
}

impl<'c> Initiator<'c> {
    /// An initiator whose identity key is `identity` in the key store, certified by
    /// `cert`, presenting it as `mode` says, on the [`RustCrypto`] provider.
    #[must_use]
    pub const fn new(identity: KeyId, cert: CompactCert<'c>, mode: CredentialMode) -> Self {
        Self::with_provider(identity, cert, mode)
    }
}

impl<'c, P: CryptoProvider> Initiator<'c, P> {
    /// As [`new`](Initiator::new), on the provider `P`
    /// (`Initiator::<AwsLc>::with_provider(..)` on a server).
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

    /// Generates the ephemeral key and writes message 1 into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`MSG1_LEN`].
    pub fn start<R: rand_core::CryptoRng + ?Sized>(
        self,
        rng: &mut R,
        out: &mut [u8],
    ) -> Result<(AwaitingResponse<'c, P>, usize)> {
        let dst = out
            .get_mut(..MSG1_LEN)
            .ok_or(Error::buffer_too_small(MSG1_LEN))?;
        let ephemeral = Ephemeral::<P>::generate(rng);
        let mut msg1 = [0u8; MSG1_LEN];
        let (v, x) = msg1.split_at_mut(1);
        v.copy_from_slice(&[VERSION]);
        x.copy_from_slice(&ephemeral.public());
        dst.copy_from_slice(&msg1);
        Ok((
            AwaitingResponse {
                base: self,
                ephemeral,
                msg1,
            },
            MSG1_LEN,
        ))
    }
}

/// Message 1 sent; waiting for message 2.
pub struct AwaitingResponse<'c, P: CryptoProvider = RustCrypto> {
    base: Initiator<'c, P>,
    ephemeral: Ephemeral<P>,
    msg1: [u8; MSG1_LEN],
}

impl<'c, P: CryptoProvider> AwaitingResponse<'c, P> {
    /// Decrypts and parses message 2. Authenticates that the responder knows the ECDH
    /// secret; its identity is checked by [`ResponseParsed::verify_message_2`].
    ///
    /// # Errors
    /// `Decode` for a malformed message or invalid point; [`Error::Crypto`] if it does not
    /// authenticate.
    pub fn parse_message_2(self, msg2: &[u8]) -> Result<ResponseParsed<'c, P>> {
        let y_bytes = msg2
            .get(..crate::ec::COMPRESSED_LEN)
            .ok_or(Error::decode(DecodeErrorKind::Truncated, msg2.len()))?;
        let y = parse_point::<P>(y_bytes, 0)?;
        let rest = msg2.get(crate::ec::COMPRESSED_LEN..).unwrap_or(&[]);
        if rest.len() > MAX_PLAINTEXT + TAG_LEN {
            return Err(Error::decode(
                DecodeErrorKind::TrailingData,
                crate::ec::COMPRESSED_LEN + MAX_PLAINTEXT + TAG_LEN,
            ));
        }
        let th2 = hash::<P>(&[
            crate::handshake::key_schedule::LABEL_PREFIX,
            &self.msg1,
            y_bytes,
        ]);
        let prk = extract::<P>(&th2, &self.ephemeral.agree(&y)?)?;
        let k2 = AeadKey::<P>::derive(&prk, b"k2", &th2);
        let received = Received::open(&k2, &th2, rest, crate::ec::COMPRESSED_LEN)?;
        Ok(ResponseParsed {
            base: self.base,
            prk,
            th2,
            received,
        })
    }
}

/// Message 2 decrypted; the responder's certificate is not verified yet.
pub struct ResponseParsed<'c, P: CryptoProvider = RustCrypto> {
    base: Initiator<'c, P>,
    prk: SecretBytes<32>,
    th2: [u8; 32],
    received: Received,
}

impl<'c, P: CryptoProvider> ResponseParsed<'c, P> {
    /// How the responder presented its certificate.
    #[must_use]
    pub const fn peer_credential(&self) -> PeerCredential {
        self.received.credential
    }

    /// The responder's certificate if it was sent by value.
    #[must_use]
    pub fn peer_certificate(&self) -> Option<[u8; COMPACT_LEN]> {
        self.received.peer_certificate()
    }

    /// Verifies the responder: `peer` must be the certificate its credential designates
    /// (the one it sent, or the one its kid resolves to), must pass `policy`, must not be
    /// this device's own, and must have signed this handshake's transcript.
    ///
    /// # Errors
    /// `Handshake(CredentialMismatch | Reflection | Revoked)`, certificate chain errors,
    /// [`Error::Crypto`] for a bad signature.
    pub fn verify_message_2(
        self,
        peer: &CompactCert<'_>,
        policy: &PeerPolicy<'_>,
    ) -> Result<ResponseVerified<'c, P>> {
        let verified = self.received.verify::<P>(
            peer,
            &self.base.cert,
            policy,
            RESPONDER_SIGNATURE,
            &self.th2,
        )?;
        let th3 = next_th::<P>(&self.th2, self.received.bytes(), peer);
        Ok(ResponseVerified {
            base: self.base,
            prk: self.prk,
            th3,
            peer: verified,
        })
    }
}

/// The responder is authenticated; message 3 can be sent.
pub struct ResponseVerified<'c, P: CryptoProvider = RustCrypto> {
    base: Initiator<'c, P>,
    prk: SecretBytes<32>,
    th3: [u8; 32],
    peer: VerifiedDevice,
}

impl<P: CryptoProvider> ResponseVerified<'_, P> {
    /// The authenticated responder.
    #[must_use]
    pub const fn peer(&self) -> &VerifiedDevice {
        &self.peer
    }

    /// Signs the transcript with the identity key in `store`, writes message 3 into `out`
    /// and returns the established session.
    ///
    /// # Errors
    /// Store errors from signing; [`Error::BufferTooSmall`].
    pub fn finish<S: IdentityKeys + ?Sized>(
        self,
        store: &mut S,
        out: &mut [u8],
    ) -> Result<(Session<P>, usize)> {
        let b = self.base;
        let needed = b.mode.msg3_len();
        let dst = out
            .get_mut(..needed)
            .ok_or(Error::buffer_too_small(needed))?;
        let th4 = send_credential::<P, S>(
            store,
            b.identity,
            &b.cert,
            b.mode,
            INITIATOR_SIGNATURE,
            &self.th3,
            &self.prk,
            b"k3",
            dst,
        )?;
        let session = Session::new(Role::Initiator, &self.prk, &th4);
        Ok((session, needed))
    }
}

macro_rules! redacted_debug {
    ($($t:ident),*) => {$(
        impl<P: crate::provider::CryptoProvider> core::fmt::Debug for $t<'_, P> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    )*};
}
pub(crate) use redacted_debug;

redacted_debug!(AwaitingResponse, ResponseParsed, ResponseVerified);
