//! Carrier names as entered: the alias key (contract section 8) and the alias table.

use super::CarrierId;
use rustc_hash::FxHashMap;

/// Longest alias key looked up without allocating.
const STACK_KEY: usize = 64;

/// The alias key of a name: every character but letters and digits removed (any script:
/// `é` is a letter), the letters upper-cased (`"Fed Ex"` and `"fedex"` both give `FEDEX`;
/// `"Fédex"` gives `FÉDEX`, which is not `FEDEX`).
pub fn alias_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Alias keys to carriers.
#[derive(Debug, Clone, Default)]
pub struct AliasTable {
    map: FxHashMap<Box<[u8]>, CarrierId>,
    longest: usize,
}

impl AliasTable {
    /// Adds an alias key; returns the carrier that already had it, if another one did.
    pub fn insert(&mut self, key: &str, id: CarrierId) -> Option<CarrierId> {
        debug_assert_eq!(alias_key(key), key, "alias keys are inserted in key form");
        if let Some(&previous) = self.map.get(key.as_bytes()) {
            return (previous != id).then_some(previous);
        }
        self.longest = self.longest.max(key.len());
        self.map.insert(key.as_bytes().into(), id);
        None
    }

    /// The carrier a name as entered resolves to, without allocating for usual names.
    pub fn resolve(&self, entered: &str) -> Option<CarrierId> {
        // Carrier feeds send codes already in key form (`UPS`): a key is its own alias key.
        if let Some(&id) = self.map.get(entered.as_bytes()) {
            return Some(id);
        }
        if !entered.is_ascii() {
            return self.resolve_long(entered);
        }
        let mut buf = [0u8; STACK_KEY];
        let mut len = 0;
        for b in entered.bytes().filter(u8::is_ascii_alphanumeric) {
            if len == self.longest {
                return None;
            }
            if len == STACK_KEY {
                return self.resolve_long(entered);
            }
            buf[len] = b.to_ascii_uppercase();
            len += 1;
        }
        self.map.get(&buf[..len]).copied()
    }

    /// Slow path for names whose key is longer than every alias or than the stack buffer, or
    /// that are not ASCII.
    fn resolve_long(&self, entered: &str) -> Option<CarrierId> {
        let key = alias_key(entered);
        if key.len() > self.longest {
            return None;
        }
        self.map.get(key.as_bytes()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_keeps_letters_and_digits_upper_cased() {
        assert_eq!(alias_key("Fed Ex"), "FEDEX");
        assert_eq!(alias_key("fedex_smart-post!"), "FEDEXSMARTPOST");
        assert_eq!(alias_key("Fédex 2"), "FÉDEX2");
        assert_eq!(alias_key(" \t"), "");
    }

    #[test]
    fn table_resolves_and_reports_conflicts() {
        let mut t = AliasTable::default();
        assert_eq!(t.insert("UPS", 1), None);
        assert_eq!(t.insert("UPS", 1), None);
        assert_eq!(t.insert("UPS", 2), Some(1));
        assert_eq!(t.resolve("u.p.s."), Some(1));
        assert_eq!(t.resolve("UPSX"), None);
        assert_eq!(t.resolve(""), None);
        assert_eq!(t.resolve(&"U".repeat(200)), None);
    }

    #[test]
    fn long_aliases_use_the_slow_path() {
        let mut t = AliasTable::default();
        let long = "A".repeat(100);
        t.insert(&long, 3);
        assert_eq!(t.resolve(&long.to_lowercase()), Some(3));
        assert_eq!(t.resolve(&"A".repeat(101)), None);
    }
}
