//! Tracking-ID normalisation (contract section 3).
//!
//! Leading and trailing whitespace is trimmed. Empty after trimming is *blank*. Otherwise
//! every character must be an ASCII letter or digit; letters compare case-insensitively and
//! the normalised form is upper case. Anything else makes the ID *malformed*; when removing
//! spaces and hyphens would give a well-formed ID, that fix is offered as a suggestion.

use std::borrow::Cow;

/// The outcome of normalising a tracking ID as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingId<'a> {
    /// Nothing but whitespace.
    Blank,
    /// Contains a character other than an ASCII letter or digit.
    Malformed {
        /// The well-formed ID that removing spaces and hyphens would give, if any.
        suggestion: Option<String>,
    },
    /// Well formed: the upper-case normalised ID.
    Normalized(Cow<'a, str>),
}

/// Normalises a tracking ID as entered by a seller or reported by a carrier.
pub fn normalize(raw: &str) -> TrackingId<'_> {
    if let Some(id) = already_normalized(raw) {
        return TrackingId::Normalized(Cow::Borrowed(id));
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return TrackingId::Blank;
    }
    if !trimmed.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return TrackingId::Malformed {
            suggestion: suggest_fix(trimmed),
        };
    }
    if trimmed.bytes().any(|b| b.is_ascii_lowercase()) {
        TrackingId::Normalized(Cow::Owned(trimmed.to_ascii_uppercase()))
    } else {
        TrackingId::Normalized(Cow::Borrowed(trimmed))
    }
}

/// Fast path for the usual case: `raw` is already upper-case ASCII letters and digits, so
/// it is its own normalised form (an ASCII letter or digit at both ends means no whitespace
/// to trim).
fn already_normalized(raw: &str) -> Option<&str> {
    // No early exit: the usual ID passes, and a table look-up per byte is the cheapest test.
    let ok = !raw.is_empty() && raw.bytes().fold(true, |ok, b| ok & NORMAL[usize::from(b)]);
    ok.then_some(raw)
}

/// The bytes a normalised ID is made of: `0-9` and `A-Z`.
static NORMAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_digit() || (b as u8).is_ascii_uppercase();
        b += 1;
    }
    table
};

/// The upper-case ID left after removing spaces and hyphens, when that is well formed.
fn suggest_fix(trimmed: &str) -> Option<String> {
    let fixed: String = trimmed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let well_formed = !fixed.is_empty() && fixed.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then(|| fixed.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`normalize`] without its fast path.
    fn normalize_slowly(raw: &str) -> TrackingId<'_> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            TrackingId::Blank
        } else if !trimmed.bytes().all(|b| b.is_ascii_alphanumeric()) {
            TrackingId::Malformed {
                suggestion: suggest_fix(trimmed),
            }
        } else {
            TrackingId::Normalized(Cow::Owned(trimmed.to_ascii_uppercase()))
        }
    }

    proptest! {
        #[test]
        fn the_fast_path_changes_nothing(raw in prop_oneof![
            "[0-9A-Z]{0,30}",
            "[ 0-9A-Za-z-]{0,30}",
            "\\PC{0,20}",
        ]) {
            prop_assert_eq!(normalize(&raw), normalize_slowly(&raw));
        }
    }

    #[test]
    fn trims_and_uppercases() {
        assert_eq!(
            normalize("  1z999aa10123456784\t"),
            TrackingId::Normalized(Cow::Borrowed("1Z999AA10123456784"))
        );
        assert_eq!(
            normalize("ABC123"),
            TrackingId::Normalized(Cow::Borrowed("ABC123"))
        );
    }

    #[test]
    fn normal_ids_are_their_own_form() {
        for b in 0..=255u8 {
            let normal = b.is_ascii_digit() || b.is_ascii_uppercase();
            assert_eq!(NORMAL[usize::from(b)], normal, "{b}");
        }
        assert_eq!(already_normalized("9400A"), Some("9400A"));
        assert_eq!(already_normalized("9400a"), None);
        assert_eq!(already_normalized(" 9400"), None);
        assert_eq!(already_normalized(""), None);
    }

    #[test]
    fn blank_when_empty_or_whitespace() {
        assert_eq!(normalize(""), TrackingId::Blank);
        assert_eq!(normalize(" \t\n"), TrackingId::Blank);
    }

    #[test]
    fn malformed_with_suggestion_for_spaces_and_hyphens() {
        assert_eq!(
            normalize("1Z 999 AA1-0123456784"),
            TrackingId::Malformed {
                suggestion: Some("1Z999AA10123456784".into())
            }
        );
    }

    #[test]
    fn malformed_without_suggestion_for_other_characters() {
        for raw in ["9400.1000", "运单123", "ＡＢＣ123", "12#34", "１２３"] {
            assert_eq!(
                normalize(raw),
                TrackingId::Malformed { suggestion: None },
                "{raw}"
            );
        }
    }
}
