//! A reading of the format regexes that lets most IDs be judged without running a regex.
//!
//! Format regexes are mostly fixed sequences of character classes (`1Z[0-9A-Z]{15}[0-9]`).
//! [`parse`] reads the small part of the regex syntax such patterns use (literal letters and
//! digits, classes of them, groups, alternation, bounded repetition, `^` and `$`); anything
//! else gives `None` and leaves the format to its regex.
//!
//! A pattern whose every path has a fixed length expands, by [`Pattern::shapes`], into its
//! [`Shape`]s: one character class per position, and where each capture group sits. Among
//! the shapes of one length (only those compete for an ID) the order is the one in which a
//! backtracking matcher tries the paths, so the first shape an ID fits gives the captures the
//! regex reports (leftmost-first semantics). Any other pattern still gives, by
//! [`Pattern::bounds`], the lengths and first characters an ID must have to match it, to
//! skip the regex for most IDs.

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    /// Every byte.
    pub const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    /// The bytes `from..=to`.
    fn range(from: u8, to: u8) -> ByteSet {
        let mut set = ByteSet::default();
        for b in from..=to {
            set.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
        set
    }

    /// True when `b` is in the set.
    pub fn contains(self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] >> (b & 63) & 1 != 0
    }

    /// Both sets together.
    fn union(self, other: ByteSet) -> ByteSet {
        let mut set = self;
        for (mine, theirs) in set.0.iter_mut().zip(other.0) {
            *mine |= theirs;
        }
        set
    }
}

/// A parsed regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// One character of a set.
    Class(ByteSet),
    /// `^` (start of the ID) or `$` (end of the ID).
    Anchor(Anchor),
    /// The parts one after the other.
    Concat(Vec<Pattern>),
    /// The first alternative that leads to a match.
    Alternation(Vec<Pattern>),
    /// `min` to `max` repetitions (`None`: no limit); greedy tries the most first.
    Repeat {
        /// The repeated pattern.
        inner: Box<Pattern>,
        /// Fewest repetitions.
        min: u32,
        /// Most repetitions, if limited.
        max: Option<u32>,
        /// Prefers more repetitions (the default) rather than fewer (`?` after the count).
        greedy: bool,
    },
    /// A capturing group (its index as the regex numbers it) or a non-capturing one (`None`).
    Group {
        /// Index of the capture group: 1 for the first opening parenthesis, and so on.
        index: Option<usize>,
        /// The grouped pattern.
        inner: Box<Pattern>,
    },
}

/// A zero-width assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `^`: the start of the ID.
    Start,
    /// `$`: the end of the ID.
    End,
}

/// A pattern read from a regex and the names of its capture groups, in index order
/// (`None` for an unnamed group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The pattern.
    pub pattern: Pattern,
    /// Name of each capture group, for the indexes 1, 2, ….
    pub names: Vec<Option<String>>,
}

/// Reads a regex, or `None` when it uses syntax outside the small part this module knows.
pub fn parse(regex: &str) -> Option<Parsed> {
    let mut p = Parser {
        text: regex.as_bytes(),
        at: 0,
        names: Vec::new(),
    };
    let pattern = p.alternation()?;
    (p.at == p.text.len()).then_some(Parsed {
        pattern,
        names: p.names,
    })
}

/// A recursive-descent reader over the bytes of a regex.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    names: Vec<Option<String>>,
}

