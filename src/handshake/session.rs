//! The AES-128-GCM record layer that a completed handshake yields.
//!
//! Record layout: `sequence number (8, big-endian) || ciphertext || tag (16)`. The
//! nonce is the direction's IV XOR the sequence number, so the number is authenticated
//! without being repeated in the associated data (as in TLS 1.3); the caller's
//! associated data is authenticated too. Each direction
//! has its own key and counter. Counters are never reused: a session refuses to seal
//! after [`MAX_RECORDS`] records under one key. Received records pass a 64-record
//! sliding replay window (records may arrive out of order, never twice).

use crate::error::{DecodeErrorKind, Error, HandshakeError, Result};
use crate::handshake::key_schedule::{AeadKey, TAG_LEN, expand};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::SecretBytes;
use core::fmt;

/// Bytes a record adds to its plaintext.
pub const RECORD_OVERHEAD: usize = 8 + TAG_LEN;
/// Records sealed under one key before the session refuses to send (rekey to go on).
pub const MAX_RECORDS: u64 = 1 << 32;
const WINDOW: u64 = 64;

/// Which side of the handshake a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sent message 1.
    Initiator,
    /// Answered message 1.
    Responder,
}

struct Direction<P> {
    secret: SecretBytes<32>,
    key: AeadKey<P>,
    seq: u64,
}

impl<P: CryptoProvider> Direction<P> {
    fn new(secret: SecretBytes<32>) -> Self {
        let key = AeadKey::<P>::derive(&secret, b"traffic", &[]);
        Self {
            secret,
            key,
            seq: 0,
        }
    }

    fn update(&mut self) {
        *self = Self::new(expand::<P, 32>(&self.secret, b"key update", &[]));
    }
}

/// An established session: seal and open records, export keys, rekey.
///
/// The responder's session is confirmed when the handshake ends (message 3 proved the
/// initiator holds the keys). The initiator's is confirmed by the first record it opens
/// from the responder ([`is_confirmed`](Self::is_confirmed)); until then it knows the
/// responder derived the handshake keys but not that it accepted message 3.
///
/// Records and exports run on the provider `P` of the handshake that made it.
pub struct Session<P: CryptoProvider = RustCrypto> {
    role: Role,
    send: Direction<P>,
    recv: Direction<P>,
    highest: Option<u64>,
    window: u64,
    exporter: SecretBytes<32>,
    confirmed: bool,
}

impl<P: CryptoProvider> Session<P> {
    pub(crate) fn new(role: Role, prk: &SecretBytes<32>, th4: &[u8; 32]) -> Self {
        let master = expand::<P, 32>(prk, b"master", th4);
        let i2r = Direction::new(expand::<P, 32>(&master, b"i2r", &[]));
        let r2i = Direction::new(expand::<P, 32>(&master, b"r2i", &[]));
        let (send, recv) = match role {
            Role::Initiator => (i2r, r2i),
            Role::Responder => (r2i, i2r),
        };
        Self {
            role,
            send,
            recv,
            highest: None,
            window: 0,
            exporter: expand::<P, 32>(&master, b"exporter", &[]),
            confirmed: role == Role::Responder,
        }
    }

    /// This side's role.
    #[must_use]
    pub const fn role(&self) -> Role {
        self.role
    }

    /// Whether the peer has proved it completed the handshake.
    #[must_use]
    pub const fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// Records this side may still seal under the current key.
    #[must_use]
    pub const fn records_left(&self) -> u64 {
        MAX_RECORDS - self.send.seq
    }

