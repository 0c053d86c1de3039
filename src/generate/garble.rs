//! How sellers mistype tracking IDs: separators that could be removed, and characters that
//! cannot be recognised at all.

use super::rng::Rng;

/// The ID with spaces or hyphens inside (malformed, but removing them gives the ID back).
pub(crate) fn fixable(id: &str, rng: &mut Rng) -> String {
    let sep = if rng.chance(0.5) { ' ' } else { '-' };
    match rng.below(3) {
        0 => grouped(id, 4, sep),
        1 => grouped(id, 3, sep),
        _ => split_once(id, 2, sep),
    }
}

/// The ID with punctuation, non-Latin or full-width characters (malformed, no simple fix).
pub(crate) fn other(id: &str, rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => format!("运单号{id}"),
        1 => format!("#{id}"),
        2 => format!("{id}."),
        3 => fullwidth(id),
        4 => format!("Tracking: {id}"),
        _ => format!("{id}/1"),
    }
}

/// Groups of `n` characters separated by `sep`.
fn grouped(id: &str, n: usize, sep: char) -> String {
    let mut out = String::with_capacity(id.len() + id.len() / n + 1);
    for (i, c) in id.chars().enumerate() {
        if i > 0 && i % n == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    if out.len() == id.len() {
        return split_once(id, 1, sep);
    }
    out
}

/// One separator after the first `at` characters (after the first one for short IDs).
fn split_once(id: &str, at: usize, sep: char) -> String {
    let chars: Vec<char> = id.chars().collect();
    let at = at.clamp(1, chars.len().saturating_sub(1).max(1));
    let mut out: String = chars.iter().take(at).collect();
    out.push(sep);
    out.extend(chars.iter().skip(at));
    out
}

/// ASCII letters and digits as their full-width forms (`１Ｚ…`).
fn fullwidth(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking_id::{normalize, TrackingId};

    #[test]
    fn fixable_ids_are_malformed_with_the_right_suggestion() {
        let mut rng = Rng::new(1);
        for id in [
            "1Z999AA10123456784",
            "9400111202555012345678",
            "TBA123456789012",
            "12",
        ] {
            for _ in 0..50 {
                let g = fixable(id, &mut rng);
                assert_eq!(
                    normalize(&g),
                    TrackingId::Malformed {
                        suggestion: Some(id.to_string())
                    },
                    "{g}"
                );
            }
        }
    }

    #[test]
    fn other_ids_are_malformed_without_suggestion() {
        let mut rng = Rng::new(2);
        for _ in 0..200 {
            let g = other("9400111202555012345678", &mut rng);
            assert_eq!(
                normalize(&g),
                TrackingId::Malformed { suggestion: None },
                "{g}"
            );
        }
    }
}
