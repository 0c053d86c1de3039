//! String interning: sellers, marketplaces, categories and package ids repeat across
//! millions of packages, so state holds a 4-byte symbol instead of a string.

use rustc_hash::FxHashMap;

/// A symbol: the index of an interned string in its [`Interner`].
pub type Sym = u32;

/// What a confirmation says of its package besides its ids and times: the carrier as entered,
/// the marketplace and the category. Sellers repeat a handful of combinations, so a package
/// holds one symbol for the three (see [`Interner::intern_labels`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Labels {
    /// The carrier as entered.
    pub carrier_entered: Sym,
    /// The marketplace.
    pub marketplace: Sym,
    /// The category.
    pub category: Sym,
}

/// A grow-only table of distinct strings, and of distinct [`Labels`].
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
    label_ids: FxHashMap<Labels, Sym>,
    labels: Vec<Labels>,
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

    /// The symbol of a combination of labels, adding it when new.
    pub fn intern_labels(&mut self, labels: Labels) -> Sym {
        if let Some(&id) = self.label_ids.get(&labels) {
            return id;
        }
        let id = self.labels.len() as Sym;
        self.labels.push(labels);
        self.label_ids.insert(labels, id);
        id
    }

    /// The labels of a symbol from [`Self::intern_labels`].
    pub fn labels(&self, id: Sym) -> Labels {
        self.labels.get(id as usize).copied().unwrap_or(Labels {
            carrier_entered: Sym::MAX,
            marketplace: Sym::MAX,
            category: Sym::MAX,
        })
    }

    /// Heap bytes held, for state-size reporting.
    pub fn heap_bytes(&self) -> usize {
        self.strings.iter().map(|s| 2 * s.len() + 32).sum::<usize>()
            + self.strings.capacity() * 16
            + self.labels.capacity() * 2 * std::mem::size_of::<Labels>()
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
        let l = Labels {
            carrier_entered: a,
            marketplace: b,
            category: a,
        };
        let id = i.intern_labels(l);
        assert_eq!(i.intern_labels(l), id);
        assert_ne!(i.intern_labels(Labels { category: b, ..l }), id);
        assert_eq!(i.labels(id), l);
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

/// Serde for a [`Labels`] symbol field: the three strings (inside [`with_symbols`] only).
pub mod labels_serde {
    use super::{Labels, Sym, SYMBOLS};
    use serde::{
        de::Error as _, ser::Error as _, Deserialize, Deserializer, Serialize, Serializer,
    };
    use std::borrow::Cow;

    /// Writes the labels' strings.
    pub fn serialize<S: Serializer>(sym: &Sym, ser: S) -> Result<S::Ok, S::Error> {
        SYMBOLS.with(|s| match s.borrow().as_ref() {
            Some(syms) => {
                let l = syms.labels(*sym);
                let text = |s: Sym| syms.resolve(s);
                (
                    text(l.carrier_entered),
                    text(l.marketplace),
                    text(l.category),
                )
                    .serialize(ser)
            }
            None => Err(S::Error::custom("symbols written outside with_symbols")),
        })
    }

    /// Reads three strings and interns them as labels.
    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Sym, D::Error> {
        let (carrier, marketplace, category) =
            <(Cow<'de, str>, Cow<'de, str>, Cow<'de, str>)>::deserialize(de)?;
        SYMBOLS.with(|s| match s.borrow_mut().as_mut() {
            Some(syms) => {
                let labels = Labels {
                    carrier_entered: syms.intern(&carrier),
                    marketplace: syms.intern(&marketplace),
                    category: syms.intern(&category),
                };
                Ok(syms.intern_labels(labels))
            }
            None => Err(D::Error::custom("symbols read outside with_symbols")),
        })
    }
}
