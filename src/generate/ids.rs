//! Tracking-ID makers with correct check digits, and the other identifiers of a workload.
//!
//! Formats follow the public facts in `tracking_number_data` (regexes and check-digit
//! parameters); the makers are this project's own. Every maker takes a `unique` number (the
//! package's serial) and spreads it over the format's free digits with a bijection, so two
//! packages never get the same ID by accident; the rest of the ID is random.

use super::rng::{mix64, Rng};

/// Values of UPS letters in its check-digit computation (A=2, B=3, … H=9, I=0, …).
fn ups_value(c: u8) -> u32 {
    if c.is_ascii_digit() {
        u32::from(c - b'0')
    } else {
        u32::from(c.to_ascii_uppercase().wrapping_sub(b'A') + 2) % 10
    }
}

/// Mod-10 check digit: the value at even 0-based index is multiplied by `even`, at odd index by
/// `odd`; the check digit brings the sum to a multiple of 10.
pub fn mod10_check(values: impl Iterator<Item = u32>, even: u32, odd: u32) -> u8 {
    let sum: u32 = values
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v * even } else { v * odd })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Digits of a string as numbers (non-digits count as 0).
fn digit_values(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes().map(|b| u32::from(b.wrapping_sub(b'0')).min(9))
}

/// UPS `1Z` check digit over the 15 characters after `1Z` (letters converted as UPS does).
pub fn ups_check(serial: &str) -> u8 {
    mod10_check(serial.bytes().map(ups_value), 1, 2)
}

/// USPS IMpb check digit: weights 3 and 1 alternating from the rightmost digit of the serial.
pub fn usps_check(serial: &str) -> u8 {
    let mut values: Vec<u32> = digit_values(serial).collect();
    values.reverse();
    mod10_check(values.into_iter(), 3, 1)
}

/// UPU S10 check digit over the 8 serial digits: weights 8,6,4,2,3,5,9,7, mod 11 (10→0, 11→5).
pub fn s10_check(serial: &str) -> u8 {
    const W: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = digit_values(serial).zip(W).map(|(d, w)| d * w).sum();
    match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c as u8,
    }
}

/// FedEx Express 12-digit check digit over 11 digits: weights 3,1,7,… then mod 11, mod 10.
pub fn fedex12_check(serial: &str) -> u8 {
    const W: [u32; 3] = [3, 1, 7];
    let sum: u32 = digit_values(serial)
        .enumerate()
        .map(|(i, d)| d * W[i % 3])
        .sum();
    (sum % 11 % 10) as u8
}

/// FedEx Ground 15-digit check digit over 14 digits (mod 10, odd positions tripled).
pub fn fedex_ground_check(serial: &str) -> u8 {
    mod10_check(digit_values(serial), 1, 3)
}

/// DHL Express check digit: the serial as a number, mod 7.
pub fn dhl_check(serial: &str) -> u8 {
    let n = serial.bytes().fold(0u64, |acc, b| {
        acc.wrapping_mul(10)
            .wrapping_add(u64::from(b.wrapping_sub(b'0')))
    });
    (n % 7) as u8
}

/// OnTrac `C` check digit over the 13 serial digits (a `4` is prepended unless one leads).
pub fn ontrac_check(serial: &str) -> u8 {
    let lead = if serial.starts_with('4') { "" } else { "4" };
    mod10_check(digit_values(lead).chain(digit_values(serial)), 1, 2)
}

/// Canada Post 16-digit check digit over 15 digits (mod 10, even positions tripled).
pub fn canada_post_check(serial: &str) -> u8 {
    mod10_check(digit_values(serial), 3, 1)
}

