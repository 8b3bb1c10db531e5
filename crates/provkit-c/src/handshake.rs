//! The signed ECDH handshake (SIGMA-I over P-256) as initiator or responder, and the
//! session it yields.
//!
//! A handshake lives in a caller's `provkit_handshake` from the first message to the last;
//! the session it yields goes to a `provkit_session`. The initiator calls
//! [`provkit_initiator_start`] (message 1 out) then [`provkit_initiator_finish`] (message 2
//! in, message 3 out); the responder [`provkit_responder_respond`] (message 1 in, message
//! 2 out) then [`provkit_responder_finish`] (message 3 in).

use crate::Provider;
use crate::boundary::Failure;
use crate::boundary::{Ffi, apart, array, bytes, bytes_mut, get, get_mut, guard, needed};
use crate::cert::{ca, provkit_device_info};
use crate::provkit_status;
use crate::rng::{CallbackRng, provkit_rng};
use crate::state::{Handle, OpaqueState, slot};
use crate::store::{Device, device_store, provkit_store};
use core::ptr::{addr_of, addr_of_mut};
use provkit::cert::{COMPACT_LEN, CaCert, CompactCert, VerifiedDevice};
use provkit::handshake::{
    AwaitingFinish, AwaitingResponse, CredentialMode, Initiator, MAX_MSG2_LEN, MAX_MSG3_LEN,
    MSG1_LEN, PeerCredential, PeerPolicy, RECORD_OVERHEAD, Responder, Session,
};
use provkit::store::KeyId;

/// Bytes of a `provkit_handshake`.
pub const PROVKIT_HANDSHAKE_SIZE: usize = 384;
/// Bytes of a `provkit_session`.
pub const PROVKIT_SESSION_SIZE: usize = 256;
/// Bytes of message 1.
pub const PROVKIT_MSG1_LEN: usize = 34;
/// The longest message 2 (certificate by value).
pub const PROVKIT_MAX_MSG2_LEN: usize = 225;
/// The longest message 3 (certificate by value).
pub const PROVKIT_MAX_MSG3_LEN: usize = 192;
/// What a record adds to its plaintext (sequence number and tag).
pub const PROVKIT_RECORD_OVERHEAD: usize = 24;
// The header states numbers (cbindgen cannot evaluate provkit's constants): kept equal.
const _: () = assert!(
    PROVKIT_MSG1_LEN == MSG1_LEN
        && PROVKIT_MAX_MSG2_LEN == MAX_MSG2_LEN
        && PROVKIT_MAX_MSG3_LEN == MAX_MSG3_LEN
        && PROVKIT_RECORD_OVERHEAD == RECORD_OVERHEAD
);

/// The device sends its whole certificate.
pub const PROVKIT_CREDENTIAL_BY_VALUE: u32 = 0;
/// The device sends a one-byte reference; the peer already knows its certificate (pinned).
pub const PROVKIT_CREDENTIAL_BY_REFERENCE: u32 = 1;

/// A handshake in progress. Zero-initialize it (`provkit_handshake hs = {0};`); do not
/// copy or move it between calls (it refers to itself: a moved one is refused with
/// `PROVKIT_ERR_STATE_MOVED`). A finishing call, a failure, or
/// [`provkit_handshake_reset`] leaves it empty and wiped, ready for a new handshake.
#[repr(C, align(16))]
pub struct provkit_handshake {
    opaque: [u8; PROVKIT_HANDSHAKE_SIZE],
}

/// An established session: records both ways, rekeying, exporters. Zero-initialize it or
/// let a finishing handshake call fill it; wipe it with [`provkit_session_reset`]. It may
/// be moved or copied while not in use, but a copy would reuse nonces: never use two.
#[repr(C, align(16))]
pub struct provkit_session {
    opaque: [u8; PROVKIT_SESSION_SIZE],
}

