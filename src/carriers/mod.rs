//! Carriers: alias table, integration, hand-off partners and tracking-ID formats
//! (contract sections 3 and 8). Loaded from a carriers TOML file; the built-in default is
//! `config/carriers.toml`, whose header documents the schema.
//!
//! Carrier ids follow the alphabetical order of the carriers' codes, so a [`CarrierSet`]
//! read from its lowest bit up lists carriers alphabetically.

mod alias;
pub mod check_digit;
mod format;
mod load;
mod pattern;

pub use alias::alias_key;

use format::Formats;
use rustc_hash::FxHashMap;

/// The built-in US carriers file.
const DEFAULT_US: &str = include_str!("../../config/carriers.toml");

/// Index of a carrier in its registry.
pub type CarrierId = u8;

/// A set of carriers as a bit mask over `CarrierId`s.
pub type CarrierSet = u64;

/// The set holding one carrier (empty for an id beyond the set's width).
pub fn bit(id: CarrierId) -> CarrierSet {
    1u64.checked_shl(u32::from(id)).unwrap_or(0)
}

/// What the formats say about one normalised tracking ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatMatch {
    /// Carriers with a format the ID passes.
    pub passes: CarrierSet,
    /// Carriers with a format that has a check digit and that the ID passes.
    pub passes_with_check_digit: CarrierSet,
}

/// Errors loading a carrier definition file.
#[derive(Debug, thiserror::Error)]
pub enum CarrierError {
    /// The file is not valid TOML, misses a field or has an unknown one.
    #[error("carrier file: {0}")]
    Parse(String),
    /// A carrier's entry is wrong.
    #[error("carrier file: carrier {carrier}: {key}: {message}")]
    Carrier {
        /// The carrier's code.
        carrier: String,
        /// The key at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A format definition is wrong.
    #[error("carrier file: format group {group}, format {format:?}: {key}: {message}")]
    Format {
        /// The format group.
        group: String,
        /// The format's name.
        format: String,
        /// The key at fault.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// More carriers than a `CarrierSet` can hold.
    #[error("carrier file: {count} carriers, at most {max} are supported")]
    TooManyCarriers {
        /// Carriers in the file.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// One carrier of a registry.
#[derive(Debug, Clone)]
struct Carrier {
    /// Canonical code.
    code: String,
    /// Display name.
    name: String,
    /// Integrated with the marketplace.
    integrated: bool,
    /// Itself and its hand-off partners.
    accepted: CarrierSet,
}

/// Every known carrier and its formats.
#[derive(Debug, Clone)]
pub struct CarrierRegistry {
    carriers: Vec<Carrier>,
    /// Canonical codes to carriers (`by_code` is asked for every verdict record).
    codes: FxHashMap<Box<str>, CarrierId>,
    aliases: alias::AliasTable,
    integrated: CarrierSet,
    formats: Formats,
}

impl CarrierRegistry {
    /// The default US registry shipped in `config/carriers.toml`.
    pub fn default_us() -> CarrierRegistry {
        Self::from_toml(DEFAULT_US).expect("the built-in config/carriers.toml is valid")
    }

    /// Loads a registry from the text of a carriers TOML file.
    pub fn from_toml(text: &str) -> Result<CarrierRegistry, CarrierError> {
        load::parse(text)
    }

    /// Puts a registry together from validated parts.
    fn assemble(carriers: Vec<Carrier>, aliases: alias::AliasTable, formats: Formats) -> Self {
        let integrated = (0..carriers.len())
            .filter(|&i| carriers[i].integrated)
            .fold(0, |set, i| set | bit(i as CarrierId));
        let codes = carriers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.as_str().into(), i as CarrierId))
            .collect();
        CarrierRegistry {
            carriers,
            codes,
            aliases,
            integrated,
            formats,
        }
    }

    /// Resolves a carrier name as entered to a known carrier: compared after removing every
    /// character but ASCII letters and digits, upper-cased (`"Fed Ex"` -> `FEDEX`).
    pub fn resolve(&self, entered: &str) -> Option<CarrierId> {
        self.aliases.resolve(entered)
    }

    /// The carrier with exactly this canonical code.
    pub fn by_code(&self, code: &str) -> Option<CarrierId> {
        self.codes.get(code).copied()
    }

    /// Every carrier's id and canonical code, in alphabetical order of the codes.
    pub fn iter(&self) -> impl Iterator<Item = (CarrierId, &str)> + '_ {
        self.carriers
            .iter()
            .enumerate()
            .map(|(i, c)| (i as CarrierId, c.code.as_str()))
    }

    /// Canonical code of a carrier (`FEDEX_SMARTPOST`).
    ///
    /// # Panics
    /// When `id` is not a carrier of this registry.
    pub fn code(&self, id: CarrierId) -> &str {
        &self.carriers[id as usize].code
    }

    /// Display name of a carrier (`FedEx SmartPost`).
    ///
    /// # Panics
    /// When `id` is not a carrier of this registry.
    pub fn display_name(&self, id: CarrierId) -> &str {
        &self.carriers[id as usize].name
    }

    /// True when the marketplace is integrated with the carrier.
    pub fn is_integrated(&self, id: CarrierId) -> bool {
        self.integrated & bit(id) != 0
    }

    /// The integrated carriers.
    pub fn integrated(&self) -> CarrierSet {
        self.integrated
    }

    /// The carriers whose scans count for `declared`: itself and its hand-off partners.
    pub fn accepted_reporters(&self, declared: CarrierId) -> CarrierSet {
        self.carriers
            .get(declared as usize)
            .map_or(0, |c| c.accepted)
    }

    /// What the formats say about a normalised ID (upper case, letters and digits only).
    pub fn analyze(&self, normalized: &str) -> FormatMatch {
        self.formats.analyze(normalized)
    }

    /// The names of the formats a normalised ID passes (for diagnostics; not on the hot path).
    pub fn passing_formats(&self, normalized: &str) -> Vec<&str> {
        self.formats.passing(normalized)
    }

    /// Integrated carriers with a format the ID passes (partners not added), alphabetical by code.
    pub fn detected_carriers(&self, m: &FormatMatch) -> Vec<CarrierId> {
        self.set_iter(m.passes & self.integrated).collect()
    }

    /// The format evidence for CARRIER_MISMATCH: the ID passes no format of the declared
    /// carrier's family, and passes a check-digit format of another integrated carrier.
    pub fn format_mismatch(&self, declared: CarrierId, m: &FormatMatch) -> bool {
        let family = self.accepted_reporters(declared) | bit(declared);
        let others = self.integrated & !bit(declared);
        m.passes & family == 0 && m.passes_with_check_digit & others != 0
    }

    /// The integrated carriers a format match detects, as a set.
    pub fn detected_set(&self, m: &FormatMatch) -> CarrierSet {
        m.passes & self.integrated
    }

    /// The carriers of a set, alphabetical by code (ids follow the codes' order).
    pub fn set_iter(&self, set: CarrierSet) -> impl Iterator<Item = CarrierId> + '_ {
        // Lowest bit first, only the bits of this registry's carriers.
        let mut rest = set & bit(self.carriers.len() as CarrierId).wrapping_sub(1);
        std::iter::from_fn(move || {
            let id = (rest != 0).then(|| rest.trailing_zeros() as CarrierId)?;
            rest &= rest - 1;
            Some(id)
        })
    }

