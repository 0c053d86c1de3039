//! Compact storage for the strings and optional times engine state holds per package:
//! order ids and tracking IDs packed in 16 bytes (no allocation for the usual ones), UUID
//! event ids as 16 bytes, absent times as a sentinel instead of an `Option` tag.

use crate::event::Millis;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU64;

/// Most digits a [`PackedStr`] holds, 4 bits each (14 bytes).
const MAX_DIGITS: usize = 28;

/// Most characters a [`PackedStr`] holds at 6 bits each (120 bits).
const MAX_SIX: usize = 20;

/// A string in 16 bytes, for keys that state holds per package (order ids, tracking IDs).
/// Up to 28 digits are held at 4 bits each, up to 20 characters of `0-9A-Za-z-` at 6 bits
/// each, anything else on the heap. Each string has exactly one form, so equality and
/// hashing work on the packed value; [`PackedStr::decode`] gives the text back.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedStr(Packed);

/// The forms of a [`PackedStr`].
#[derive(Clone, PartialEq, Eq)]
enum Packed {
    /// 1 to 28 ASCII digits: how many, and the digits at 4 bits each, first digit lowest.
    Digits(u8, [u8; 14]),
    /// Up to 20 characters of `0-9A-Za-z-` as 6-bit codes 1 to 63, first character lowest;
    /// unused codes are 0.
    Six([u8; 15]),
    /// Anything else.
    Heap(Box<Box<str>>),
}

/// The 6-bit code of every byte (0 when it has none).
const SIX_CODES: [u8; 256] = six_codes();

const fn six_codes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = six_code(b as u8);
        b += 1;
    }
    table
}

/// The 6-bit code of a character (0 when it has none).
const fn six_code(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0' + 1,
        b'A'..=b'Z' => b - b'A' + 11,
        b'a'..=b'z' => b - b'a' + 37,
        b'-' => 63,
        _ => 0,
    }
}

/// The character of every 6-bit code (code 0, no character, gives `-` too).
const SIX_CHARS: [u8; 64] = six_chars();

const fn six_chars() -> [u8; 64] {
    let mut table = [0u8; 64];
    let mut code = 0;
    while code < 64 {
        table[code] = six_char(code as u8);
        code += 1;
    }
    table
}

/// The character of a 6-bit code (1 to 63).
const fn six_char(code: u8) -> u8 {
    match code {
        1..=10 => b'0' + code - 1,
        11..=36 => b'A' + code - 11,
        37..=62 => b'a' + code - 37,
        _ => b'-',
    }
}

/// The low `N` bytes of a value, little-endian.
fn low_bytes<const N: usize>(v: u128) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&v.to_le_bytes()[..N]);
    out
}

/// The value of little-endian bytes.
fn from_low_bytes<const N: usize>(bytes: &[u8; N]) -> u128 {
    let mut all = [0u8; 16];
    all[..N].copy_from_slice(bytes);
    u128::from_le_bytes(all)
}

