//! Check-digit algorithms of tracking-ID formats, as small pure functions.
//!
//! Each function takes the sequence the check digit protects (ASCII upper-case letters and
//! digits) and returns the check digit it expects, or `None` when the sequence holds a
//! character the algorithm cannot read. The meaning of every parameter follows the checksum
//! definitions of the public tracking-number data set (jkeen/tracking_number_data, MIT):
//! `mod10`, `mod7`, `s10`, `luhn`, `mod_37_36` and `sum_product_with_weightings_and_modulo`.
//! [`CheckDigit`] bundles an algorithm with its parameters.

/// Parameters of the weighted modulus-10 family (`mod10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mod10 {
    /// Multiplier of the characters at even positions (0, 2, 4…, counted from 0).
    pub evens_multiplier: u32,
    /// Multiplier of the characters at odd positions (1, 3, 5…).
    pub odds_multiplier: u32,
    /// The modulus (10).
    pub modulo: u32,
    /// Count positions from the right-hand end of the sequence instead of the left.
    pub reverse: bool,
}

impl Default for Mod10 {
    fn default() -> Self {
        Mod10 {
            evens_multiplier: 1,
            odds_multiplier: 1,
            modulo: 10,
            reverse: false,
        }
    }
}

/// A check-digit algorithm with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckDigit {
    /// Weighted modulus 10 (UPS, USPS, FedEx Ground, OnTrac, Canada Post).
    Mod10(Mod10),
    /// The sequence read as one number, modulo `modulo` (DHL Express: 7).
    Mod7 {
        /// The modulus.
        modulo: u32,
    },
    /// UPU S10 modulus 11.
    S10 {
        /// One weight per position, from the left.
        weightings: Vec<u32>,
        /// The modulus (11).
        modulo: u32,
    },
    /// Luhn (the right-most character of the sequence is doubled).
    Luhn {
        /// The modulus (10).
        modulo: u32,
    },
    /// ISO/IEC 7064 MOD 37,36 (DPD), giving a digit or a letter.
    Mod3736 {
        /// The modulus (36).
        modulo: u32,
        /// The check characters, indexed by the computed value.
        alphabet: Vec<u8>,
    },
    /// Weighted sum, then `modulo1`, then `modulo2` (FedEx Express).
    SumProduct {
        /// One weight per position, from the left; positions beyond them weigh 0.
        weightings: Vec<u32>,
        /// The first modulus (11).
        modulo1: u32,
        /// The second modulus (10).
        modulo2: u32,
    },
}

impl CheckDigit {
    /// The check character (ASCII) the algorithm expects for `sequence`, if any.
    pub fn expected(&self, sequence: &[u8]) -> Option<u8> {
        match self {
            CheckDigit::Mod10(p) => mod10(sequence, p).and_then(digit_char),
            CheckDigit::Mod7 { modulo } => mod7(sequence, *modulo).and_then(digit_char),
            CheckDigit::S10 { weightings, modulo } => {
                s10(sequence, weightings, *modulo).and_then(digit_char)
            }
            CheckDigit::Luhn { modulo } => luhn(sequence, *modulo).and_then(digit_char),
            CheckDigit::Mod3736 { modulo, alphabet } => {
                let value = mod_37_36(sequence, *modulo)?;
                alphabet.get(value as usize).copied()
            }
            CheckDigit::SumProduct {
                weightings,
                modulo1,
                modulo2,
            } => sum_product(sequence, weightings, *modulo1, *modulo2).and_then(digit_char),
        }
    }

    /// True when `check` is the check character expected for `sequence`.
    pub fn holds(&self, sequence: &[u8], check: u8) -> bool {
        self.expected(sequence) == Some(check)
    }
}

/// The ASCII digit of a value below 10.
fn digit_char(value: u32) -> Option<u8> {
    (value < 10).then(|| b'0' + value as u8)
}

/// The value of a decimal digit.
fn digit(c: u8) -> Option<u32> {
    c.is_ascii_digit().then(|| u32::from(c - b'0'))
}

/// The value `mod10` gives a character: a digit is itself, an upper-case letter is its
/// ASCII code minus 3, modulo 10 (A = 2, B = 3, … I = 0, J = 1, …; UPS's conversion).
fn mod10_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some((u32::from(c) - 3) % 10),
        _ => None,
    }
}