/// Which peers a device accepts: certificates chaining to `root`, directly or through
/// `intermediate`, valid at `now`, whose serial is not in `revoked`. The pointed-to bytes
/// need only be valid during the call that takes the policy. `root` is the trust anchor,
/// provisioned with the firmware: it must be a CA certificate, but its own signature and
/// validity are not checked (an intermediate's are, under the root).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_peer_policy {
    /// The root, a compact CA certificate.
    pub root: *const u8,
    /// Its length.
    pub root_len: usize,
    /// The intermediate CA that issues device certificates (compact), or NULL.
    pub intermediate: *const u8,
    /// Its length (0 without one).
    pub intermediate_len: usize,
    /// The current time, seconds since 1970 (UTC).
    pub now: u64,
    /// Revoked device serials, or NULL.
    pub revoked: *const u64,
    /// How many.
    pub revoked_len: usize,
}

impl core::fmt::Debug for provkit_handshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("provkit_handshake")
    }
}

impl core::fmt::Debug for provkit_session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("provkit_session")
    }
}

/// The handshake's own certificate (the state's copy, which the phase refers to) and where
/// it stands.
pub(crate) struct HandshakeInner {
    cert: [u8; COMPACT_LEN],
    /// How this side presents its certificate: the length of its last message.
    mode: CredentialMode,
    phase: Phase,
}

enum Phase {
    Initiator(AwaitingResponse<'static, Provider>),
    Responder(AwaitingFinish<'static, Provider>),
}

impl OpaqueState for provkit_handshake {
    type Inner = HandshakeInner;
    const TAG: u32 = 0x7068_7331; // "phs1"
    const PINNED: bool = true;
}

impl OpaqueState for provkit_session {
    type Inner = Session<Provider>;
    const TAG: u32 = 0x7073_6531; // "pse1"
}

/// The session in `session`.
///
/// # Safety
/// As [`slot`].
unsafe fn session_mut<'a>(session: *mut provkit_session) -> Ffi<&'a mut Session<Provider>> {
    // SAFETY: the caller's contract.
    unsafe { slot(session) }?.into_mut()
}

fn credential_mode(mode: u32) -> Ffi<CredentialMode> {
    match mode {
        PROVKIT_CREDENTIAL_BY_VALUE => Ok(CredentialMode::ByValue),
        PROVKIT_CREDENTIAL_BY_REFERENCE => Ok(CredentialMode::ByReference),
        _ => Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT),
    }
}

/// A certificate the caller may leave out (NULL, length 0).
///
/// # Safety
/// As [`array`].
unsafe fn optional_cert<'a>(p: *const u8, len: usize) -> Ffi<Option<&'a [u8; COMPACT_LEN]>> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    unsafe { array::<COMPACT_LEN>(p, len) }.map(Some)
}

/// Sets up `hs` for a new handshake: drops what it held, copies the caller's certificate
/// into it and parses the copy, which the phase built next refers to. Then [`settle`].
///
/// # Safety
/// `hs` as [`slot`]; `cert` is `cert_len` readable bytes.
#[inline(never)]
unsafe fn prepare<'a>(
    hs: *mut provkit_handshake,
    cert: *const u8,
    cert_len: usize,
    mode: CredentialMode,
) -> Ffi<(Handle<'a, provkit_handshake>, CompactCert<'static>)> {
    // SAFETY: the caller's contract.
    let cert = *unsafe { array::<COMPACT_LEN>(cert, cert_len) }?;
    // SAFETY: the caller's contract.
    let mut state = unsafe { slot(hs) }?;
    let place = state.place();
    // SAFETY: `place` is valid for writes of a `HandshakeInner` (FITS).
    unsafe {
        addr_of_mut!((*place).cert).write(cert);
        addr_of_mut!((*place).mode).write(mode);
    }
    // SAFETY: the copy lives in the state until the state is cleared, which drops the phase
    // (the only holder of this reference) first; a moved state is refused before the
    // phase is used.
    let own: &'static [u8; COMPACT_LEN] = unsafe { &*addr_of!((*place).cert) };
    match CompactCert::parse(own) {
        Ok(own) => Ok((state, own)),
        Err(e) => {
            state.wipe();
            Err(e.into())
        }
    }
}