/// Each byte of a word set to `b`.
const fn bytes_of(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Eight ASCII digits (little-endian in a word) as eight 4-bit values, first one lowest;
/// `None` when a byte is not a digit.
fn digits_to_nibbles(x: u64) -> Option<u32> {
    let high = bytes_of(0xf0);
    // Every byte is 0x30..=0x3f, and adding 6 leaves it below 0x40: it is 0x30..=0x39.
    if x & high != bytes_of(0x30) || x.wrapping_add(bytes_of(0x06)) & high != bytes_of(0x30) {
        return None;
    }
    let d = x & bytes_of(0x0f);
    let p = (d | d >> 4) & 0x00ff_00ff_00ff_00ff;
    let p = (p | p >> 8) & 0x0000_ffff_0000_ffff;
    Some(((p | p >> 16) & 0xffff_ffff) as u32)
}

/// The inverse of [`digits_to_nibbles`].
fn nibbles_to_digits(n: u32) -> u64 {
    let p = u64::from(n);
    let p = (p | p << 16) & 0x0000_ffff_0000_ffff;
    let p = (p | p << 8) & 0x00ff_00ff_00ff_00ff;
    ((p | p << 4) & bytes_of(0x0f)) | bytes_of(0x30)
}

fn pack_digits(b: &[u8]) -> Option<Packed> {
    if b.is_empty() || b.len() > MAX_DIGITS {
        return None;
    }
    let mut nibbles = 0u128;
    for (k, chunk) in b.chunks(8).enumerate() {
        nibbles |= u128::from(digits_to_nibbles(word_of(chunk))?) << (32 * k);
    }
    Some(Packed::Digits(b.len() as u8, low_bytes(nibbles)))
}

/// Up to 8 bytes as a little-endian word, padded with `'0'`.
fn word_of(chunk: &[u8]) -> u64 {
    if let Ok(word) = <[u8; 8]>::try_from(chunk) {
        return u64::from_le_bytes(word);
    }
    let low = chunk.iter().rev().fold(0, |w, &c| w << 8 | u64::from(c));
    low | bytes_of(b'0') << (8 * chunk.len())
}

fn pack_six(b: &[u8]) -> Option<Packed> {
    if b.len() > MAX_SIX {
        return None;
    }
    // Ten codes per 64-bit half, first character lowest.
    let (mut halves, mut ok) = ([0u64; 2], true);
    for (half, ten) in halves.iter_mut().zip(b.chunks(MAX_SIX / 2)) {
        for &c in ten.iter().rev() {
            let code = SIX_CODES[c as usize];
            ok &= code != 0;
            *half = *half << 6 | u64::from(code);
        }
    }
    let v = u128::from(halves[0]) | u128::from(halves[1]) << 60;
    ok.then(|| Packed::Six(low_bytes(v)))
}

impl From<&str> for PackedStr {
    fn from(s: &str) -> PackedStr {
        let b = s.as_bytes();
        let packed = pack_digits(b)
            .or_else(|| pack_six(b))
            .unwrap_or_else(|| Packed::Heap(Box::new(s.into())));
        PackedStr(packed)
    }
}

impl Default for PackedStr {
    fn default() -> PackedStr {
        PackedStr::from("")
    }
}

/// The text of a [`PackedStr`]: on the stack when it was packed.
pub struct Decoded<'a>(Text<'a>);

/// The forms of a [`Decoded`], private so that stack bytes are always ASCII.
enum Text<'a> {
    /// How many characters, and the decoded characters (ASCII) first.
    Stack(u8, [u8; 32]),
    /// The text as held.
    Heap(&'a str),
}

impl std::ops::Deref for Decoded<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            // SAFETY: `Stack` is only built by `PackedStr::decode`, which writes ASCII digits
            // and the characters of `six_char` (all ASCII) into the first `len` bytes, so they
            // are valid UTF-8 (checking again on every read showed in profiles).
            Text::Stack(len, buf) => unsafe {
                std::str::from_utf8_unchecked(&buf[..*len as usize])
            },
            Text::Heap(s) => s,
        }
    }
}

impl PackedStr {
    /// The string.
    pub fn decode(&self) -> Decoded<'_> {
        let mut buf = [0u8; 32];
        match &self.0 {
            Packed::Digits(len, nibbles) => {
                let nibbles = from_low_bytes(nibbles);
                for (k, out) in buf.chunks_exact_mut(8).enumerate() {
                    let four = (nibbles >> (32 * k)) as u32;
                    out.copy_from_slice(&nibbles_to_digits(four).to_le_bytes());
                }
                Decoded(Text::Stack(*len, buf))
            }
            Packed::Six(bytes) => {
                let v = from_low_bytes(bytes);
                // Codes are non-zero up to the last character: its code holds the top bit.
                let len = (128 - v.leading_zeros() as usize).div_ceil(6);
                for (half, out) in [v, v >> 60].into_iter().zip(buf.chunks_exact_mut(10)) {
                    for (j, slot) in out.iter_mut().enumerate() {
                        *slot = SIX_CHARS[((half >> (6 * j)) & 63) as usize];
                    }
                }
                Decoded(Text::Stack(len as u8, buf))
            }
            Packed::Heap(s) => Decoded(Text::Heap(s)),
        }
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Packed::Heap(s) => s.len() + std::mem::size_of::<Box<str>>(),
            _ => 0,
        }
    }
}