impl Parser<'_> {
    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Steps over `b` if it comes next.
    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.at += usize::from(found);
        found
    }

    /// Steps over `s` if it comes next.
    fn eat_str(&mut self, s: &[u8]) -> bool {
        let found = self.text[self.at..].starts_with(s);
        if found {
            self.at += s.len();
        }
        found
    }

    /// `a|b|…`.
    fn alternation(&mut self) -> Option<Pattern> {
        let mut branches = vec![self.concat()?];
        while self.eat(b'|') {
            branches.push(self.concat()?);
        }
        Some(if branches.len() == 1 {
            branches.pop()?
        } else {
            Pattern::Alternation(branches)
        })
    }

    /// Repeated atoms up to `|`, `)` or the end.
    fn concat(&mut self) -> Option<Pattern> {
        let mut parts = Vec::new();
        while !matches!(self.peek(), None | Some(b'|' | b')')) {
            let atom = self.atom()?;
            parts.push(self.repetition(atom)?);
        }
        Some(Pattern::Concat(parts))
    }

    /// A literal, a class, a group or an anchor.
    fn atom(&mut self) -> Option<Pattern> {
        let b = self.peek()?;
        self.at += 1;
        match b {
            b'(' => self.group(),
            b'[' => self.class(),
            b'^' => Some(Pattern::Anchor(Anchor::Start)),
            b'$' => Some(Pattern::Anchor(Anchor::End)),
            b if b.is_ascii_alphanumeric() => Some(Pattern::Class(ByteSet::range(b, b))),
            _ => None,
        }
    }

    /// After `(`: `(?:…)`, `(?<name>…)`, `(?P<name>…)` or `(…)`.
    fn group(&mut self) -> Option<Pattern> {
        let index = if self.eat_str(b"?:") {
            None
        } else if self.eat_str(b"?<") || self.eat_str(b"?P<") {
            let end = self.text[self.at..].iter().position(|&b| b == b'>')?;
            let name = std::str::from_utf8(&self.text[self.at..self.at + end]).ok()?;
            self.names.push(Some(name.to_string()));
            self.at += end + 1;
            Some(self.names.len())
        } else if self.peek() == Some(b'?') {
            return None; // flags
        } else {
            self.names.push(None);
            Some(self.names.len())
        };
        let inner = Box::new(self.alternation()?);
        self.eat(b')').then_some(Pattern::Group { index, inner })
    }

    /// After `[`: letters, digits and ranges of them, up to `]`.
    fn class(&mut self) -> Option<Pattern> {
        let mut set = ByteSet::default();
        let mut empty = true;
        loop {
            let from = self.peek()?;
            self.at += 1;
            if from == b']' && !empty {
                return Some(Pattern::Class(set));
            }
            if !from.is_ascii_alphanumeric() {
                return None;
            }
            let mut to = from;
            if self.peek() == Some(b'-') && self.text.get(self.at + 1) != Some(&b']') {
                to = *self.text.get(self.at + 1)?;
                if !to.is_ascii_alphanumeric() || to < from {
                    return None;
                }
                self.at += 2;
            }
            set = set.union(ByteSet::range(from, to));
            empty = false;
        }
    }

    /// The quantifiers after an atom, if any: `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, each
    /// optionally followed by `?` (lazy).
    fn repetition(&mut self, atom: Pattern) -> Option<Pattern> {
        let (min, max) = match self.peek() {
            Some(b'?') => (0, Some(1)),
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'{') => {
                self.at += 1;
                let min = self.number()?;
                let max = if self.eat(b',') {
                    match self.peek() {
                        Some(b'}') => None,
                        _ => Some(self.number()?),
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some(b'}') || max.is_some_and(|m| m < min) {
                    return None;
                }
                (min, max)
            }
            _ => return Some(atom),
        };
        self.at += 1;
        let greedy = !self.eat(b'?');
        if matches!(atom, Pattern::Anchor(_))
            || matches!(self.peek(), Some(b'?' | b'*' | b'+' | b'{'))
        {
            return None;
        }
        Some(Pattern::Repeat {
            inner: Box::new(atom),
            min,
            max,
            greedy,
        })
    }

    /// A decimal count.
    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        std::str::from_utf8(&self.text[start..self.at])
            .ok()?
            .parse()
            .ok()
    }
}

/// Most shapes a pattern may expand into before it is left to its regex.
const MAX_SHAPES: usize = 512;

/// Longest shape expanded (longer ones leave the pattern to its regex).
const MAX_LENGTH: usize = 127;

/// One fixed-length path through a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The class of each position.
    pub classes: Vec<ByteSet>,
    /// Where each capture group sits (index 0 unused), `None` when it took no part.
    pub spans: Vec<Option<(usize, usize)>>,
    /// A `^` with nothing before it.
    starts: bool,
    /// A `$` with nothing after it.
    ends: bool,
}

impl Shape {
    /// The shape of the empty string.
    fn empty(groups: usize) -> Shape {
        Shape {
            classes: Vec::new(),
            spans: vec![None; groups + 1],
            starts: false,
            ends: false,
        }
    }

    /// True when the ID fits the shape.
    pub fn fits(&self, id: &[u8]) -> bool {
        id.len() == self.classes.len() && self.classes.iter().zip(id).all(|(c, &b)| c.contains(b))
    }