/// Where the phase goes in a state [`prepare`] set up: a step that succeeds writes it
/// there (no move through its result), then [`settle`] marks the state as holding it.
fn phase_place(state: &mut Handle<'_, provkit_handshake>) -> *mut Phase {
    let place = state.place_kept();
    // SAFETY: in bounds of the state (FITS); nothing is read.
    unsafe { addr_of_mut!((*place).phase) }
}

/// Completes what [`prepare`] began: marks the state as holding the phase the step wrote
/// at [`phase_place`], or wipes it when the step failed (it wrote nothing then).
fn settle(mut state: Handle<'_, provkit_handshake>, step: Ffi) -> Ffi {
    match step {
        // SAFETY: with the certificate `prepare` wrote and the phase the step wrote, the
        // value is complete.
        Ok(()) => unsafe { state.commit() },
        Err(_) => state.wipe(),
    }
    step
}

/// Reads the phase out of a handshake state for its finishing call, which consumes it:
/// the state is marked empty first (nothing drops the phase twice, even if the call
/// unwinds on a host), its bytes (the certificate the phase refers to) stay until the
/// caller wipes them, whatever the outcome (a handshake is never resumed after a failure).
///
/// # Safety
/// `phase` is the phase in `state`'s value.
unsafe fn take<T>(state: &mut Handle<'_, provkit_handshake>, phase: *const T) -> T {
    // SAFETY: the caller's contract; read once, the state is marked empty right after.
    let phase = unsafe { core::ptr::read(phase) };
    state.release();
    phase
}

/// A `provkit_peer_policy`, its certificates parsed.
struct Policy<'a> {
    root: CaCert<'a>,
    intermediate: Option<CaCert<'a>>,
    revoked: &'a [u64],
    now: u64,
}

impl Policy<'_> {
    fn peer_policy(&self) -> PeerPolicy<'_> {
        let policy = PeerPolicy::new(&self.root, self.now).with_revoked(self.revoked);
        match &self.intermediate {
            Some(intermediate) => policy.with_intermediate(intermediate),
            None => policy,
        }
    }
}

/// Parses the policy at `policy`. Inlined into each finishing call: under link-time
/// optimisation across C and Rust, a caller's policy without an intermediate or a
/// revocation list then links no code for them, and the certificates are parsed in place
/// (with gcc, the two copies cost 0.1 KiB more than one shared call).
///
/// # Safety
/// `policy` is NULL or a valid `provkit_peer_policy` whose pointers hold their lengths.
#[inline(always)]
unsafe fn parse_policy<'a>(policy: *const provkit_peer_policy) -> Ffi<Policy<'a>> {
    // SAFETY: the caller's contract.
    let p = unsafe { get(policy) }?;
    let revoked: &[u64] = if p.revoked_len == 0 {
        &[]
    } else if p.revoked.is_null() {
        return Err(Failure::PROVKIT_ERR_NULL_POINTER);
    } else if !p.revoked.is_aligned() || p.revoked_len > isize::MAX as usize / 8 {
        return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
    } else {
        // SAFETY: non-NULL, aligned, `revoked_len` readable u64s (the caller's contract).
        unsafe { core::slice::from_raw_parts(p.revoked, p.revoked_len) }
    };
    Ok(Policy {
        // SAFETY: the caller's contract.
        root: unsafe { ca(p.root, p.root_len) }?,
        intermediate: match p.intermediate_len {
            0 => None,
            // SAFETY: the caller's contract.
            _ => Some(unsafe { ca(p.intermediate, p.intermediate_len) }?),
        },
        revoked,
        now: p.now,
    })
}