impl PartialOrd for PackedStr {
    fn partial_cmp(&self, other: &PackedStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Strings sort as their text does (byte-wise).
impl Ord for PackedStr {
    fn cmp(&self, other: &PackedStr) -> std::cmp::Ordering {
        self.decode().as_bytes().cmp(other.decode().as_bytes())
    }
}

/// The text, allocated at its exact size (without the formatting machinery `to_string` uses).
impl From<&PackedStr> for String {
    fn from(p: &PackedStr) -> String {
        String::from(&*p.decode())
    }
}

impl std::fmt::Display for PackedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.decode())
    }
}

impl Hash for PackedStr {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match &self.0 {
            Packed::Digits(len, nibbles) => {
                h.write_u128(from_low_bytes(nibbles) | u128::from(*len) << 112 | 1 << 127)
            }
            Packed::Six(codes) => h.write_u128(from_low_bytes(codes)),
            Packed::Heap(s) => s.hash(h),
        }
    }
}

impl std::fmt::Debug for PackedStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (*self.decode()).fmt(f)
    }
}

/// An event id in 16 bytes. Canonical lower-case UUIDs (`8-4-4-4-12` hex digits), the usual
/// form, are held as their 16 bytes; anything else as text on the heap. Only compared (the
/// tie-break between two confirmations of the same time), never written out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventId {
    /// A canonical lower-case UUID, as its first and last 8 bytes (big-endian). The first 8 are
    /// never all zero (such a UUID is held as text), which gives the enum its tag for free.
    Uuid(NonZeroU64, u64),
    /// Any other id.
    Text(Box<Box<str>>),
}

/// Positions of the hyphens in a canonical UUID.
const UUID_HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl EventId {
    /// Packs an event id.
    pub fn new(s: &str) -> EventId {
        let halves = parse_uuid(s).and_then(|b| {
            let (hi, lo) = b.split_at(8);
            let hi = NonZeroU64::new(u64::from_be_bytes(hi.try_into().ok()?))?;
            Some((hi, u64::from_be_bytes(lo.try_into().ok()?)))
        });
        match halves {
            Some((hi, lo)) => EventId::Uuid(hi, lo),
            None => EventId::Text(Box::new(s.into())),
        }
    }

    /// The id as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            EventId::Uuid(hi, lo) => {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&hi.get().to_be_bytes());
                bytes[8..].copy_from_slice(&lo.to_be_bytes());
                Cow::Owned(format_uuid(&bytes))
            }
            EventId::Text(s) => Cow::Borrowed(s),
        }
    }

    /// True when this is the id `other`.
    pub fn is(&self, other: &str) -> bool {
        match self {
            EventId::Uuid(hi, lo) => parse_uuid(other)
                .is_some_and(|b| b[..8] == hi.get().to_be_bytes() && b[8..] == lo.to_be_bytes()),
            EventId::Text(s) => s.as_ref().as_ref() == other,
        }
    }

    /// True when this id sorts before `other` as text (byte-wise).
    pub fn less_than(&self, other: &str) -> bool {
        self.text().as_bytes() < other.as_bytes()
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        match self {
            EventId::Uuid(..) => 0,
            EventId::Text(s) => s.len() + std::mem::size_of::<Box<str>>(),
        }
    }
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || UUID_HYPHENS.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut digits = b.iter().filter(|&&c| c != b'-');
    let mut out = [0u8; 16];
    for byte in out.iter_mut() {
        let hi = lower_hex_value(*digits.next()?)?;
        let lo = lower_hex_value(*digits.next()?)?;
        *byte = hi << 4 | lo;
    }
    digits.next().is_none().then_some(out)
}

