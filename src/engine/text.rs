//! Compact storage for the strings and optional times engine state holds per package:
//! short strings inline (no allocation), UUID event ids as 16 bytes, absent times as a
//! sentinel instead of an `Option` tag.

use crate::event::Millis;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// Bytes a [`ShortStr`] holds without allocating.
const INLINE: usize = 22;

/// A string held inline when it has at most 22 bytes (order ids, tracking IDs), else on the
/// heap. 24 bytes, the size of a `String` without its allocation.
#[derive(Clone)]
pub struct ShortStr(Repr);

/// The two forms of a [`ShortStr`], private so that inline bytes are always valid UTF-8.
#[derive(Clone)]
enum Repr {
    /// Up to [`INLINE`] bytes: length and bytes.
    Inline(u8, [u8; INLINE]),
    /// Longer strings.
    Heap(Box<str>),
}

impl ShortStr {
    /// The string's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, buf) => &buf[..*len as usize],
            Repr::Heap(s) => s.as_bytes(),
        }
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: inline bytes are only ever written by `From<&str>` (the representation is private), which copies a whole
            // `&str`, so they are valid UTF-8 (checking it again on every read cost 2% of the
            // engine's instructions).
            Repr::Inline(len, buf) => unsafe {
                std::str::from_utf8_unchecked(&buf[..*len as usize])
            },
            Repr::Heap(s) => s,
        }
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Inline(..) => 0,
            Repr::Heap(s) => s.len(),
        }
    }
}

impl From<&str> for ShortStr {
    fn from(s: &str) -> ShortStr {
        if s.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..s.len()].copy_from_slice(s.as_bytes());
            ShortStr(Repr::Inline(s.len() as u8, buf))
        } else {
            ShortStr(Repr::Heap(s.into()))
        }
    }
}

impl PartialEq for ShortStr {
    fn eq(&self, other: &ShortStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShortStr {}

impl PartialOrd for ShortStr {
    fn partial_cmp(&self, other: &ShortStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortStr {
    fn cmp(&self, other: &ShortStr) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for ShortStr {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write(self.as_bytes());
        h.write_u8(0xff);
    }
}

impl std::ops::Deref for ShortStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// An event id. Canonical lower-case UUIDs (`8-4-4-4-12` hex digits), the usual form, are
/// held as their 16 bytes; anything else as text. Only compared (the tie-break between two
/// confirmations of the same time), never written out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventId {
    /// A canonical lower-case UUID.
    Uuid([u8; 16]),
    /// Any other id.
    Text(Box<str>),
}

/// Positions of the hyphens in a canonical UUID.
const UUID_HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl EventId {
    /// Packs an event id.
    pub fn new(s: &str) -> EventId {
        match parse_uuid(s) {
            Some(bytes) => EventId::Uuid(bytes),
            None => EventId::Text(s.into()),
        }
    }

    /// The id as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            EventId::Uuid(bytes) => Cow::Owned(format_uuid(bytes)),
            EventId::Text(s) => Cow::Borrowed(s),
        }
    }

    /// True when this id sorts before `other` as text (byte-wise).
    pub fn less_than(&self, other: &str) -> bool {
        self.text().as_bytes() < other.as_bytes()
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        match self {
            EventId::Uuid(_) => 0,
            EventId::Text(s) => s.len(),
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

impl serde::Serialize for ShortStr {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ShortStr {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<ShortStr, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        Ok(ShortStr::from(text.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_round_trip() {
        for s in [
            "",
            "111-3745568-4227991",
            "9305568904554224246197",
            "a much longer order id!",
        ] {
            let c = ShortStr::from(s);
            assert_eq!(c.as_str(), s);
            assert_eq!(c.heap_bytes() > 0, s.len() > INLINE);
        }
        assert_eq!(std::mem::size_of::<ShortStr>(), 24);
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
            }
        }
        assert!(matches!(EventId::new(ids[0]), EventId::Uuid(_)));
        assert!(matches!(EventId::new(ids[2]), EventId::Text(_)));
    }

    #[test]
    fn optional_times() {
        assert_eq!(OptMillis::new(Some(5)).get(), Some(5));
        assert_eq!(OptMillis::new(None).get(), None);
        assert_eq!(OptMillis::NONE.get(), None);
    }
}