    /// `self` followed by `next`, unless an anchor rules that out. Capture groups of `next`
    /// replace those of `self` (the last repetition of a group is the one reported).
    fn then(&self, next: &Shape) -> Option<Shape> {
        let offset = self.classes.len();
        if (next.starts && offset > 0) || (self.ends && !next.classes.is_empty()) {
            return None;
        }
        let mut classes = Vec::with_capacity(offset + next.classes.len());
        classes.extend_from_slice(&self.classes);
        classes.extend_from_slice(&next.classes);
        let spans = self
            .spans
            .iter()
            .zip(&next.spans)
            .map(|(&mine, &theirs)| theirs.map(|(s, e)| (s + offset, e + offset)).or(mine))
            .collect();
        Some(Shape {
            classes,
            spans,
            starts: self.starts || next.starts,
            ends: next.ends || (self.ends && next.classes.is_empty()),
        })
    }
}

/// The shapes of a pattern, shortest first (in the regex's order among those of a length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shapes {
    list: Vec<Shape>,
    /// Bit `n` is set when a shape has length `n`.
    lengths: u128,
}

impl Shapes {
    /// Sorts the shapes by length, keeping the regex's order among those of one length
    /// (only shapes of one length compete for an ID).
    fn new(mut list: Vec<Shape>) -> Shapes {
        list.sort_by_key(|s| s.classes.len());
        let lengths = list.iter().fold(0, |set, s| set | 1u128 << s.classes.len());
        Shapes { list, lengths }
    }

    /// The characters a non-empty ID fitting a shape may start with.
    pub fn first(&self) -> ByteSet {
        self.list
            .iter()
            .filter_map(|s| s.classes.first())
            .fold(ByteSet::default(), |set, &c| set.union(c))
    }

    /// The length of the longest shape (0 when there are none).
    pub fn longest(&self) -> usize {
        self.list.last().map_or(0, |s| s.classes.len())
    }

    /// True when a shape has `n` characters.
    pub fn has_length(&self, n: usize) -> bool {
        n <= MAX_LENGTH && self.lengths & (1u128 << n) != 0
    }

    /// The shape the regex would match the ID with, if it matches.
    pub fn find(&self, id: &[u8]) -> Option<&Shape> {
        let n = id.len();
        if !self.has_length(n) {
            return None;
        }
        let start = self.list.partition_point(|s| s.classes.len() < n);
        self.list[start..]
            .iter()
            .take_while(|s| s.classes.len() == n)
            .find(|s| s.fits(id))
    }
}

/// The lengths and first characters of the IDs a pattern may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Shortest.
    pub min: usize,
    /// Longest, if limited.
    pub max: Option<usize>,
    /// The characters a non-empty match may start with.
    pub first: ByteSet,
}

impl Bounds {
    /// Bounds every ID is within.
    pub const ANY: Bounds = Bounds {
        min: 0,
        max: None,
        first: ByteSet::ALL,
    };

    /// True when the bounds admit IDs of `n` characters.
    pub fn has_length(&self, n: usize) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }

    /// False when the ID cannot match: too short, too long or with another first character.
    pub fn admit(&self, id: &[u8]) -> bool {
        self.has_length(id.len()) && id.first().is_none_or(|&b| self.first.contains(b))
    }
}

impl Pattern {
    /// The fixed-length paths of the pattern, or `None` when the pattern has an unlimited
    /// repetition, too many paths or too long ones. `groups` is the number of capture groups.
    pub fn shapes(&self, groups: usize) -> Option<Shapes> {
        self.expand(groups).map(Shapes::new)
    }

    /// The fixed-length paths of the pattern in the order a backtracking matcher tries them.
    fn expand(&self, groups: usize) -> Option<Vec<Shape>> {
        let one = |s: Shape| Some(vec![s]);
        match self {
            Pattern::Class(c) => one(Shape {
                classes: vec![*c],
                ..Shape::empty(groups)
            }),
            Pattern::Anchor(a) => one(Shape {
                starts: *a == Anchor::Start,
                ends: *a == Anchor::End,
                ..Shape::empty(groups)
            }),
            Pattern::Concat(parts) => {
                let mut shapes = vec![Shape::empty(groups)];
                for part in parts {
                    let next = part.expand(groups)?;
                    shapes = sequence(&shapes, &next)?;
                }
                Some(shapes)
            }
            Pattern::Alternation(branches) => {
                let mut shapes = Vec::new();
                for b in branches {
                    shapes.extend(b.expand(groups)?);
                }
                (shapes.len() <= MAX_SHAPES).then_some(shapes)
            }
            Pattern::Repeat {
                inner,
                min,
                max,
                greedy,
            } => {
                let inner = inner.expand(groups)?;
                let mut shapes = vec![Shape::empty(groups)];
                for _ in 0..*min {
                    shapes = sequence(&shapes, &inner)?;
                }
                // Each optional repetition nests the next: (x(x(x)?)?)?, the way a
                // backtracking matcher (and the regex crate's compiler) orders them.
                let mut tail = vec![Shape::empty(groups)];
                for _ in *min..(*max)? {
                    let more = sequence(&inner, &tail)?;
                    let none = Shape::empty(groups);
                    tail = if *greedy {
                        more.into_iter().chain([none]).collect()
                    } else {
                        std::iter::once(none).chain(more).collect()
                    };
                    if tail.len() > MAX_SHAPES {
                        return None;
                    }
                }
                sequence(&shapes, &tail)
            }
            Pattern::Group { index, inner } => {
                let mut shapes = inner.expand(groups)?;
                if let Some(i) = *index {
                    for s in &mut shapes {
                        *s.spans.get_mut(i)? = Some((0, s.classes.len()));
                    }
                }
                Some(shapes)
            }
        }
    }

