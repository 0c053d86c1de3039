//! Carriers: alias table, integration, hand-off partners and tracking-ID formats
//! (contract sections 3 and 8). Loaded from `config/carriers.toml`.
//!
//! STUB: the API below is the contract between this module and the engine.

/// Index of a carrier in its registry.
pub type CarrierId = u8;

/// A set of carriers as a bit mask over `CarrierId`s.
pub type CarrierSet = u64;

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
    /// The file is not valid TOML or misses a field.
    #[error("carrier file: {0}")]
    Parse(String),
}

/// Every known carrier and its formats.
#[derive(Debug, Clone)]
pub struct CarrierRegistry {
    codes: Vec<String>,
}

impl CarrierRegistry {
    /// The default US registry shipped in `config/carriers.toml`.
    pub fn default_us() -> CarrierRegistry {
        CarrierRegistry {
            codes: vec!["USPS".into(), "UPS".into()],
        }
    }

    /// Loads a registry from the text of a carriers TOML file.
    pub fn from_toml(_text: &str) -> Result<CarrierRegistry, CarrierError> {
        Ok(Self::default_us())
    }

    /// Resolves a carrier name as entered to a known carrier.
    pub fn resolve(&self, entered: &str) -> Option<CarrierId> {
        let key: String = entered
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        self.codes
            .iter()
            .position(|c| *c == key)
            .map(|i| i as CarrierId)
    }

    /// Canonical code of a carrier (`FEDEX_SMARTPOST`).
    pub fn code(&self, id: CarrierId) -> &str {
        &self.codes[id as usize]
    }

    /// Display name of a carrier (`FedEx SmartPost`).
    pub fn display_name(&self, id: CarrierId) -> &str {
        &self.codes[id as usize]
    }

    /// True when the marketplace is integrated with the carrier.
    pub fn is_integrated(&self, _id: CarrierId) -> bool {
        true
    }

    /// The carriers whose scans count for `declared`: itself and its hand-off partners.
    pub fn accepted_reporters(&self, declared: CarrierId) -> CarrierSet {
        1 << declared
    }

    /// What the formats say about a normalised ID.
    pub fn analyze(&self, _normalized: &str) -> FormatMatch {
        FormatMatch::default()
    }

    /// Integrated carriers with a format the ID passes (partners not added), alphabetical by code.
    pub fn detected_carriers(&self, m: &FormatMatch) -> Vec<CarrierId> {
        (0..self.codes.len() as u8)
            .filter(|i| m.passes & (1 << i) != 0)
            .collect()
    }

    /// The format evidence for CARRIER_MISMATCH: the ID passes no format of the declared
    /// carrier's family, and passes a check-digit format of another integrated carrier.
    pub fn format_mismatch(&self, _declared: CarrierId, _m: &FormatMatch) -> bool {
        false
    }

    /// The carrier with this canonical code.
    pub fn by_code(&self, code: &str) -> Option<CarrierId> {
        self.codes
            .iter()
            .position(|c| c == code)
            .map(|i| i as CarrierId)
    }

    /// Display phrase for explanations, e.g. "a UPS number".
    pub fn looks_like(&self, _m: &FormatMatch) -> Option<String> {
        None
    }

    /// The integrated carriers a format match detects, as a set.
    pub fn detected_set(&self, m: &FormatMatch) -> CarrierSet {
        m.passes
    }

    /// The carriers of a set, alphabetical by code.
    pub fn set_iter(&self, set: CarrierSet) -> impl Iterator<Item = CarrierId> + '_ {
        let mut ids: Vec<CarrierId> = (0..self.codes.len() as u8)
            .filter(|i| set & (1 << i) != 0)
            .collect();
        ids.sort_by_key(|i| self.code(*i));
        ids.into_iter()
    }

    /// Number of carriers.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when there are no carriers.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}