/// What a finishing call returns besides its status.
struct Finished<'a, 'b> {
    session: &'a mut Handle<'b, provkit_session>,
    peer: Option<&'a mut provkit_device_info>,
}

impl Finished<'_, '_> {
    fn deliver(self, session: Session<Provider>, peer: &VerifiedDevice) {
        self.session.put(session);
        if let Some(p) = self.peer {
            *p = peer.into();
        }
    }
}

/// The initiator's part of message 2 and 3, once the arguments are checked and the phase
/// is read out of the state.
#[allow(clippy::too_many_arguments)]
fn finish_initiator(
    hs: AwaitingResponse<'static, Provider>,
    store: &mut Device<'_>,
    policy: &Policy<'_>,
    known: Option<&[u8; COMPACT_LEN]>,
    msg2: &[u8],
    out: &mut [u8],
    len_out: &mut usize,
    finished: Finished<'_, '_>,
) -> Ffi {
    let parsed = hs.parse_message_2(msg2)?;
    let peer = match (parsed.peer_credential(), known) {
        (PeerCredential::ByValue(c), _) => c,
        (PeerCredential::ByReference(_), Some(known)) => *known,
        (PeerCredential::ByReference(_), None) => {
            return Err(Failure::PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED);
        }
    };
    let verified = parsed.verify_message_2(&CompactCert::parse(&peer)?, &policy.peer_policy())?;
    let device = *verified.peer();
    let (session, n) = verified
        .finish(store, out)
        .map_err(|e| needed(e, len_out))?;
    *len_out = n;
    finished.deliver(session, &device);
    Ok(())
}

/// The responder's part of message 3, as [`finish_initiator`].
fn finish_responder(
    hs: AwaitingFinish<'static, Provider>,
    policy: &Policy<'_>,
    known: Option<&[u8; COMPACT_LEN]>,
    msg3: &[u8],
    finished: Finished<'_, '_>,
) -> Ffi {
    let parsed = hs.parse_message_3(msg3)?;
    let peer = match (parsed.peer_certificate(), known) {
        (Some(c), _) => c,
        (None, Some(known)) => *known,
        (None, None) => return Err(Failure::PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED),
    };
    let (session, device) =
        parsed.verify_message_3(&CompactCert::parse(&peer)?, &policy.peer_policy())?;
    finished.deliver(session, &device);
    Ok(())
}

/// Initiator, message 1: starts a handshake in `hs` (anything it held is dropped) for the
/// identity key `identity` certified by `cert` (111 bytes, copied), presented as `mode`
/// (`PROVKIT_CREDENTIAL_BY_VALUE` or `_BY_REFERENCE`). Writes message 1 (`PROVKIT_MSG1_LEN`
/// bytes) to `msg1_out` and its length to `*msg1_len`.
///
/// # Safety
/// `hs` is NULL or a `provkit_handshake` (zero-initialized or left by provkit); every other
/// pointer is NULL or valid for its length; `msg1_out` does not overlap `cert`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_initiator_start(
    hs: *mut provkit_handshake,
    identity: u32,
    cert: *const u8,
    cert_len: usize,
    mode: u32,
    rng: *const provkit_rng,
    msg1_out: *mut u8,
    msg1_cap: usize,
    msg1_len: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(msg1_len) }?;
        *len_out = 0;
        apart(cert, cert_len, msg1_out, msg1_cap)?;
        let mode = credential_mode(mode)?;
        // SAFETY: the caller's contract.
        let mut rng = unsafe { CallbackRng::new(rng) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { bytes_mut(msg1_out, msg1_cap) }?;
        // SAFETY: the caller's contract.
        let (mut state, own) = unsafe { prepare(hs, cert, cert_len, mode) }?;
        let place = phase_place(&mut state);
        let step = (|| {
            let (hs, n) = Initiator::<Provider>::with_provider(KeyId(identity), own, mode)
                .start(&mut rng, out)
                .map_err(|e| needed(e, len_out))?;
            if let Err(failed) = rng.check() {
                out.fill(0);
                return Err(failed);
            }
            *len_out = n;
            // SAFETY: `place` is valid for writes (`phase_place`).
            unsafe { place.write(Phase::Initiator(hs)) };
            Ok(())
        })();
        settle(state, step)
    })
}

