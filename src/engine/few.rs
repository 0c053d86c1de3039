//! [`Few`]: one value inline, or any other number on the heap. Most orders have one package
//! and most tracking IDs one subscriber; unlike a small vector, the usual case costs no length
//! field (the enum's tag lives in a spare bit pattern of the value).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::{Deref, DerefMut};

/// One value inline, or none or several on the heap. Reads as a slice.
#[derive(Debug, Clone)]
pub enum Few<T> {
    /// Exactly one value.
    One(T),
    /// Any other number of values.
    Many(Vec<T>),
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few::Many(Vec::new())
    }
}

impl<T> Deref for Few<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Few::One(t) => std::slice::from_ref(t),
            Few::Many(v) => v,
        }
    }
}

impl<T> DerefMut for Few<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Few::One(t) => std::slice::from_mut(t),
            Few::Many(v) => v,
        }
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(mut v: Vec<T>) -> Self {
        match v.len() {
            1 => Few::One(v.remove(0)),
            _ => {
                v.shrink_to_fit();
                Few::Many(v)
            }
        }
    }
}

/// Up to this many values, the heap holds exactly as many as there are (orders of a few
/// packages are common enough that a spare slot in each would show); beyond, it grows by
/// doubling.
const EXACT_UP_TO: usize = 8;

impl<T> Few<T> {
    /// Adds a value at the end.
    pub fn push(&mut self, t: T) {
        match self {
            Few::Many(v) if v.is_empty() => *self = Few::One(t),
            Few::Many(v) => {
                if v.len() < EXACT_UP_TO {
                    v.reserve_exact(1);
                }
                v.push(t);
            }
            Few::One(_) => {
                if let Few::One(first) = std::mem::take(self) {
                    *self = Few::Many(vec![first, t]);
                }
            }
        }
    }

    /// Keeps the values for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Few::One(t) if !keep(t) => *self = Few::default(),
            Few::One(_) => {}
            Few::Many(v) => {
                v.retain(|t| keep(t));
                if v.len() <= 1 {
                    *self = Few::from(std::mem::take(v));
                }
            }
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Few::One(_) => 0,
            Few::Many(v) => v.capacity() * std::mem::size_of::<T>(),
        }
    }
}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Few<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(de).map(Few::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_between_one_and_many() {
        let mut f = Few::default();
        assert!(f.is_empty());
        f.push(1);
        assert!(matches!(f, Few::One(1)));
        f.push(2);
        f.push(3);
        assert_eq!(&f[..], &[1, 2, 3]);
        f[1] = 5;
        f.retain(|&x| x != 1);
        assert_eq!(&f[..], &[5, 3]);
        f.retain(|&x| x == 3);
        assert!(matches!(f, Few::One(3)));
        f.retain(|_| false);
        assert!(f.is_empty() && f.heap_bytes() == 0);
        let back: Few<i32> = serde_json::from_str("[7]").unwrap();
        assert!(matches!(back, Few::One(7)));
        assert_eq!(serde_json::to_string(&back).unwrap(), "[7]");
    }

    #[test]
    fn one_costs_no_more_than_the_value_when_it_has_a_spare_bit_pattern() {
        assert_eq!(std::mem::size_of::<Few<(u64, bool, [u64; 3])>>(), 40);
    }
}