/// A keyed permutation of `0..radix^digits` (a small Feistel network over the two halves of
/// the digits, as in format-preserving encryption): distinct inputs give distinct outputs,
/// and neighbouring inputs give unrelated-looking outputs, for `radix^digits` up to `u64::MAX`.
/// Outside that (or for a radix below 2), `x` is returned as it is.
pub fn permute(x: u64, radix: u64, digits: u32, key: u64) -> u64 {
    let u = digits / 2;
    let v = digits - u;
    let (Some(mod_u), Some(mod_v)) = (radix.checked_pow(u), radix.checked_pow(v)) else {
        return x;
    };
    if radix < 2 || mod_u.checked_mul(mod_v).is_none() {
        return x;
    }
    let mut a = (x / mod_v) % mod_u;
    let mut b = x % mod_v;
    for round in 0..8u64 {
        let m = if round % 2 == 0 { mod_u } else { mod_v };
        let f = mix64(b ^ key ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % m;
        let c = (a % m + f) % m;
        a = b;
        b = c;
    }
    a * mod_v + b
}

/// `unique` spread over `digits` decimal digits (at most 19) by a keyed permutation,
/// zero-padded: distinct below `10^digits`, random-looking.
pub fn spread_digits(unique: u64, salt: u64, digits: u32) -> String {
    let digits = digits.min(19);
    let x = permute(
        unique % 10u64.pow(digits),
        10,
        digits,
        salt ^ u64::from(digits),
    );
    format!("{x:0width$}", width = digits as usize)
}

/// `n` base-36 characters (digits and upper-case letters) of `x`.
fn base36(mut x: u64, n: usize) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; n];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(x % 36) as usize];
        x /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn push_check(mut id: String, check: u8) -> String {
    id.push(char::from(b'0' + check));
    id
}

/// Makes tracking IDs for one workload (the salt makes seeds differ).
#[derive(Debug, Clone, Copy)]
pub struct IdMaker {
    salt: u64,
}

impl IdMaker {
    /// A maker whose IDs depend on `seed`.
    pub fn new(seed: u64) -> IdMaker {
        IdMaker {
            salt: mix64(seed ^ 0x1D5_EED),
        }
    }

    fn spread(&self, unique: u64, digits: u32) -> String {
        spread_digits(unique, self.salt, digits)
    }

    /// UPS `1Z` + 6-character shipper + 2-digit service + 7-digit package + check digit.
    /// The 7-digit package number repeats only every 10 million packages, under another
    /// service code (so every 60 million for one shipper).
    pub fn ups(&self, unique: u64, shipper: &str) -> String {
        const SERVICES: [&str; 6] = ["03", "01", "02", "12", "13", "42"];
        let service = SERVICES[((unique / 10_000_000) % 6) as usize];
        let serial = format!("{shipper}{service}{}", self.spread(unique, 7));
        push_check(format!("1Z{serial}"), ups_check(&serial))
    }

    /// USPS IMpb, 22 digits: `92`/`93`/`94` + service + mailer ID + serial + check digit.
    /// (`92` has a 7-digit serial: past 10 million packages the mailer ID moves on.)
    pub fn usps_impb(&self, unique: u64, prefix: u8, mailer: u32, rng: &mut Rng) -> String {
        const SERVICES: [&str; 5] = ["001", "055", "612", "748", "361"];
        let service = rng.pick(&SERVICES).copied().unwrap_or("001");
        let mid6 = 100_000 + mailer % 800_000;
        let mailer = u64::from(mailer) + unique / 10_000_000;
        let serial = match prefix {
            92 => format!(
                "92{service}9{:08}{}",
                mailer % 100_000_000,
                self.spread(unique, 7)
            ),
            93 => format!("93{service}{mid6}{}", self.spread(unique, 10)),
            _ => format!("94{service}{mid6}{}", self.spread(unique, 10)),
        };
        let check = usps_check(&serial);
        push_check(serial, check)
    }

    /// UPU S10: 2-letter service + 8 digits + check digit + country (`EA123456785US`).
    pub fn s10(&self, unique: u64, country: &str, rng: &mut Rng) -> String {
        const SERVICES: [&str; 5] = ["EA", "EC", "RA", "LZ", "CP"];
        let service = rng.pick(&SERVICES).copied().unwrap_or("EA");
        let serial = self.spread(unique, 8);
        let check = s10_check(&serial);
        format!("{service}{serial}{check}{country}")
    }

    /// FedEx Express 12 digits with its mod-11 check digit.
    pub fn fedex12(&self, unique: u64) -> String {
        let serial = self.spread(unique, 11);
        let check = fedex12_check(&serial);
        push_check(serial, check)
    }