/// Responder, message 2: answers `msg1` for the identity key `identity` in `store`,
/// certified by `cert` (copied), presented as `mode`. Starts the handshake in `hs`
/// (anything it held is dropped) and writes message 2 (at most `PROVKIT_MAX_MSG2_LEN`
/// bytes) to `msg2_out`, its length to `*msg2_len`.
///
/// # Safety
/// As [`provkit_initiator_start`]; `store` is NULL or a set-up `provkit_store`; `msg2_out`
/// overlaps neither `cert` nor `msg1`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_responder_respond(
    hs: *mut provkit_handshake,
    store: *mut provkit_store,
    identity: u32,
    cert: *const u8,
    cert_len: usize,
    mode: u32,
    rng: *const provkit_rng,
    msg1: *const u8,
    msg1_len: usize,
    msg2_out: *mut u8,
    msg2_cap: usize,
    msg2_len: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(msg2_len) }?;
        *len_out = 0;
        apart(cert, cert_len, msg2_out, msg2_cap)?;
        apart(msg1, msg1_len, msg2_out, msg2_cap)?;
        let mode = credential_mode(mode)?;
        // SAFETY: the caller's contract.
        let mut rng = unsafe { CallbackRng::new(rng) }?;
        // SAFETY: the caller's contract.
        let msg1 = unsafe { bytes(msg1, msg1_len) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { bytes_mut(msg2_out, msg2_cap) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        // SAFETY: the caller's contract.
        let (mut state, own) = unsafe { prepare(hs, cert, cert_len, mode) }?;
        let place = phase_place(&mut state);
        let step = (|| {
            let responder = Responder::<Provider>::with_provider(KeyId(identity), own, mode);
            let (hs, n) = responder
                .respond(&mut store, &mut rng, msg1, out)
                .map_err(|e| needed(e, len_out))?;
            if let Err(failed) = rng.check() {
                out.fill(0);
                return Err(failed);
            }
            *len_out = n;
            // SAFETY: `place` is valid for writes (`phase_place`).
            unsafe { place.write(Phase::Responder(hs)) };
            Ok(())
        })();
        settle(state, step)
    })
}

