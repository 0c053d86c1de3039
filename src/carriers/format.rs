//! Compiled tracking-ID formats and the hot-path matcher behind
//! [`CarrierRegistry::analyze`](super::CarrierRegistry::analyze).
//!
//! Most format regexes are fixed sequences of character classes: such a format is matched
//! position by position against the shapes of its regex (see [`super::pattern`]), and its
//! capture groups sit at known offsets, so no regex runs. The other formats run their regex,
//! and only for IDs of the lengths and first characters it allows.

use super::check_digit::CheckDigit;
use super::pattern::{self, Bounds, ByteSet, Shapes};
use super::{CarrierSet, FormatMatch};
use regex::Regex;

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

/// How a format decides whether an ID matches its regex.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The shapes of the regex.
    Shapes(Shapes),
    /// The regex itself, run only for IDs within these bounds.
    Regex(Bounds),
}

impl Matcher {
    /// The matcher of a format: its shapes when `source` (the regex as written, compiled as
    /// `regex`) is read and expands into few enough of them, else the regex within the
    /// bounds read from `source`, if any.
    pub fn new(source: &str, regex: &Regex) -> Matcher {
        let Some(parsed) = pattern::parse(source) else {
            return Matcher::Regex(Bounds::ANY);
        };
        // The groups must be numbered as the regex numbers them (always so, unless the
        // reading is wrong: then the regex alone decides).
        let names: Vec<Option<&str>> = regex.capture_names().skip(1).collect();
        if !parsed
            .names
            .iter()
            .map(Option::as_deref)
            .eq(names.iter().copied())
        {
            return Matcher::Regex(Bounds::ANY);
        }
        match parsed.pattern.shapes(names.len()) {
            Some(shapes) => Matcher::Shapes(shapes),
            None => Matcher::Regex(parsed.pattern.bounds()),
        }
    }

    /// The characters a non-empty matching ID may start with.
    fn first(&self) -> ByteSet {
        match self {
            Matcher::Shapes(shapes) => shapes.first(),
            Matcher::Regex(bounds) => bounds.first,
        }
    }
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
    /// How an ID is matched against the regex.
    pub matcher: Matcher,
    /// Longest ID accepted.
    pub max_length: usize,
    /// The check digit, if the format has one.
    pub check: Option<CheckSpec>,
    /// Lookups that must hold.
    pub lookups: Vec<Lookup>,
}

impl Format {
    /// True when the ID passes the format: not too long, matching the regex, and with the
    /// check digit and lookups holding.
    fn passes(&self, id: &str) -> bool {
        let bytes = id.as_bytes();
        if bytes.len() > self.max_length {
            return false;
        }
        match &self.matcher {
            Matcher::Shapes(shapes) => shapes
                .find(bytes)
                .is_some_and(|s| self.holds(|i| s.spans.get(i).copied().flatten(), bytes)),
            Matcher::Regex(bounds) => bounds.admit(bytes) && self.passes_by_regex(id),
        }
    }

    /// False when no ID of `n` characters can pass the format.
    fn has_length(&self, n: usize) -> bool {
        n <= self.max_length
            && match &self.matcher {
                Matcher::Shapes(shapes) => shapes.has_length(n),
                Matcher::Regex(bounds) => bounds.has_length(n),
            }
    }

    /// False when no ID of `n` characters or more can pass the format.
    fn admits_longer(&self, n: usize) -> bool {
        n <= self.max_length
            && match &self.matcher {
                Matcher::Shapes(shapes) => shapes.longest() >= n,
                Matcher::Regex(bounds) => bounds.max.is_none_or(|m| m >= n),
            }
    }

    /// [`Format::passes`] by running the regex.
    fn passes_by_regex(&self, id: &str) -> bool {
        if id.len() > self.max_length {
            return false;
        }
        if self.check.is_none() && self.lookups.is_empty() {
            return self.regex.is_match(id);
        }
        let mut locs = self.regex.capture_locations();
        self.regex.captures_read(&mut locs, id).is_some()
            && self.holds(|i| locs.get(i), id.as_bytes())
    }

    /// True when the lookups and the check digit hold, given where each capture group of
    /// the match sits (`span`).
    fn holds(&self, span: impl Fn(usize) -> Option<(usize, usize)>, id: &[u8]) -> bool {
        let group = |i: usize| span(i).and_then(|(s, e)| id.get(s..e));
        self.lookups.iter().all(|l| l.holds(group(l.group)))
            && self
                .check
                .as_ref()
                .is_none_or(|c| c.holds(group(c.serial_group), group(c.check_group)))
    }
}

impl Lookup {
    /// True when the group took part and its text is one of the values.
    fn holds(&self, text: Option<&[u8]>) -> bool {
        text.is_some_and(|v| self.values.binary_search_by(|x| (**x).cmp(v)).is_ok())
    }
}

