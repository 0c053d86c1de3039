//! String interning: sellers, marketplaces, categories and package ids repeat across
//! millions of packages, so state holds a 4-byte symbol instead of a string.

use rustc_hash::FxHashMap;

/// A symbol: the index of an interned string in its [`Interner`].
pub type Sym = u32;

/// A grow-only table of distinct strings.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
}

impl Interner {
    /// The symbol of `s`, adding it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The symbol of `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    /// The string of a symbol.
    pub fn resolve(&self, id: Sym) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        self.strings.iter().map(|s| 2 * s.len() + 32).sum::<usize>() + self.strings.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_string_same_symbol() {
        let mut i = Interner::default();
        let a = i.intern("seller-1");
        let b = i.intern("seller-2");
        assert_ne!(a, b);
        assert_eq!(i.intern("seller-1"), a);
        assert_eq!(i.resolve(b), "seller-2");
        assert_eq!(i.get("nope"), None);
    }
}