/// Initiator, message 2 in and message 3 out: checks the responder's certificate under
/// `policy` and its signature, signs with the identity key in `store`, writes message 3
/// (at most `PROVKIT_MAX_MSG3_LEN` bytes) to `msg3_out` and its length to `*msg3_len`, and
/// puts the session in `session_out` (anything it held is dropped). `known_peer` (111
/// bytes, or NULL with 0) is the responder's certificate when it presents it by reference.
/// `peer_out`, unless NULL, receives the verified responder. Argument errors leave the
/// handshake as it was (a NULL, a wrong length, a malformed policy, a `msg3_out` shorter
/// than this side's message 3, whose length goes to `*msg3_len`); once message 2 is
/// processed, the handshake state is empty afterwards, whatever the outcome.
///
/// # Safety
/// As [`provkit_responder_respond`]; `policy` is NULL or a valid `provkit_peer_policy`;
/// `session_out` is NULL or a `provkit_session`; `peer_out` is NULL or writable;
/// `msg3_out` overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_initiator_finish(
    hs: *mut provkit_handshake,
    store: *mut provkit_store,
    policy: *const provkit_peer_policy,
    known_peer: *const u8,
    known_peer_len: usize,
    msg2: *const u8,
    msg2_len: usize,
    msg3_out: *mut u8,
    msg3_cap: usize,
    msg3_len: *mut usize,
    session_out: *mut provkit_session,
    peer_out: *mut provkit_device_info,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(msg3_len) }?;
        *len_out = 0;
        apart(msg2, msg2_len, msg3_out, msg3_cap)?;
        apart(known_peer, known_peer_len, msg3_out, msg3_cap)?;
        // SAFETY: the caller's contract, for each.
        let (known, msg2, out, mut session, peer, mut store, policy) = unsafe {
            (
                optional_cert(known_peer, known_peer_len)?,
                bytes(msg2, msg2_len)?,
                bytes_mut(msg3_out, msg3_cap)?,
                slot(session_out)?,
                peer_out.as_mut(),
                device_store(store)?,
                parse_policy(policy)?,
            )
        };
        // SAFETY: the caller's contract.
        let mut state = unsafe { slot(hs) }?;
        let inner = state.get()?;
        // A message 3 that cannot fit is refused before the handshake is consumed: the
        // caller may retry with a larger buffer.
        let needed = inner.mode.msg3_len();
        if msg3_cap < needed {
            *len_out = needed;
            return Err(Failure::PROVKIT_ERR_BUFFER_TOO_SMALL);
        }
        // A call for the other role leaves the state as it is.
        let Phase::Initiator(phase) = &inner.phase else {
            return Err(Failure::PROVKIT_ERR_WRONG_STATE);
        };
        let phase: *const AwaitingResponse<'static, Provider> = phase;
        // SAFETY: the phase in `state`.
        let hs = unsafe { take(&mut state, phase) };
        let finished = Finished {
            session: &mut session,
            peer,
        };
        let result = finish_initiator(hs, &mut store, &policy, known, msg2, out, len_out, finished);
        state.wipe();
        result
    })
}

/// Responder, message 3 in: checks the initiator's certificate under `policy` and its
/// signature, and puts the session in `session_out`. `known_peer` and `peer_out` as in
/// [`provkit_initiator_finish`]. Argument errors leave the handshake as it was; once
/// message 3 is processed, the handshake state is empty afterwards, whatever the outcome.
///
/// # Safety
/// As [`provkit_initiator_finish`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_responder_finish(
    hs: *mut provkit_handshake,
    policy: *const provkit_peer_policy,
    known_peer: *const u8,
    known_peer_len: usize,
    msg3: *const u8,
    msg3_len: usize,
    session_out: *mut provkit_session,
    peer_out: *mut provkit_device_info,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract, for each.
        let (known, msg3, mut session, peer, policy) = unsafe {
            (
                optional_cert(known_peer, known_peer_len)?,
                bytes(msg3, msg3_len)?,
                slot(session_out)?,
                peer_out.as_mut(),
                parse_policy(policy)?,
            )
        };
        // SAFETY: the caller's contract.
        let mut state = unsafe { slot(hs) }?;
        // A call for the other role leaves the state as it is.
        let Phase::Responder(phase) = &state.get()?.phase else {
            return Err(Failure::PROVKIT_ERR_WRONG_STATE);
        };
        let phase: *const AwaitingFinish<'static, Provider> = phase;
        // SAFETY: the phase in `state`.
        let hs = unsafe { take(&mut state, phase) };
        let finished = Finished {
            session: &mut session,
            peer,
        };
        let result = finish_responder(hs, &policy, known, msg3, finished);
        state.wipe();
        result
    })
}

/// Drops the handshake in `hs`, if any, and wipes it. NULL is a no-op.
///
/// # Safety
/// `hs` is NULL or a `provkit_handshake`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_handshake_reset(hs: *mut provkit_handshake) {
    let _ = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { slot(hs) }?.clear();
        Ok(())
    });
}