/// The difference from `total` up to the next multiple of `modulo` (0 on a multiple).
fn complement(total: u64, modulo: u32) -> u32 {
    let modulo = u64::from(modulo.max(1));
    ((modulo - total % modulo) % modulo) as u32
}

/// Weighted modulus 10: the sum of every character's value times the multiplier of its
/// position (even or odd, from the left or from the right when `reverse`), and the check
/// digit is what brings the sum up to a multiple of `modulo`.
pub fn mod10(sequence: &[u8], p: &Mod10) -> Option<u32> {
    let mut total: u64 = 0;
    let len = sequence.len();
    for (i, &c) in sequence.iter().enumerate() {
        let position = if p.reverse { len - 1 - i } else { i };
        let multiplier = if position % 2 == 1 {
            p.odds_multiplier
        } else {
            p.evens_multiplier
        };
        let product = u64::from(mod10_value(c)?) * u64::from(multiplier);
        total = total.wrapping_add(product);
    }
    Some(complement(total, p.modulo))
}

/// The sequence read as one decimal number, modulo `modulo` (any length, no overflow).
pub fn mod7(sequence: &[u8], modulo: u32) -> Option<u32> {
    let modulo = u64::from(modulo.max(1));
    let mut rest: u64 = 0;
    for &c in sequence {
        rest = (rest * 10 + u64::from(digit(c)?)) % modulo;
    }
    Some(rest as u32)
}

/// UPU S10: weighted sum (8, 6, 4, 2, 3, 5, 9, 7), remainder modulo 11, check digit
/// `11 - remainder`, except that a remainder of 1 gives 0 and a remainder of 0 gives 5.
pub fn s10(sequence: &[u8], weightings: &[u32], modulo: u32) -> Option<u32> {
    let remainder = weighted_sum(sequence, weightings)? % u64::from(modulo.max(1));
    Some(match remainder {
        1 => 0,
        0 => 5,
        r => (u64::from(modulo) - r) as u32,
    })
}

/// Luhn: from the right-most character leftwards, every other digit is doubled (the
/// right-most one included) and 9 taken off when that exceeds 9; the check digit brings the
/// sum up to a multiple of `modulo`.
pub fn luhn(sequence: &[u8], modulo: u32) -> Option<u32> {
    let mut total: u64 = 0;
    for (i, &c) in sequence.iter().rev().enumerate() {
        let value = digit(c)? * if i % 2 == 0 { 2 } else { 1 };
        total += u64::from(if value > 9 { value - 9 } else { value });
    }
    Some(complement(total, modulo))
}

/// ISO/IEC 7064 MOD 37,36 (hybrid system): digits count 0-9 and letters 10-35. Returns the
/// index of the check character in the alphabet (`0-9A-Z` for modulus 36).
pub fn mod_37_36(sequence: &[u8], modulo: u32) -> Option<u32> {
    let modulo = u64::from(modulo.max(1));
    let mut running = modulo;
    for &c in sequence {
        running = (running + u64::from(base36_value(c)?)) % modulo;
        if running == 0 {
            running = modulo;
        }
        running = (running * 2) % (modulo + 1);
    }
    Some(((modulo + 1 - running) % modulo) as u32)
}

/// The base-36 value of a digit or an upper-case letter.
fn base36_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// Weighted sum, then modulo `modulo1`, then modulo `modulo2` (FedEx Express: 11 then 10,
/// so a remainder of 10 gives 0).
pub fn sum_product(sequence: &[u8], weightings: &[u32], modulo1: u32, modulo2: u32) -> Option<u32> {
    let total = weighted_sum(sequence, weightings)?;
    Some((total % u64::from(modulo1.max(1)) % u64::from(modulo2.max(1))) as u32)
}