    /// FedEx Ground 15 digits with its mod-10 check digit.
    pub fn fedex_ground(&self, unique: u64, rng: &mut Rng) -> String {
        let serial = format!("{}{}", 1 + rng.below(9), self.spread(unique, 13));
        let check = fedex_ground_check(&serial);
        push_check(serial, check)
    }

    /// DHL Express 10 digits: 9-digit serial + mod-7 check digit.
    pub fn dhl_express(&self, unique: u64) -> String {
        let serial = self.spread(unique, 9);
        let check = dhl_check(&serial);
        push_check(serial, check)
    }

    /// DHL eCommerce `GM` + 18 digits (no check digit).
    pub fn dhl_ecommerce(&self, unique: u64, rng: &mut Rng) -> String {
        let mut id = format!("GM{}", 2000 + rng.below(8000));
        id.push_str(&self.spread(unique, 14));
        id
    }

    /// Amazon Logistics `TBA` + 12 digits.
    pub fn amazon(&self, unique: u64, rng: &mut Rng) -> String {
        format!("TBA{}{}", 1 + rng.below(9), self.spread(unique, 11))
    }

    /// OnTrac `C` + 13 serial digits + mod-10 check digit.
    pub fn ontrac(&self, unique: u64) -> String {
        let serial = format!("1{}", self.spread(unique, 12));
        let check = ontrac_check(&serial);
        push_check(format!("C{serial}"), check)
    }

    /// LaserShip `1LS7…` (15 characters) or `LX…` (10 characters); no check digit.
    pub fn lasership(&self, unique: u64, rng: &mut Rng) -> String {
        if unique >= 10_000_000 || rng.chance(0.7) {
            format!("1LS7{}{}", 1 + rng.below(2), self.spread(unique, 10))
        } else {
            format!("LX{}{}", 1 + rng.below(3), self.spread(unique, 7))
        }
    }

    /// Canada Post 16 digits: 7-digit origin + 8-digit serial + mod-10 check digit.
    pub fn canada_post(&self, unique: u64, origin: u32) -> String {
        let origin = (u64::from(origin) + unique / 100_000_000) % 10_000_000;
        let serial = format!("{origin:07}{}", self.spread(unique, 8));
        let check = canada_post_check(&serial);
        push_check(serial, check)
    }

    /// An ID in the style of a carrier vtrack does not integrate with (digits, maybe a prefix).
    pub fn other(&self, unique: u64, prefix: &str, digits: u32) -> String {
        format!("{prefix}{}", self.spread(unique, digits))
    }
}

/// Placeholder tracking IDs sellers type when they have none; many packages share them.
pub const PLACEHOLDERS: [&str; 5] = ["123456789", "1234567890", "12345", "111111111", "0000"];