/// Seals `plaintext` (with `aad` authenticated, not sent) into a record of
/// `plaintext_len + PROVKIT_RECORD_OVERHEAD` bytes at `record_out`; its length goes to
/// `*record_len`.
///
/// # Safety
/// `session` is NULL or a `provkit_session`; the buffers are valid for their lengths;
/// `record_out` overlaps neither input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_session_seal(
    session: *mut provkit_session,
    plaintext: *const u8,
    plaintext_len: usize,
    aad: *const u8,
    aad_len: usize,
    record_out: *mut u8,
    record_cap: usize,
    record_len: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(record_len) }?;
        *len_out = 0;
        apart(plaintext, plaintext_len, record_out, record_cap)?;
        apart(aad, aad_len, record_out, record_cap)?;
        // SAFETY: the caller's contract.
        let (plaintext, aad, out) = unsafe {
            (
                bytes(plaintext, plaintext_len)?,
                bytes(aad, aad_len)?,
                bytes_mut(record_out, record_cap)?,
            )
        };
        // SAFETY: the caller's contract.
        let s = unsafe { session_mut(session) }?;
        *len_out = s
            .seal(plaintext, aad, out)
            .map_err(|e| needed(e, len_out))?;
        Ok(())
    })
}

/// Opens `record` (with the same `aad`) into `plaintext_out`; its length goes to
/// `*plaintext_len`. A forged, replayed or reordered record is refused
/// (`PROVKIT_ERR_CRYPTO`, `PROVKIT_ERR_HANDSHAKE_REPLAY`): no plaintext is released (the
/// output buffer is zeroed) and the session stays usable.
///
/// # Safety
/// As [`provkit_session_seal`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_session_open(
    session: *mut provkit_session,
    record: *const u8,
    record_len: usize,
    aad: *const u8,
    aad_len: usize,
    plaintext_out: *mut u8,
    plaintext_cap: usize,
    plaintext_len: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(plaintext_len) }?;
        *len_out = 0;
        apart(record, record_len, plaintext_out, plaintext_cap)?;
        apart(aad, aad_len, plaintext_out, plaintext_cap)?;
        // SAFETY: the caller's contract.
        let (record, aad, out) = unsafe {
            (
                bytes(record, record_len)?,
                bytes(aad, aad_len)?,
                bytes_mut(plaintext_out, plaintext_cap)?,
            )
        };
        // SAFETY: the caller's contract.
        let s = unsafe { session_mut(session) }?;
        *len_out = s.open(record, aad, out).map_err(|e| needed(e, len_out))?;
        Ok(())
    })
}

/// Replaces both directions' keys with keys derived from them (the old ones are wiped);
/// both sides must rekey at the same point of the record stream.
///
/// # Safety
/// `session` is NULL or a `provkit_session`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_session_rekey(session: *mut provkit_session) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        unsafe { session_mut(session) }?.rekey()?;
        Ok(())
    })
}

/// Derives `out_len` bytes from the session for `label` and `context` (an exporter: the
/// same on both sides, different for every label).
///
/// # Safety
/// `session` is NULL or a `provkit_session`; the buffers are valid for their lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_session_export(
    session: *mut provkit_session,
    label: *const u8,
    label_len: usize,
    context: *const u8,
    context_len: usize,
    out: *mut u8,
    out_len: usize,
) -> provkit_status {
    guard(|| {
        apart(label, label_len, out, out_len)?;
        apart(context, context_len, out, out_len)?;
        // SAFETY: the caller's contract.
        let (label, context, out) = unsafe {
            (
                bytes(label, label_len)?,
                bytes(context, context_len)?,
                bytes_mut(out, out_len)?,
            )
        };
        // SAFETY: the caller's contract.
        unsafe { session_mut(session) }?.export(label, context, out)?;
        Ok(())
    })
}

/// Drops the session in `session`, if any, and wipes its keys. NULL is a no-op.
///
/// # Safety
/// `session` is NULL or a `provkit_session`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_session_reset(session: *mut provkit_session) {
    let _ = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { slot(session) }?.clear();
        Ok(())
    });
}