    /// The lengths and first characters of the IDs the pattern may match. Anchors are taken
    /// to hold anywhere, which can only widen the bounds.
    pub fn bounds(&self) -> Bounds {
        match self {
            Pattern::Class(c) => Bounds {
                min: 1,
                max: Some(1),
                first: *c,
            },
            Pattern::Anchor(_) => Bounds {
                min: 0,
                max: Some(0),
                first: ByteSet::default(),
            },
            Pattern::Concat(parts) => {
                let mut all = Bounds {
                    min: 0,
                    max: Some(0),
                    first: ByteSet::default(),
                };
                for part in parts {
                    let b = part.bounds();
                    if all.min == 0 {
                        all.first = all.first.union(b.first);
                    }
                    all.min = all.min.saturating_add(b.min);
                    all.max = all.max.zip(b.max).and_then(|(x, y)| x.checked_add(y));
                }
                all
            }
            Pattern::Alternation(branches) => {
                let mut all = Bounds {
                    min: usize::MAX,
                    max: Some(0),
                    first: ByteSet::default(),
                };
                for b in branches.iter().map(Pattern::bounds) {
                    all.min = all.min.min(b.min);
                    all.max = all.max.zip(b.max).map(|(x, y)| x.max(y));
                    all.first = all.first.union(b.first);
                }
                all
            }
            Pattern::Repeat {
                inner, min, max, ..
            } => {
                let b = inner.bounds();
                let times = |n: u32| usize::try_from(n).ok();
                Bounds {
                    min: times(*min).map_or(usize::MAX, |n| b.min.saturating_mul(n)),
                    max: match (b.max, *max) {
                        (Some(0), _) | (_, Some(0)) => Some(0),
                        (Some(m), Some(n)) => times(n).and_then(|n| m.checked_mul(n)),
                        _ => None,
                    },
                    first: if *max == Some(0) {
                        ByteSet::default()
                    } else {
                        b.first
                    },
                }
            }
            Pattern::Group { inner, .. } => inner.bounds(),
        }
    }
}