impl CheckSpec {
    /// True when the check digit (one character) holds for the serial (with its prefix).
    fn holds(&self, serial: Option<&[u8]>, check: Option<&[u8]>) -> bool {
        let (Some(serial), Some(&[check])) = (serial, check) else {
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

/// IDs shorter than this find the formats that may pass them in an index by length.
const INDEXED_LENGTHS: usize = 128;

/// Every format of a registry.
#[derive(Debug, Clone)]
pub struct Formats {
    list: Vec<Format>,
    longest: usize,
    /// For each ID length below `INDEXED_LENGTHS`, then for longer IDs, the formats that may
    /// pass such an ID, in file order.
    by_length: Vec<Vec<usize>>,
    /// For each format, the characters an ID passing it may start with.
    first: Vec<ByteSet>,
}

impl Formats {
    /// The formats, in file order.
    pub fn new(list: Vec<Format>) -> Formats {
        let longest = list.iter().map(|f| f.max_length).max().unwrap_or(0);
        let by_length = (0..=INDEXED_LENGTHS)
            .map(|n| {
                let admits = |f: &Format| match n {
                    INDEXED_LENGTHS => f.admits_longer(n),
                    _ => f.has_length(n),
                };
                (0..list.len()).filter(|&i| admits(&list[i])).collect()
            })
            .collect();
        let first = list.iter().map(|f| f.matcher.first()).collect();
        Formats {
            list,
            longest,
            by_length,
            first,
        }
    }

    /// The formats that may pass the ID, by its length and first character, in file order.
    fn candidates<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a Format> + 'a {
        let first = id.as_bytes().first().copied();
        self.by_length[id.len().min(INDEXED_LENGTHS)]
            .iter()
            .filter(move |&&i| first.is_none_or(|b| self.first[i].contains(b)))
            .map(|&i| &self.list[i])
    }

    /// Which carriers' formats the normalised ID passes.
    pub fn analyze(&self, id: &str) -> FormatMatch {
        let mut m = FormatMatch::default();
        if id.is_empty() || id.len() > self.longest {
            return m;
        }
        for f in self.candidates(id) {
            if !m.covers(f) && f.passes(id) {
                m.add(f);
            }
        }
        m
    }

    /// The names of every format the normalised ID passes, in file order.
    pub fn passing(&self, id: &str) -> Vec<&str> {
        self.candidates(id)
            .filter(|f| f.passes(id))
            .map(|f| f.name.as_str())
            .collect()
    }
}

impl FormatMatch {
    /// Adds what passing `f` says.
    fn add(&mut self, f: &Format) {
        self.passes |= f.carriers;
        if f.check.is_some() {
            self.passes_with_check_digit |= f.carriers;
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carriers::CarrierRegistry;
    use proptest::prelude::*;

    impl Formats {
        /// [`Formats::analyze`] by running every format's regex.
        fn analyze_by_regex(&self, id: &str) -> FormatMatch {
            let mut m = FormatMatch::default();
            if id.is_empty() || id.len() > self.longest {
                return m;
            }
            for f in self.list.iter().filter(|f| f.passes_by_regex(id)) {
                m.add(f);
            }
            m
        }

        /// [`Formats::passing`] by running every format's regex.
        fn passing_by_regex(&self, id: &str) -> Vec<&str> {
            self.list
                .iter()
                .filter(|f| f.passes_by_regex(id))
                .map(|f| f.name.as_str())
                .collect()
        }

        /// Fails when the fast path and the regexes disagree on the ID.
        fn assert_agree(&self, id: &str) {
            assert_eq!(self.analyze(id), self.analyze_by_regex(id), "{id:?}");
            assert_eq!(self.passing(id), self.passing_by_regex(id), "{id:?}");
        }
    }

    /// The default registry, loaded once for all the cases.
    static DEFAULT: std::sync::LazyLock<CarrierRegistry> =
        std::sync::LazyLock::new(CarrierRegistry::default_us);

    /// The regex of a format as written in the file, without its anchors.
    fn unanchored(f: &Format) -> &str {
        let s = f.regex.as_str();
        let s = &s["^(?:".len()..s.len() - ")$".len()];
        let s = s.strip_prefix('^').unwrap_or(s);
        s.strip_suffix('$').unwrap_or(s)
    }

    #[test]
    fn every_default_format_is_matched_without_its_regex() {
        let r = CarrierRegistry::default_us();
        for f in &r.formats.list {
            assert!(matches!(f.matcher, Matcher::Shapes(_)), "{}", f.name);
        }
    }

    #[test]
    fn generated_ids_give_the_regex_answers() {
        let r = CarrierRegistry::default_us();
        let opts = crate::generate::GenerateOptions {
            packages: 3_000,
            sellers: 50,
            ..crate::generate::GenerateOptions::default()
        };
        let mut seen = 0;
        for e in crate::generate::generate(&opts) {
            let raw = match &e {
                crate::event::Event::Confirmation(c) => c.tracking_id.clone(),
                crate::event::Event::Scan(s) => s.tracking_id.clone(),
            };
            r.formats.assert_agree(&raw);
            if let crate::tracking_id::TrackingId::Normalized(id) =
                crate::tracking_id::normalize(&raw)
            {
                r.formats.assert_agree(&id);
                seen += usize::from(r.formats.analyze(&id) != FormatMatch::default());
            }
        }
        assert!(seen > 1_000, "{seen} IDs pass a format");
    }

    /// IDs made from the formats' own regexes, then maybe changed in one place.
    fn near_ids(r: &CarrierRegistry) -> impl Strategy<Value = String> {
        let from_formats: Vec<BoxedStrategy<String>> = r
            .formats
            .list
            .iter()
            .map(|f| {
                proptest::string::string_regex(unanchored(f))
                    .expect("the format regexes generate strings")
                    .boxed()
            })
            .collect();
        let ids = proptest::strategy::Union::new(from_formats);
        let edit = prop_oneof![
            Just(None),
            (any::<prop::sample::Index>(), "[0-9A-Z]").prop_map(|(i, c)| Some((i, c, 0))),
            (any::<prop::sample::Index>(), "[0-9A-Z]").prop_map(|(i, c)| Some((i, c, 1))),
            any::<prop::sample::Index>().prop_map(|i| Some((i, String::new(), 2))),
        ];
        (ids, edit).prop_map(|(mut id, edit)| {
            if let Some((at, c, kind)) = edit {
                let at = at.index(id.len() + 1);
                match kind {
                    0 if at < id.len() => id.replace_range(at..=at, &c),
                    1 => id.insert_str(at, &c),
                    _ if at < id.len() => {
                        id.remove(at);
                    }
                    _ => {}
                }
            }
            id
        })
    }

    /// Formats that take every path of the matcher: shapes whose captures depend on the
    /// regex's choice of path, a lookup on a group that may take no part, a regex with an
    /// unlimited repetition (run within bounds) and one the reading does not know.
    const ODD: &str = r#"
[carriers.AA]
name = "A"
integrated = true
formats = ["a"]

[carriers.BB]
name = "B"
integrated = true
formats = ["b"]

[carriers.CC]
name = "C"
integrated = false
formats = ["a", "c"]

[[formats.a]]
name = "choice"
regex = '^(?<SerialNumber>(?:1|12)[0-9]{1,3}?)(?<CheckDigit>[0-9])[0-9]?$'
check_digit = { algorithm = "luhn" }

[[formats.a]]
name = "lookup"
regex = '^(?:(?<K>A[BC])|B(?<L>[0-9]))[0-9]{1,2}$'

[[formats.a.lookups]]
group = "K"
values = ["AB"]

[[formats.b]]
name = "unlimited"
regex = '^(?<SerialNumber>[A-C]+[0-9]*)(?<CheckDigit>[0-9])$'
check_digit = { algorithm = "mod10", odds_multiplier = 3 }

[[formats.c]]
name = "any digit"
regex = '^\d[0-9]{1,2}$'

[[formats.c]]
name = "unknown syntax"
regex = '^C(?<SerialNumber>\d{2,})(?<CheckDigit>[0-9])$'
check_digit = { algorithm = "mod7" }
max_length = 7
"#;

    static ODD_REGISTRY: std::sync::LazyLock<CarrierRegistry> =
        std::sync::LazyLock::new(|| CarrierRegistry::from_toml(ODD).expect("loads"));

    #[test]
    fn odd_formats_take_every_matcher() {
        let kinds: Vec<bool> = ODD_REGISTRY
            .formats
            .list
            .iter()
            .map(|f| matches!(f.matcher, Matcher::Shapes(_)))
            .collect();
        assert_eq!(kinds, [true, true, false, false, false]);
        assert_eq!(ODD_REGISTRY.formats.passing("٣12"), ["any digit"]);
        assert_eq!(ODD_REGISTRY.formats.passing("AB12"), ["lookup"]);
        assert!(ODD_REGISTRY.formats.passing("AC12").is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn odd_formats_give_the_regex_answers(id in "[ABC0-9٣]{0,8}") {
            ODD_REGISTRY.formats.assert_agree(&id);
        }

        #[test]
        fn ids_near_the_formats_give_the_regex_answers(id in near_ids(&DEFAULT)) {
            DEFAULT.formats.assert_agree(&id);
        }

        #[test]
        fn any_ids_give_the_regex_answers(id in prop_oneof![
            "[0-9]{0,40}",
            "[0-9A-Z]{0,40}",
            "[0-9A-Z]{1,4}[0-9]{6,36}[0-9A-Z]{0,3}",
            ".{0,40}",
        ]) {
            DEFAULT.formats.assert_agree(&id);
        }
    }
}
