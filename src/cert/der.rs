//! The small subset of DER this crate writes and reads, with no heap.
//!
//! Writing goes through a [`Der`] writer into a [`Sink`]: a byte counter, a caller buffer
//! or a SHA-256 state, so the same template code measures a certificate, writes it, or
//! hashes it as a stream (how a device verifies without ever holding the DER). A
//! template is plain straight-line code ([`Template`]) that [`emit`] runs twice: once to
//! measure every constructed element, once to write with those lengths.
//!
//! Reading is zero-copy over a borrowed slice; every error carries the absolute offset.

use crate::error::{DecodeErrorKind, Error, Result};

/// Universal and context tags used by X.509.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    pub(crate) const CONTEXT_0: u8 = 0xa0;
    pub(crate) const CONTEXT_3: u8 = 0xa3;
    pub(crate) const IMPLICIT_0: u8 = 0x80;
}

/// Where DER output goes.
pub(crate) trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

/// Counts bytes without storing them.
pub(crate) struct Counter(pub(crate) usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// Writes into a caller buffer, remembering whether it overflowed.
pub(crate) struct SliceSink<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> SliceSink<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    /// Bytes written, or `BufferTooSmall` if anything did not fit.
    pub(crate) fn finish(self) -> Result<usize> {
        if self.overflow {
            Err(Error::buffer_too_small(self.pos))
        } else {
            Ok(self.pos)
        }
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) if !self.overflow => dst.copy_from_slice(bytes),
            _ => self.overflow = true,
        }
        self.pos = end;
    }
}

/// Compares what is written with `expected`: how an import proves that re-expanding its
/// compact result reproduces the DER byte for byte, without a buffer.
pub(crate) struct Compare<'a> {
    expected: &'a [u8],
    pos: usize,
    first_diff: Option<usize>,
}

impl<'a> Compare<'a> {
    pub(crate) const fn new(expected: &'a [u8]) -> Self {
        Self {
            expected,
            pos: 0,
            first_diff: None,
        }
    }

    /// `Ok` if exactly `expected` was written; otherwise `Decode(OutsideProfile)` at the
    /// first byte that differs (or where the output ended early or ran on).
    pub(crate) fn finish(self) -> Result<()> {
        match self.first_diff {
            None if self.pos == self.expected.len() => Ok(()),
            None => Err(Error::decode(
                DecodeErrorKind::OutsideProfile,
                self.pos.min(self.expected.len()),
            )),
            Some(at) => Err(Error::decode(DecodeErrorKind::OutsideProfile, at)),
        }
    }
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.first_diff.is_none() {
            for (i, b) in bytes.iter().enumerate() {
                if self.expected.get(self.pos + i) != Some(b) {
                    self.first_diff = Some(self.pos + i);
                    break;
                }
            }
        }
        self.pos += bytes.len();
    }
}

impl Sink for sha2::Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        sha2::Digest::update(self, bytes);
    }
}

/// Most constructed elements one template run may open (one bit each in the mask of
/// open elements; a whole root CA certificate built from name parts, the largest, opens
/// 20).
const MAX_ELEMENTS: usize = 32;

/// Something written as DER by straight-line calls on a [`Der`] writer.
pub(crate) trait Template {
    /// Writes the value: every [`Der::open`] matched by a [`Der::close`], and the same
    /// calls on every run.
    fn der(&self, w: &mut Der<'_>);
}

/// The DER writer a [`Template`] runs against.
///
/// A constructed element is written as `open(tag)`, its contents, `close()`. The first
/// run (no sink) only measures: `close` records the element's content length. The second
/// run writes each header with its recorded length, so no closure, buffer or nested
/// re-run is needed for lengths.
pub(crate) struct Der<'s> {
    out: Option<&'s mut dyn Sink>,
    /// Bytes so far (measuring run).
    pos: usize,
    /// Constructed elements opened so far.
    opened: usize,
    /// Content length of each constructed element, in opening order (while measuring,
    /// the start offset of the ones still open).
    lens: [usize; MAX_ELEMENTS],
    /// Bit `k` is set while element `k` is open (measuring run). Elements nest, so the
    /// innermost open one is the highest bit set.
    open: u32,
}