fn lower_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn format_uuid(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// An optional time in 8 bytes: `i64::MIN` (long before year 1, which no decoded event
/// reaches) stands for "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct OptMillis(Millis);

impl Default for OptMillis {
    /// No time.
    fn default() -> Self {
        OptMillis::NONE
    }
}

impl OptMillis {
    /// No time.
    pub const NONE: OptMillis = OptMillis(Millis::MIN);

    /// Packs an optional time.
    pub fn new(t: Option<Millis>) -> OptMillis {
        OptMillis(t.unwrap_or(Millis::MIN))
    }

    /// The time, if any.
    pub fn get(self) -> Option<Millis> {
        (self.0 != Millis::MIN).then_some(self.0)
    }
}

/// A packed string travels (in snapshots) as its text.
impl serde::Serialize for PackedStr {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&self.decode())
    }
}

impl<'de> serde::Deserialize<'de> for PackedStr {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<PackedStr, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        Ok(PackedStr::from(text.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_strings_round_trip_in_one_form() {
        let samples = [
            "",
            "0",
            "007",
            "111-3745568-4227991",
            "9305568904554224246197",
            "9999999999999999999999999999",
            "99999999999999999999999999999",
            "1Z999AA10123456784",
            "abcdefghijklmnopqrst",
            "abcdefghijklmnopqrstu",
            "1Z 999 AA1",
            "运单号",
        ];
        for s in samples {
            let p = PackedStr::from(s);
            assert_eq!(&*p.decode(), s);
            for t in samples {
                assert_eq!(p == PackedStr::from(t), s == t, "{s} == {t}");
            }
        }
        for len in 0..=30 {
            for s in ["9876543210".repeat(3), "a-Z0".repeat(8)] {
                let s = &s[..len];
                assert_eq!(&*PackedStr::from(s).decode(), s);
            }
        }
        assert_eq!(std::mem::size_of::<PackedStr>(), 16);
        assert_eq!(PackedStr::from("123").heap_bytes(), 0);
        assert!(PackedStr::from("1Z 999").heap_bytes() > 0);
    }

    #[test]
    fn uuids_pack_and_keep_their_order() {
        let ids = [
            "e2f6845f-8797-8480-8ccc-0c6fcc637590",
            "e2f6845f-8797-8480-8ccc-0c6fcc637591",
            "E2F6845F-8797-8480-8ccc-0c6fcc637590",
            "9a35c1d2-bc78-776f-7411-c9c79ff3e006",
            "e2f6845f",
            "e2f6845f-8797-8480-8ccc-0c6fcc63759g",
        ];
        for a in ids {
            let packed = EventId::new(a);
            assert_eq!(packed.text(), a);
            for b in ids {
                assert_eq!(packed.less_than(b), a < b, "{a} < {b}");
                assert_eq!(packed.is(b), a == b, "{a} is {b}");
            }
        }
        assert!(matches!(EventId::new(ids[0]), EventId::Uuid(..)));
        assert!(matches!(EventId::new(ids[2]), EventId::Text(_)));
        let zero = "00000000-0000-0000-8000-000000000001";
        assert!(matches!(EventId::new(zero), EventId::Text(_)));
        assert_eq!(EventId::new(zero).text(), zero);
        assert_eq!(std::mem::size_of::<EventId>(), 16);
    }

    #[test]
    fn optional_times() {
        assert_eq!(OptMillis::new(Some(5)).get(), Some(5));
        assert_eq!(OptMillis::new(None).get(), None);
        assert_eq!(OptMillis::NONE.get(), None);
    }
}
