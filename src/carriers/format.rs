//! Compiled tracking-ID formats and the hot-path matcher behind
//! [`CarrierRegistry::analyze`](super::CarrierRegistry::analyze).
//!
//! One `RegexSet` over every format finds, in a single pass over the ID, the formats whose
//! regex matches; only those run their captures, check digit and lookups.

use super::check_digit::CheckDigit;
use super::{CarrierSet, FormatMatch};
use regex::{CaptureLocations, Regex, RegexSet};

/// Longest check-digit sequence (serial plus prefix) checked without allocating.
const STACK_SEQUENCE: usize = 64;

/// A check digit and where its inputs sit in the regex.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// The algorithm.
    pub algorithm: CheckDigit,
    /// Index of the `SerialNumber` capture group.
    pub serial_group: usize,
    /// Index of the `CheckDigit` capture group.
    pub check_group: usize,
    /// Text put before the serial unless the serial already starts with it.
    pub serial_prefix: Option<Box<[u8]>>,
}

/// A capture group whose text must be one of a list of values.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// Index of the capture group.
    pub group: usize,
    /// The accepted values, sorted.
    pub values: Vec<Box<[u8]>>,
}

/// One compiled format.
#[derive(Debug, Clone)]
pub struct Format {
    /// Name of the format, for error messages and debugging.
    pub name: String,
    /// The carriers whose formats include this one.
    pub carriers: CarrierSet,
    /// The regex, anchored at both ends.
    pub regex: Regex,
    /// Longest ID accepted.
    pub max_length: usize,
    /// The check digit, if the format has one.
    pub check: Option<CheckSpec>,
    /// Lookups that must hold.
    pub lookups: Vec<Lookup>,
}

impl Format {
    /// True when the ID (already known to match the regex) passes the check digit and lookups.
    fn passes(&self, id: &str) -> bool {
        if self.check.is_none() && self.lookups.is_empty() {
            return true;
        }
        let mut locs = self.regex.capture_locations();
        if self.regex.captures_read(&mut locs, id).is_none() {
            return false;
        }
        let bytes = id.as_bytes();
        self.lookups.iter().all(|l| l.holds(&locs, bytes))
            && self.check.as_ref().is_none_or(|c| c.holds(&locs, bytes))
    }
}

/// The text of a capture group, if it took part in the match.
fn group<'h>(locs: &CaptureLocations, i: usize, id: &'h [u8]) -> Option<&'h [u8]> {
    locs.get(i).and_then(|(s, e)| id.get(s..e))
}

impl Lookup {
    /// True when the group's text is one of the values.
    fn holds(&self, locs: &CaptureLocations, id: &[u8]) -> bool {
        group(locs, self.group, id)
            .is_some_and(|v| self.values.binary_search_by(|x| (**x).cmp(v)).is_ok())
    }
}

impl CheckSpec {
    /// True when the check digit holds for the serial (with its prefix).
    fn holds(&self, locs: &CaptureLocations, id: &[u8]) -> bool {
        let (Some(serial), Some(&[check])) = (
            group(locs, self.serial_group, id),
            group(locs, self.check_group, id),
        ) else {
            return false;
        };
        match self.serial_prefix.as_deref() {
            Some(prefix) if !serial.starts_with(prefix) => {
                self.holds_with_prefix(prefix, serial, check)
            }
            _ => self.algorithm.holds(serial, check),
        }
    }

    /// The check over `prefix` followed by `serial`.
    fn holds_with_prefix(&self, prefix: &[u8], serial: &[u8], check: u8) -> bool {
        let len = prefix.len() + serial.len();
        if len > STACK_SEQUENCE {
            return self.algorithm.holds(&[prefix, serial].concat(), check);
        }
        let mut buf = [0u8; STACK_SEQUENCE];
        buf[..prefix.len()].copy_from_slice(prefix);
        buf[prefix.len()..len].copy_from_slice(serial);
        self.algorithm.holds(&buf[..len], check)
    }
}

/// Every format of a registry.
#[derive(Debug, Clone)]
pub struct Formats {
    list: Vec<Format>,
    set: RegexSet,
    longest: usize,
}

impl Formats {
    /// Compiles the set over the formats' regexes.
    pub fn new(list: Vec<Format>) -> Result<Formats, regex::Error> {
        let set = RegexSet::new(list.iter().map(|f| f.regex.as_str()))?;
        let longest = list.iter().map(|f| f.max_length).max().unwrap_or(0);
        Ok(Formats { list, set, longest })
    }

    /// Which carriers' formats the normalised ID passes.
    pub fn analyze(&self, id: &str) -> FormatMatch {
        let mut m = FormatMatch::default();
        if id.is_empty() || id.len() > self.longest {
            return m;
        }
        for i in self.set.matches(id).iter() {
            let f = &self.list[i];
            if f.len_ok(id) && !m.covers(f) && f.passes(id) {
                m.passes |= f.carriers;
                if f.check.is_some() {
                    m.passes_with_check_digit |= f.carriers;
                }
            }
        }
        m
    }

    /// The names of every format the normalised ID passes, in file order.
    pub fn passing(&self, id: &str) -> Vec<&str> {
        self.set
            .matches(id)
            .iter()
            .map(|i| &self.list[i])
            .filter(|f| f.len_ok(id) && f.passes(id))
            .map(|f| f.name.as_str())
            .collect()
    }
}

impl Format {
    /// True when the ID is not longer than the format allows.
    fn len_ok(&self, id: &str) -> bool {
        id.len() <= self.max_length
    }
}

impl FormatMatch {
    /// True when passing `f` could add nothing to this match.
    fn covers(&self, f: &Format) -> bool {
        let set = if f.check.is_some() {
            self.passes_with_check_digit
        } else {
            self.passes
        };
        f.carriers & !set == 0
    }
}