/// A UUID-shaped event ID, unique for each distinct `key` (the mix is a bijection).
pub fn event_id(key: u64, salt: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hi = mix64(key ^ salt);
    let lo = mix64(hi ^ 0x000E_7E17);
    let mut out = [b'-'; 36];
    let nibbles = (0..16).map(|i| (hi >> (60 - 4 * i)) & 0xF);
    let nibbles = nibbles.chain((0..16).map(|i| (lo >> (60 - 4 * i)) & 0xF));
    let slots = (0..36).filter(|i| ![8, 13, 18, 23].contains(i));
    for (slot, n) in slots.zip(nibbles) {
        out[slot] = HEX[n as usize];
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An Amazon-style order ID (`113-1234567-1234567`), unique for each order serial.
pub fn order_id(serial: u64, salt: u64, canada: bool) -> String {
    let digits = spread_digits(serial, salt, 14);
    let prefix = if canada {
        701 + serial % 2
    } else {
        111 + serial % 4
    };
    format!("{prefix}-{}-{}", &digits[..7], &digits[7..])
}

/// A seller ID in the marketplace's style (`A` + 13 upper-case letters and digits), unique per index.
pub fn seller_id(index: u32, salt: u64) -> String {
    let body = permute(u64::from(index), 36, 12, salt);
    let lead = char::from(b'A' + (mix64(u64::from(index) ^ salt) % 26) as u8);
    format!("A{lead}{}", base36(body, 12))
}

/// A 6-character UPS shipper number, unique per seller index.
pub fn ups_shipper(index: u32, salt: u64) -> String {
    base36(permute(u64::from(index), 36, 6, salt ^ 0x5A1), 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    // Independent checks: each re-derives the check digit differently from the makers above.

    fn digits(s: &str) -> Vec<u32> {
        s.chars().map(|c| c.to_digit(10).unwrap_or(99)).collect()
    }

    fn ups_ok(id: &str) -> bool {
        const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const VALUES: [u32; 26] = [
            2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7,
        ];
        let b: Vec<char> = id.chars().collect();
        if b.len() != 18 || !id.starts_with("1Z") {
            return false;
        }
        let (mut odd_sum, mut even_sum) = (0, 0);
        for (pos, c) in b[2..17].iter().enumerate() {
            let v = match c.to_digit(10) {
                Some(d) => d,
                None => VALUES[LETTERS.find(*c).unwrap_or(0)],
            };
            // 1-based odd positions count once, even positions twice.
            if (pos + 1) % 2 == 1 {
                odd_sum += v;
            } else {
                even_sum += v;
            }
        }
        let total = odd_sum + 2 * even_sum;
        let check = if total % 10 == 0 { 0 } else { 10 - total % 10 };
        b[17].to_digit(10) == Some(check)
    }

    /// Weighted sum where the weights repeat from the right end of the body.
    fn gs1_ok(id: &str, right_weights: [u32; 2]) -> bool {
        let d = digits(id);
        let (body, check) = d.split_at(d.len() - 1);
        let mut total = 0;
        for (k, v) in body.iter().rev().enumerate() {
            total += v * right_weights[k % 2];
        }
        (total + check[0]) % 10 == 0
    }

    fn s10_ok(id: &str) -> bool {
        let b = id.as_bytes();
        if b.len() != 13 || !b[..2].iter().all(u8::is_ascii_uppercase) {
            return false;
        }
        let d = digits(&id[2..11]);
        let w = [8, 6, 4, 2, 3, 5, 9, 7];
        let total: u32 = (0..8).map(|i| d[i] * w[i]).sum();
        let r = total % 11;
        let expect = if r == 0 {
            5
        } else if r == 1 {
            0
        } else {
            11 - r
        };
        d[8] == expect
    }

    fn fedex12_ok(id: &str) -> bool {
        let d = digits(id);
        // Weights 1,3,7 repeating from the rightmost body digit.
        let w = [1, 3, 7];
        let body = &d[..11];
        let total: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(k, v)| v * w[k % 3])
            .sum();
        d.len() == 12 && total % 11 % 10 == d[11]
    }

    fn dhl_ok(id: &str) -> bool {
        let body: u64 = id[..id.len() - 1].parse().unwrap_or(u64::MAX);
        let check: u64 = id[id.len() - 1..].parse().unwrap_or(99);
        body % 7 == check
    }

    fn ontrac_ok(id: &str) -> bool {
        // `C` + 13 + check; with the `4` prepended the body has 14 digits, doubled from the right.
        let d = digits(&format!("4{}", &id[1..]));
        let (body, check) = d.split_at(14);
        let total: u32 = body
            .iter()
            .rev()
            .enumerate()
            .map(|(k, v)| if k % 2 == 0 { v * 2 } else { *v })
            .sum();
        id.starts_with('C') && id.len() == 15 && (total + check[0]).is_multiple_of(10)
    }

    #[test]
    fn ups_ids_have_valid_check_digits() {
        let m = IdMaker::new(1);
        assert!(ups_ok("1Z999AA10123456784"));
        assert!(!ups_ok("1Z999AA10123456785"));
        for u in 0..2000 {
            let id = m.ups(u * 9_999_991, &ups_shipper(u as u32 % 50, 9));
            assert!(ups_ok(&id), "{id}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        }
    }

    #[test]
    fn usps_ids_have_valid_check_digits() {
        let m = IdMaker::new(2);
        let mut rng = Rng::new(2);
        for u in 0..2000 {
            for prefix in [92, 93, 94] {
                let id = m.usps_impb(u, prefix, 123_456 + u as u32, &mut rng);
                assert_eq!(id.len(), 22, "{id}");
                assert!(id.starts_with(&prefix.to_string()));
                assert!(gs1_ok(&id, [3, 1]), "{id}");
            }
            let s10 = m.s10(u, "US", &mut rng);
            assert!(s10_ok(&s10) && s10.ends_with("US"), "{s10}");
        }
    }

    #[test]
    fn fedex_dhl_ontrac_canada_ids_have_valid_check_digits() {
        let m = IdMaker::new(3);
        let mut rng = Rng::new(3);
        for u in 0..2000 {
            let f = m.fedex12(u);
            assert!(fedex12_ok(&f), "{f}");
            let g = m.fedex_ground(u, &mut rng);
            assert!(g.len() == 15 && gs1_ok(&g, [3, 1]), "{g}");
            let d = m.dhl_express(u);
            assert!(d.len() == 10 && dhl_ok(&d), "{d}");
            let o = m.ontrac(u);
            assert!(ontrac_ok(&o), "{o}");
            let c = m.canada_post(u, 1_234_567);
            assert!(c.len() == 16 && gs1_ok(&c, [3, 1]), "{c}");
        }
    }

    #[test]
    fn unchecked_formats_have_their_shapes() {
        let m = IdMaker::new(4);
        let mut rng = Rng::new(4);
        for u in 0..500 {
            let a = m.amazon(u, &mut rng);
            assert!(
                a.len() == 15 && a.starts_with("TBA") && a[3..].bytes().all(|b| b.is_ascii_digit())
            );
            let l = m.lasership(u, &mut rng);
            assert!(
                (l.len() == 15 && l.starts_with("1LS7")) || (l.len() == 10 && l.starts_with("LX")),
                "{l}"
            );
            let e = m.dhl_ecommerce(u, &mut rng);
            assert!(e.len() == 20 && e.starts_with("GM"), "{e}");
        }
    }

    #[test]
    fn makers_never_repeat_an_id() {
        let m = IdMaker::new(5);
        let mut rng = Rng::new(5);
        let mut seen = HashSet::new();
        for u in 0..20_000 {
            assert!(seen.insert(m.fedex12(u)));
            assert!(seen.insert(m.dhl_express(u)));
            assert!(seen.insert(m.usps_impb(u, 94, 77, &mut rng)));
            // Past the 7-digit range, the service code (UPS) or mailer ID (USPS 92) moves on.
            let far = u + 10_000_000;
            assert_ne!(m.ups(u, "ABC123"), m.ups(far, "ABC123"));
            let (a, b) = (
                m.usps_impb(u, 92, 5, &mut rng),
                m.usps_impb(far, 92, 5, &mut rng),
            );
            assert_ne!(a[5..], b[5..]);
        }
    }

    #[test]
    fn permute_is_a_bijection() {
        for (radix, digits) in [(10u64, 1), (10, 2), (10, 3), (10, 4), (36, 2), (36, 3)] {
            let n = radix.pow(digits);
            let out: HashSet<u64> = (0..n).map(|x| permute(x, radix, digits, 99)).collect();
            assert_eq!(out.len() as u64, n);
            assert!(out.iter().all(|y| *y < n));
        }
        assert_eq!(permute(5, 1, 3, 0), 5);
        assert_eq!(permute(5, 10, 30, 0), 5);
    }

    #[test]
    fn identifiers_are_unique_and_well_shaped() {
        let mut ev = HashSet::new();
        let mut orders = HashSet::new();
        let mut sellers = HashSet::new();
        for k in 0..20_000u64 {
            let e = event_id(k, 11);
            assert_eq!(e.len(), 36);
            let hi = mix64(k ^ 11);
            let lo = mix64(hi ^ 0x000E_7E17);
            let expect = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                hi >> 32,
                (hi >> 16) & 0xFFFF,
                hi & 0xFFFF,
                lo >> 48,
                lo & 0xFFFF_FFFF_FFFF
            );
            assert_eq!(e, expect);
            assert!(ev.insert(e));
            let o = order_id(k, 12, k % 3 == 0);
            assert_eq!(o.len(), 19);
            assert!(orders.insert(o));
            let s = seller_id(k as u32, 13);
            assert_eq!(s.len(), 14);
            assert!(sellers.insert(s));
        }
    }
}