/// Σ digit × weight, positions from the left; positions beyond the weights weigh 0.
fn weighted_sum(sequence: &[u8], weightings: &[u32]) -> Option<u64> {
    let mut total: u64 = 0;
    for (i, &c) in sequence.iter().enumerate() {
        let weight = weightings.get(i).copied().unwrap_or(0);
        total = total.wrapping_add(u64::from(digit(c)?) * u64::from(weight));
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPS: Mod10 = Mod10 {
        evens_multiplier: 1,
        odds_multiplier: 2,
        modulo: 10,
        reverse: false,
    };
    const GS1: Mod10 = Mod10 {
        evens_multiplier: 3,
        odds_multiplier: 1,
        modulo: 10,
        reverse: false,
    };
    const S10_WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    const FEDEX_12: [u32; 11] = [3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1];

    #[test]
    fn mod10_ups_converts_letters() {
        // 1Z999AA10123456784: sequence 999AA1012345678 with A = (65 - 3) % 10 = 2:
        // values 9 9 9 2 2 1 0 1 2 3 4 5 6 7 8. Even positions 9+9+2+0+2+4+6+8 = 40 (x1),
        // odd positions 9+2+1+1+3+5+7 = 28 (x2 = 56). 96 -> 4.
        assert_eq!(mod10(b"999AA1012345678", &UPS), Some(4));
        // 4F7W2E031234567: F = 67 % 10 = 7, W = 84 % 10 = 4, E = 66 % 10 = 6:
        // values 4 7 7 4 2 6 0 3 1 2 3 4 5 6 7; evens 4+7+2+0+1+3+5+7 = 29,
        // odds 7+4+6+3+2+4+6 = 32 (x2 = 64). 93 -> 7.
        assert_eq!(mod10(b"4F7W2E031234567", &UPS), Some(7));
        assert_eq!(mod10_value(b'I'), Some(0));
        assert_eq!(mod10(b"99-9", &UPS), None);
    }

    #[test]
    fn mod10_gs1_and_reverse() {
        // 0123456789012345 + check: evens 0+2+4+6+8+0+2+4 = 26 (x3 = 78),
        // odds 1+3+5+7+9+1+3+5 = 34. 112 -> 8.
        assert_eq!(mod10(b"0123456789012345", &GS1), Some(8));
        // Reversed, the right-most character is position 0: 5 4 3 2 1 0 9 8 ... 1 0.
        // evens 5+3+1+9+7+5+3+1 = 34 (x3 = 102), odds 4+2+0+8+6+4+2+0 = 26. 128 -> 2.
        let rev = Mod10 {
            reverse: true,
            ..GS1
        };
        assert_eq!(mod10(b"0123456789012345", &rev), Some(2));
        // On an odd-length sequence, reversing changes nothing.
        assert_eq!(mod10(b"12345", &rev), mod10(b"12345", &GS1));
        // 0 0 0 ... sums to 0: check 0, not 10.
        assert_eq!(mod10(b"000", &GS1), Some(0));
    }

    #[test]
    fn mod7_reads_one_number() {
        // 123456789 = 7 x 17636684 + 1.
        assert_eq!(mod7(b"123456789", 7), Some(1));
        // 3141592653 = 7 x 448798950 + 3.
        assert_eq!(mod7(b"3141592653", 7), Some(3));
        // Longer than u64, still exact: 10^30 mod 7 = 1 (10^6 = 1 mod 7).
        assert_eq!(mod7(b"1000000000000000000000000000000", 7), Some(1));
        assert_eq!(mod7(b"12A", 7), None);
    }

    #[test]
    fn s10_mod11_with_special_remainders() {
        // 1x8 + 2x6 + 3x4 + 4x2 + 5x3 + 6x5 + 7x9 + 8x7 = 204; 204 mod 11 = 6; 11 - 6 = 5.
        assert_eq!(s10(b"12345678", &S10_WEIGHTS, 11), Some(5));
        // 9x8 + 8x6 + 7x4 + 6x2 + 5x3 + 4x5 + 3x9 + 2x7 = 236; 236 mod 11 = 5 -> 6.
        assert_eq!(s10(b"98765432", &S10_WEIGHTS, 11), Some(6));
        // Remainder 0 -> 5.
        assert_eq!(s10(b"00000000", &S10_WEIGHTS, 11), Some(5));
        // 6x2 = 12, remainder 1 -> 0.
        assert_eq!(s10(b"00060000", &S10_WEIGHTS, 11), Some(0));
        // 1x3 = 3, remainder 3 -> 8.
        assert_eq!(s10(b"00001000", &S10_WEIGHTS, 11), Some(8));
    }

    #[test]
    fn luhn_doubles_the_rightmost() {
        // 7992739871: from the right 1x2=2, 7, 8x2=16-9=7, 9, 3x2=6, 7, 2x2=4, 9,
        // 9x2=18-9=9, 7: total 67 -> 3.
        assert_eq!(luhn(b"7992739871", 10), Some(3));
        // 7781234567: 7x2=14-9=5, 6, 5x2=10-9=1, 4, 3x2=6, 2, 1x2=2, 8, 7x2=14-9=5, 7: 46 -> 4.
        assert_eq!(luhn(b"7781234567", 10), Some(4));
        assert_eq!(luhn(b"1A", 10), None);
    }

    #[test]
    fn mod_37_36_iso7064() {
        let a = |s: &[u8]| {
            mod_37_36(s, 36).map(|v| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[v as usize])
        };
        // Worked by hand for "1": (36 + 1) mod 36 = 1, x2 = 2; 37 - 2 = 35 -> 'Z'.
        assert_eq!(a(b"1"), Some(b'Z'));
        // "A" (10): 36 + 10 -> 10, x2 = 20; 37 - 20 = 17 -> 'H'.
        assert_eq!(a(b"A"), Some(b'H'));
        // "12": after '1' running 2; 2 + 2 = 4, x2 = 8; 37 - 8 = 29 -> 'T'.
        assert_eq!(a(b"12"), Some(b'T'));
        // "I" (18): 36 + 18 = 54 -> 18, x2 = 36 (not above 36); 37 - 36 = 1.
        assert_eq!(a(b"I"), Some(b'1'));
        // "Y" (34): 36 + 34 = 70 -> 34, x2 = 68 -> 68 - 37 = 31; 37 - 31 = 6.
        assert_eq!(a(b"Y"), Some(b'6'));
        assert_eq!(a(b"09876543210987"), Some(b'A'));
        assert_eq!(a(b"a"), None);
    }

    #[test]
    fn sum_product_fedex() {
        // 12345678901: 1x3 2x1 3x7 4x3 5x1 6x7 7x3 8x1 9x7 0x3 1x1
        // = 3+2+21+12+5+42+21+8+63+0+1 = 178; 178 mod 11 = 2; 2 mod 10 = 2.
        assert_eq!(sum_product(b"12345678901", &FEDEX_12, 11, 10), Some(2));
        // 00000000010: 1x3 = 3 -> 3. 00000000040: 12 mod 11 = 1.
        assert_eq!(sum_product(b"00000000010", &FEDEX_12, 11, 10), Some(3));
        assert_eq!(sum_product(b"00000000040", &FEDEX_12, 11, 10), Some(1));
        // 00000000700: 7x7 = 49 mod 11 = 5. 00000000300: 3x7 = 21 mod 11 = 10 -> 0.
        assert_eq!(sum_product(b"00000000300", &FEDEX_12, 11, 10), Some(0));
        // Positions beyond the weights weigh 0.
        assert_eq!(sum_product(b"123456789019", &FEDEX_12, 11, 10), Some(2));
    }

    #[test]
    fn check_digit_holds() {
        let ups = CheckDigit::Mod10(UPS);
        assert!(ups.holds(b"999AA1012345678", b'4'));
        assert!(!ups.holds(b"999AA1012345678", b'5'));
        let s10 = CheckDigit::S10 {
            weightings: S10_WEIGHTS.to_vec(),
            modulo: 11,
        };
        assert!(s10.holds(b"12345678", b'5'));
        assert!(!s10.holds(b"12345678", b'6'));
        let dpd = CheckDigit::Mod3736 {
            modulo: 36,
            alphabet: b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec(),
        };
        assert!(dpd.holds(b"1", b'Z'));
        assert!(!dpd.holds(b"1", b'Y'));
        let short_alphabet = CheckDigit::Mod3736 {
            modulo: 36,
            alphabet: b"0123".to_vec(),
        };
        assert!(!short_alphabet.holds(b"1", b'Z'));
    }
}