/// Writes `template` into `out` as DER.
pub(crate) fn emit(template: &dyn Template, out: &mut dyn Sink) {
    let mut w = Der {
        out: None,
        pos: 0,
        opened: 0,
        lens: [0; MAX_ELEMENTS],
        open: 0,
    };
    template.der(&mut w);
    // Every template is fixed code: the tests run each with its most elements.
    debug_assert!(
        w.opened <= MAX_ELEMENTS && w.open == 0,
        "template too deep or unbalanced"
    );
    w.out = Some(out);
    w.opened = 0;
    template.der(&mut w);
}

impl Der<'_> {
    /// Appends raw bytes (pre-encoded DER).
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        self.pos += bytes.len();
        if let Some(out) = self.out.as_mut() {
            out.put(bytes);
        }
    }

    /// Writes a tag and a minimal definite length.
    #[allow(clippy::cast_possible_truncation)] // len < 0x80; skip <= 4
    pub(crate) fn header(&mut self, tag: u8, len: usize) {
        if len < 0x80 {
            self.put(&[tag, len as u8]);
        } else {
            // No DER this crate writes comes near 4 GiB.
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            let skip = len.leading_zeros() as usize / 8;
            self.put(&[tag, 0x84 - skip as u8]);
            self.put(len.to_be_bytes().get(skip..).unwrap_or(&[]));
        }
    }

    /// Opens a constructed element; its contents follow, then [`close`](Self::close).
    pub(crate) fn open(&mut self, tag: u8) {
        let k = self.opened;
        self.opened += 1;
        if let Some(slot) = self.lens.get_mut(k) {
            if self.out.is_some() {
                let len = *slot;
                self.header(tag, len);
            } else {
                *slot = self.pos;
                self.open |= 1 << k;
            }
        }
    }

    /// Closes the innermost open element.
    pub(crate) fn close(&mut self) {
        if self.out.is_none() && self.open != 0 {
            let k = 31 - self.open.leading_zeros();
            self.open &= !(1 << k);
            if let Some(slot) = self.lens.get_mut(k as usize) {
                let len = self.pos - *slot;
                *slot = len;
                self.header(0, len);
            }
        }
    }

    /// Closes the `n` innermost open elements.
    pub(crate) fn close_n(&mut self, n: usize) {
        for _ in 0..n {
            self.close();
        }
    }

    /// Writes a primitive value.
    pub(crate) fn prim(&mut self, tag: u8, value: &[u8]) {
        self.header(tag, value.len());
        self.put(value);
    }

    /// Writes an unsigned big-endian number as a minimal positive DER INTEGER (`be` is
    /// not empty: every caller passes a fixed-size serial, pathLen or ECDSA scalar).
    pub(crate) fn uint(&mut self, be: &[u8]) {
        let mut digits = be;
        while let [0, rest @ ..] = digits {
            if rest.is_empty() {
                break;
            }
            digits = rest;
        }
        // A zero byte in front when the top bit is set, so the INTEGER stays positive.
        let pad = usize::from(digits.first().map_or(0, |b| b >> 7));
        self.header(tag::INTEGER, digits.len() + pad);
        self.put([0].get(..pad).unwrap_or(&[]));
        self.put(digits);
    }

    /// Writes the DER `Ecdsa-Sig-Value` SEQUENCE { r INTEGER, s INTEGER } for raw `r || s`.
    pub(crate) fn ecdsa_sig_value(&mut self, sig: &crate::ec::EcdsaSignature) {
        self.open(tag::SEQUENCE);
        self.uint(sig.r());
        self.uint(sig.s());
        self.close();
    }
}