/// Every shape of `left` followed by every shape of `right`, left ones outermost (the
/// backtracking order), without the combinations an anchor rules out.
fn sequence(left: &[Shape], right: &[Shape]) -> Option<Vec<Shape>> {
    let mut shapes = Vec::new();
    for l in left {
        for r in right {
            if let Some(s) = l.then(r) {
                if s.classes.len() > MAX_LENGTH {
                    return None;
                }
                shapes.push(s);
            }
        }
        if shapes.len() > MAX_SHAPES {
            return None;
        }
    }
    Some(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    /// Regexes with every construct the reading knows, and the cases where the regex's
    /// choice among paths decides the captures.
    const READABLE: &[&str] = &[
        "(a|ab)(c|bc)",
        "(?<X>[ab]){2,3}",
        "(?<X>[ab]){2,3}?[ab]{0,2}",
        "(a?)(a?)(a)",
        "(a??)(a?)(a)",
        "((a)|b){2}",
        "(?:(a)|b){1,3}(b)?",
        "a^b|(a)",
        "a$b|(b)",
        "^a$",
        "(^a|b)c",
        "a(b$|c)(c?)",
        "(?:$)a|(?:^)(b)",
        "[0-2]{1,3}[a-c]{0,2}",
        "(?:ab|a)(?:b|)(b?)",
        "()a(b|)",
        "(a)|(b)|(a)(b)?",
        "(?P<n>a)b",
        "x{0}a",
        "(a{0})b",
        "(a|)(a|)(a|)",
        "[a-c0]{2}(?:[0-1]a|b[a2]){1,2}?c?",
        "1Z(?<SerialNumber>[0-9A-Z]{4})(?<CheckDigit>[0-9])",
        "(?:GM|LX)(?<S>[0-9][0-9A-Z]{1,5})",
    ];

    /// Regexes the reading turns down (or whose paths it does not expand).
    const UNREADABLE: &[&str] = &[
        "a.b", r"\d", "(?i)a", "(?i:a)", "[^a]", "a{2}{3}", "a**", "[a-]", "[]a]", "a b", "a{2,1}",
        "a{,2}", "é", "(a", "a)", "^*",
    ];

    /// Captures of the regex (`^(?:…)$`), or `None` when it does not match.
    fn regex_captures(re: &Regex, id: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let mut locs = re.capture_locations();
        re.captures_read(&mut locs, id)?;
        Some((0..locs.len()).map(|i| locs.get(i)).collect())
    }

    /// Captures of the first shape the ID fits.
    fn shape_captures(shapes: &Shapes, id: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let s = shapes.find(id.as_bytes())?;
        let mut spans = s.spans.clone();
        spans[0] = Some((0, id.len()));
        Some(spans)
    }

    #[test]
    fn the_readable_regexes_are_read_and_the_others_not() {
        for source in READABLE {
            assert!(parse(source).is_some(), "{source}");
        }
        for source in UNREADABLE {
            assert!(parse(source).is_none(), "{source}");
        }
        let unbounded = parse("a+b*").expect("read");
        assert_eq!(unbounded.pattern.shapes(0), None);
        let b = unbounded.pattern.bounds();
        assert_eq!((b.min, b.max), (1, None));
        assert!(b.first.contains(b'a') && !b.first.contains(b'b'));
    }

    #[test]
    fn names_follow_the_regex_numbering() {
        for source in READABLE {
            let re = Regex::new(&format!("^(?:{source})$")).expect("valid");
            let names: Vec<Option<String>> = re
                .capture_names()
                .skip(1)
                .map(|n| n.map(String::from))
                .collect();
            assert_eq!(parse(source).expect("read").names, names, "{source}");
        }
    }

    #[test]
    fn bounds_and_sets() {
        let b = parse("[A-C]{2,3}(?:1|22)?").expect("read").pattern.bounds();
        assert_eq!((b.min, b.max), (2, Some(5)));
        assert!(b.admit(b"AB22"));
        assert!(!b.admit(b"DB22") && !b.admit(b"A") && !b.admit(b"ABCDEF"));
        assert!(ByteSet::range(b'0', b'9').contains(b'5'));
        assert!(!ByteSet::range(b'0', b'9').contains(b'A'));
        assert!(ByteSet::ALL.contains(200) && ByteSet::ALL.contains(0));
        assert!(ByteSet::range(b'0', 255).contains(255));
        assert!(!ByteSet::range(b'0', 255).contains(b'/'));
        let both = ByteSet::range(b'a', b'a').union(ByteSet::range(b'Z', b'Z'));
        assert!(both.contains(b'a') && both.contains(b'Z') && !both.contains(b'b'));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        #[test]
        fn shapes_match_and_capture_as_the_regex((which, id) in (0..READABLE.len()).prop_flat_map(|which| {
            // Strings of the regex (the generator knows no anchors) or of its alphabet.
            let source = READABLE[which];
            let own = proptest::string::string_regex(&source.replace(['^', '$'], ""))
                .expect("generates")
                .boxed();
            (Just(which), prop_oneof![own, "[abc0-2xZ19]{0,9}".boxed()])
        })) {
            let source = READABLE[which];
            let re = Regex::new(&format!("^(?:{source})$")).expect("valid");
            let parsed = parse(source).expect("read");
            let expected = regex_captures(&re, &id);
            if expected.is_some() {
                prop_assert!(parsed.pattern.bounds().admit(id.as_bytes()), "{} {}", source, id);
            }
            if let Some(shapes) = parsed.pattern.shapes(parsed.names.len()) {
                prop_assert_eq!(shape_captures(&shapes, &id), expected, "{} {}", source, id);
            }
        }

        #[test]
        fn bounds_admit_every_match(
            source in prop::sample::select(vec!["a+b*", "(?:ab)*c{2,}", "[a-c]*1?", "(a|bc+)x"]),
            id in "[abc1x]{0,9}",
        ) {
            let re = Regex::new(&format!("^(?:{source})$")).expect("valid");
            let parsed = parse(source).expect("read");
            if re.is_match(&id) {
                prop_assert!(parsed.pattern.bounds().admit(id.as_bytes()), "{} {}", source, id);
            }
        }
    }
}