    /// Seals `plaintext` with associated data `aad` into `out`; returns the record length
    /// (`plaintext.len() + RECORD_OVERHEAD`).
    ///
    /// # Errors
    /// `Handshake(SessionExhausted)` after [`MAX_RECORDS`] records (nothing is written);
    /// [`Error::BufferTooSmall`].
    pub fn seal(&mut self, plaintext: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize> {
        if self.send.seq >= MAX_RECORDS {
            return Err(HandshakeError::SessionExhausted.into());
        }
        let needed = plaintext.len() + RECORD_OVERHEAD;
        let out = out
            .get_mut(..needed)
            .ok_or(Error::buffer_too_small(needed))?;
        let seq = self.send.seq;
        let (header, rest) = out.split_at_mut(8);
        let (body, tag) = rest.split_at_mut(plaintext.len());
        header.copy_from_slice(&seq.to_be_bytes());
        body.copy_from_slice(plaintext);
        let t = self.send.key.seal(seq, aad, body)?;
        // The counter moves before the record leaves: a nonce is never used twice.
        self.send.seq = seq + 1;
        tag.copy_from_slice(&t);
        Ok(needed)
    }

    /// Opens a record into `out`; returns the plaintext length. Nothing is written to
    /// `out` unless the record authenticates.
    ///
    /// # Errors
    /// `Decode(Truncated)` for a record shorter than [`RECORD_OVERHEAD`];
    /// `Handshake(Replay)` for a sequence number already seen or older than the window;
    /// [`Error::Crypto`] if it does not authenticate; [`Error::BufferTooSmall`].
    pub fn open(&mut self, record: &[u8], aad: &[u8], out: &mut [u8]) -> Result<usize> {
        if record.len() < RECORD_OVERHEAD {
            return Err(Error::decode(DecodeErrorKind::Truncated, record.len()));
        }
        let (header, rest) = record.split_at(8);
        let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(header);
        let seq = u64::from_be_bytes(seq_bytes);
        self.check_replay(seq)?;
        let dst = out
            .get_mut(..body.len())
            .ok_or(Error::buffer_too_small(body.len()))?;
        dst.copy_from_slice(body);
        self.recv.key.open(seq, aad, dst, tag)?;
        self.mark_seen(seq);
        self.confirmed = true;
        Ok(body.len())
    }

    fn check_replay(&self, seq: u64) -> Result<()> {
        match self.highest {
            Some(h) if seq > h => Ok(()),
            Some(h) if h - seq >= WINDOW || self.window & (1 << (h - seq)) != 0 => {
                Err(HandshakeError::Replay.into())
            }
            _ => Ok(()),
        }
    }

    fn mark_seen(&mut self, seq: u64) {
        match self.highest {
            Some(h) if seq > h => {
                let shift = seq - h;
                self.window = if shift >= WINDOW {
                    0
                } else {
                    self.window << shift
                };
                self.window |= 1;
                self.highest = Some(seq);
            }
            Some(h) => self.window |= 1 << (h - seq),
            None => {
                self.window = 1;
                self.highest = Some(seq);
            }
        }
    }

    /// Moves both directions to fresh keys derived one-way from the current ones (old
    /// records can no longer be opened; counters restart). Both peers must rekey at the
    /// same point of their record streams.
    ///
    /// # Errors
    /// None today (the derivation cannot fail); the `Result` keeps room for a key schedule
    /// that runs in a secure element.
    pub fn rekey(&mut self) -> Result<()> {
        self.send.update();
        self.recv.update();
        self.highest = None;
        self.window = 0;
        Ok(())
    }

    /// Derives application key material bound to this session, the same on both sides:
    /// HKDF-Expand(exporter secret, label length || label || context).
    ///
    /// Only from a confirmed session ([`is_confirmed`](Self::is_confirmed)): at once on
    /// the responder, on the initiator after the first record from the responder opens.
    /// Before that the initiator does not know that the responder accepted message 3 (it
    /// may have refused the initiator's certificate under its own policy, or never
    /// received the message), and exported values are typically kept or handed on as the
    /// pairing's result (a stored pairing key, a channel binding) where nothing would
    /// later reveal that the peer never agreed. A record sealed early is different: only
    /// a responder that completed the handshake can open it, and its loss is visible.
    ///
    /// # Errors
    /// `Handshake(NotConfirmed)` before confirmation (nothing is written);
    /// `Decode(InvalidLength)` for a label over 255 bytes or more than 8160 bytes out.
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<()> {
        if !self.confirmed {
            return Err(HandshakeError::NotConfirmed.into());
        }
        let label_len = u8::try_from(label.len())
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, label.len()))?;
        P::hkdf_expand(
            self.exporter.expose(),
            &[
                crate::handshake::key_schedule::LABEL_PREFIX,
                b"export ",
                &[label_len],
                label,
                context,
            ],
            out,
        )
    }
}

impl<P: CryptoProvider> fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("sent", &self.send.seq)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}