/// A zero-copy DER reader over `bytes`, which start at absolute offset `base`.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            base: 0,
        }
    }

    /// Absolute offset of the next byte.
    pub(crate) const fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) const fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(crate) fn err(&self, kind: DecodeErrorKind) -> Error {
        Error::decode(kind, self.offset())
    }

    /// Tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn byte(&mut self) -> Result<u8> {
        let b = self
            .bytes
            .get(self.pos)
            .copied()
            .ok_or(self.err(DecodeErrorKind::Truncated))?;
        self.pos += 1;
        Ok(b)
    }

    /// Reads one element with tag `expected`; returns a reader over its value and
    /// the whole element's bytes (tag, length and value).
    pub(crate) fn read(&mut self, expected: u8) -> Result<(Reader<'a>, &'a [u8])> {
        let start = self.pos;
        let t = self.byte()?;
        if t != expected {
            self.pos = start;
            return Err(self.err(DecodeErrorKind::UnexpectedTag));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 {
                return Err(self.err(DecodeErrorKind::InvalidLength));
            }
            let mut len = 0usize;
            for i in 0..n {
                let b = self.byte()?;
                if i == 0 && b == 0 {
                    return Err(self.err(DecodeErrorKind::InvalidLength));
                }
                len = (len << 8) | usize::from(b);
            }
            if len < 0x80 {
                return Err(self.err(DecodeErrorKind::InvalidLength));
            }
            len
        };
        let value_start = self.pos;
        let end = value_start
            .checked_add(len)
            .filter(|e| *e <= self.bytes.len())
            .ok_or(self.err(DecodeErrorKind::Truncated))?;
        let value = self
            .bytes
            .get(value_start..end)
            .ok_or(self.err(DecodeErrorKind::Truncated))?;
        let whole = self
            .bytes
            .get(start..end)
            .ok_or(self.err(DecodeErrorKind::Truncated))?;
        self.pos = end;
        Ok((
            Reader {
                bytes: value,
                pos: 0,
                base: self.base + value_start,
            },
            whole,
        ))
    }

    /// Reads an element with tag `expected` and returns its value bytes.
    pub(crate) fn value(&mut self, expected: u8) -> Result<&'a [u8]> {
        self.read(expected).map(|(r, _)| r.bytes)
    }

    /// Reads an element only if the next tag is `expected`.
    pub(crate) fn optional(&mut self, expected: u8) -> Result<Option<Reader<'a>>> {
        if self.peek_tag() == Some(expected) {
            self.read(expected).map(|(r, _)| Some(r))
        } else {
            Ok(None)
        }
    }

    /// The remaining bytes.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or(&[])
    }

    /// Fails unless everything was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err(DecodeErrorKind::TrailingData))
        }
    }

    /// Reads a DER BOOLEAN (only `00` and `ff` are DER).
    pub(crate) fn boolean(&mut self) -> Result<bool> {
        let at = self.offset();
        match self.value(tag::BOOLEAN)? {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            _ => Err(Error::decode(DecodeErrorKind::InvalidValue, at)),
        }
    }

    /// Reads a minimal non-negative INTEGER of at most `N` bytes, right-aligned.
    pub(crate) fn uint<const N: usize>(&mut self) -> Result<[u8; N]> {
        let at = self.offset();
        let v = self.value(tag::INTEGER)?;
        let bad = Error::decode(DecodeErrorKind::InvalidValue, at);
        let digits = match v {
            [] => return Err(bad),
            [first, ..] if first & 0x80 != 0 => return Err(bad),
            [0, second, ..] if second & 0x80 == 0 => return Err(bad),
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        let mut out = [0u8; N];
        let start = N.checked_sub(digits.len()).ok_or(bad)?;
        out.get_mut(start..).ok_or(bad)?.copy_from_slice(digits);
        Ok(out)
    }

    /// Reads a DER `Ecdsa-Sig-Value` into raw `r || s`.
    pub(crate) fn ecdsa_sig_value(&mut self) -> Result<crate::ec::EcdsaSignature> {
        let (mut seq, _) = self.read(tag::SEQUENCE)?;
        let r = seq.uint::<32>()?;
        let s = seq.uint::<32>()?;
        seq.finish()?;
        let mut sig = [0u8; 64];
        let (a, b) = sig.split_at_mut(32);
        a.copy_from_slice(&r);
        b.copy_from_slice(&s);
        Ok(crate::ec::EcdsaSignature(sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Run<F: Fn(&mut Der<'_>)>(F);

    impl<F: Fn(&mut Der<'_>)> Template for Run<F> {
        fn der(&self, w: &mut Der<'_>) {
            (self.0)(w);
        }
    }

    fn written(f: impl Fn(&mut Der<'_>)) -> ([u8; 300], usize) {
        let mut buf = [0u8; 300];
        let mut s = SliceSink::new(&mut buf);
        emit(&Run(f), &mut s);
        let n = s.finish().unwrap();
        (buf, n)
    }

    #[test]
    fn lengths_are_minimal() {
        for (len, expect) in [
            (0usize, &[0x00][..]),
            (0x7f, &[0x7f]),
            (0x80, &[0x81, 0x80]),
            (0xff, &[0x81, 0xff]),
            (0x100, &[0x82, 0x01, 0x00]),
            (0xffff, &[0x82, 0xff, 0xff]),
            (0x1_0000, &[0x83, 0x01, 0x00, 0x00]),
            (0x100_0000, &[0x84, 0x01, 0x00, 0x00, 0x00]),
        ] {
            let (buf, n) = written(|w| w.header(0x04, len));
            assert_eq!(&buf[1..n], expect, "len {len}");
        }
    }

    #[test]
    fn nested_lengths_are_measured() {
        let body = [7u8; 0x80];
        let (buf, n) = written(|w| {
            w.open(tag::SEQUENCE);
            w.open(tag::SET);
            w.prim(tag::OCTET_STRING, &body);
            w.close();
            w.open(tag::SEQUENCE);
            w.close();
            w.close();
        });
        assert_eq!(n, 3 + 3 + 3 + 0x80 + 2);
        assert_eq!(
            &buf[..10],
            &[0x30, 0x81, 0x88, 0x31, 0x81, 0x83, 0x04, 0x81, 0x80, 7]
        );
        assert_eq!(&buf[n - 2..n], &[0x30, 0x00]);
    }

    #[test]
    fn integers_are_minimal_and_positive() {
        let (buf, n) = written(|w| w.uint(&[0, 0, 0x7f]));
        assert_eq!(&buf[..n], &[0x02, 0x01, 0x7f]);
        let (buf, n) = written(|w| w.uint(&[0, 0x80]));
        assert_eq!(&buf[..n], &[0x02, 0x02, 0x00, 0x80]);
        let (buf, n) = written(|w| w.uint(&[0, 0]));
        assert_eq!(&buf[..n], &[0x02, 0x01, 0x00]);
        let mut r = Reader::new(&[0x02, 0x02, 0x00, 0x80]);
        assert_eq!(r.uint::<2>().unwrap(), [0, 0x80]);
        for bad in [
            &[0x02, 0x02, 0x00, 0x7f][..],
            &[0x02, 0x01, 0x80],
            &[0x02, 0x00],
        ] {
            assert!(Reader::new(bad).uint::<4>().is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn reader_rejects_non_minimal_and_overlong() {
        assert!(
            Reader::new(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0])
                .read(0x30)
                .is_err()
        );
        assert!(Reader::new(&[0x30, 0x05, 0, 0]).read(0x30).is_err());
        assert!(Reader::new(&[0x30, 0x80]).read(0x30).is_err());
        let (r, whole) = Reader::new(&[0x30, 0x01, 0x05]).read(0x30).unwrap();
        assert_eq!(r.rest(), &[0x05]);
        assert_eq!(whole.len(), 3);
    }

    #[test]
    fn slice_sink_reports_overflow() {
        let mut buf = [0u8; 2];
        let mut s = SliceSink::new(&mut buf);
        s.put(&[1, 2, 3]);
        assert_eq!(s.finish(), Err(Error::buffer_too_small(3)));
    }
}
