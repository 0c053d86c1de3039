//! An arena addressed by `u32` indices, allocated in fixed chunks so that it never moves its
//! elements nor holds more than one partly used chunk. Removed slots are reused.

/// Elements per chunk.
const CHUNK: usize = 1024;

/// An arena of `T`, indexed by the `u32` that [`Slab::push`] returned.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Slab<T> {
    chunks: Vec<Vec<T>>,
    /// Slots removed and not reused yet.
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Default> Slab<T> {
    /// Takes an element out; its slot (left holding `T::default()`) is reused by a later push.
    pub fn remove(&mut self, i: u32) -> T {
        self.free.push(i);
        std::mem::take(&mut self[i])
    }
}

impl<T> Slab<T> {
    /// Adds an element and returns its index.
    pub fn push(&mut self, value: T) -> u32 {
        if let Some(i) = self.free.pop() {
            self[i] = value;
            return i;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let index = self.len();
        self.chunks.last_mut().expect("a chunk").push(value);
        u32::try_from(index).expect("fewer than 2^32 elements")
    }

    /// Number of slots, removed ones included.
    pub fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |c| (self.chunks.len() - 1) * CHUNK + c.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every slot, in index order (removed ones hold `T::default()`).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Indices of the slots in use (not removed), in order.
    pub fn live_indices(&self) -> impl Iterator<Item = u32> + '_ {
        let free: std::collections::HashSet<u32> = self.free.iter().copied().collect();
        (0..self.len() as u32).filter(move |i| !free.contains(i))
    }

    /// Bytes allocated for elements (not their own heap data).
    pub fn allocated_bytes(&self) -> usize {
        self.chunks.len() * CHUNK * std::mem::size_of::<T>() + self.free.capacity() * 4
    }
}

impl<T> std::ops::Index<u32> for Slab<T> {
    type Output = T;
    fn index(&self, i: u32) -> &T {
        &self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
}

impl<T> std::ops::IndexMut<u32> for Slab<T> {
    fn index_mut(&mut self, i: u32) -> &mut T {
        &mut self.chunks[i as usize / CHUNK][i as usize % CHUNK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_stay_valid_across_chunks() {
        let mut s = Slab::default();
        for i in 0..3000u32 {
            assert_eq!(s.push(i * 2), i);
        }
        assert_eq!(s.len(), 3000);
        assert_eq!(s[2999], 5998);
        s[1024] = 7;
        assert_eq!(s.iter().nth(1024), Some(&7));
        assert_eq!(s.remove(5), 10);
        assert_eq!(s.push(1), 5);
        assert_eq!(s.len(), 3000);
    }
}
