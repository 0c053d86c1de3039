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

thread_local! {
    /// The interner symbols are written and read through while state is (de)serialised.
    static SYMBOLS: std::cell::RefCell<Option<Interner>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `syms` as the interner through which [`sym_serde`] writes symbols as their
/// strings and reads strings back as symbols (state snapshots carry strings, not this
/// process's symbol numbers).
pub fn with_symbols<R>(syms: &mut Interner, f: impl FnOnce() -> R) -> R {
    let taken = std::mem::take(syms);
    SYMBOLS.with(|s| *s.borrow_mut() = Some(taken));
    let result = f();
    *syms = SYMBOLS.with(|s| s.borrow_mut().take()).unwrap_or_default();
    result
}

/// Serde for a [`Sym`] field: the symbol's string (inside [`with_symbols`] only).
pub mod sym_serde {
    use super::{Sym, SYMBOLS};
    use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serializer};

    /// Writes the symbol's string.
    pub fn serialize<S: Serializer>(sym: &Sym, ser: S) -> Result<S::Ok, S::Error> {
        SYMBOLS.with(|s| match s.borrow().as_ref() {
            Some(syms) => ser.serialize_str(syms.resolve(*sym)),
            None => Err(S::Error::custom("symbols written outside with_symbols")),
        })
    }

    /// Reads a string and interns it.
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Sym, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(de)?;
        SYMBOLS.with(|s| match s.borrow_mut().as_mut() {
            Some(syms) => Ok(syms.intern(&text)),
            None => Err(D::Error::custom("symbols read outside with_symbols")),
        })
    }
}