    /// Number of carriers.
    pub fn len(&self) -> usize {
        self.carriers.len()
    }

    /// True when there are no carriers.
    pub fn is_empty(&self) -> bool {
        self.carriers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_file_loads() {
        let r = CarrierRegistry::from_toml(DEFAULT_US).expect("config/carriers.toml loads");
        assert_eq!(r.len(), 22);
        assert_eq!(r.integrated().count_ones(), 11);
    }

    #[test]
    fn registry_is_shareable_across_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<CarrierRegistry>();
    }

    #[test]
    fn bit_is_empty_beyond_the_set() {
        assert_eq!(bit(0), 1);
        assert_eq!(bit(63), 1 << 63);
        assert_eq!(bit(64), 0);
        assert_eq!(bit(255), 0);
    }

    #[test]
    fn set_iter_lists_the_registry_carriers_of_a_set() {
        let r = CarrierRegistry::default_us();
        let ids = |set: CarrierSet| r.set_iter(set).collect::<Vec<CarrierId>>();
        assert!(ids(0).is_empty());
        assert_eq!(ids(0b1011), [0, 1, 3]);
        assert_eq!(ids(u64::MAX), (0..22).collect::<Vec<_>>());
        assert_eq!(ids(1 << 63 | 1 << 21), [21]);
    }

    #[test]
    fn out_of_range_ids_are_harmless() {
        let r = CarrierRegistry::default_us();
        let m = r.analyze("1Z4F7W2E0312345677");
        assert!(!r.is_integrated(99));
        assert_eq!(r.accepted_reporters(99), 0);
        assert!(r.format_mismatch(99, &m));
    }
}
