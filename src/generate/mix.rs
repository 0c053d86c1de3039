//! Scenarios of a generated package and the mix that sets how often each happens.

use crate::records::{Reason, Status};

/// What happens to one generated package: a clean shipment, one of the failures of contract
/// section 1, an exemption, a correction, a cancellation or a recycled tracking ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scenario {
    /// Right carrier, right ID, scanned by the carrier: valid tracking.
    Valid,
    /// The tracking ID was left blank (the carrier still scans the real ID).
    MissingTracking,
    /// Spaces or hyphens inside the ID: malformed, but removing them would fix it.
    InvalidCharactersFixable,
    /// Punctuation, Chinese or full-width characters in the ID: malformed.
    InvalidCharactersOther,
    /// The right ID entered with another carrier (a UPS number entered as USPS).
    WrongCarrier,
    /// The carrier never scans the package.
    NoScan,
    /// Only a label was created (INFO_RECEIVED, not physical): no physical scan.
    InfoReceivedOnly,
    /// A known carrier vtrack is not integrated with ("Purolator").
    NotIntegratedCarrier,
    /// A carrier nobody knows ("QuickShip Express").
    UnknownCarrier,
    /// The seller confirmed after the carrier's DELIVERED scan.
    ConfirmedAfterDelivery,
    /// The seller confirmed after the promised delivery date.
    ConfirmedAfterPromise,
    /// A placeholder ID shared by many packages (`123456789`): never scanned.
    PlaceholderId,
    /// The seller re-entered an ID it used weeks ago: only old scans exist, outside the window.
    ReusedOldId,
    /// A malformed or blank ID corrected hours later by a second CONFIRM: valid in the end.
    CorrectedTracking,
    /// A wrong carrier corrected hours later by a second CONFIRM: valid in the end.
    CorrectedCarrier,
    /// A digital product (exempt).
    Digital,
    /// A USPS envelope under $10 (exempt).
    SmallEnvelope,
    /// Freight with a carrier that is not integrated (exempt).
    FreightNonIntegrated,
    /// The order was cancelled before the seller confirmed it.
    CancelledBeforeConfirm,
    /// The order was cancelled after the seller confirmed it.
    CancelledAfterConfirm,
    /// The carrier recycled an ID used weeks earlier by another package: the new package is
    /// scanned again and valid; the old scans fall outside its window.
    RecycledId,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 21] = [
        Scenario::Valid,
        Scenario::MissingTracking,
        Scenario::InvalidCharactersFixable,
        Scenario::InvalidCharactersOther,
        Scenario::WrongCarrier,
        Scenario::NoScan,
        Scenario::InfoReceivedOnly,
        Scenario::NotIntegratedCarrier,
        Scenario::UnknownCarrier,
        Scenario::ConfirmedAfterDelivery,
        Scenario::ConfirmedAfterPromise,
        Scenario::PlaceholderId,
        Scenario::ReusedOldId,
        Scenario::CorrectedTracking,
        Scenario::CorrectedCarrier,
        Scenario::Digital,
        Scenario::SmallEnvelope,
        Scenario::FreightNonIntegrated,
        Scenario::CancelledBeforeConfirm,
        Scenario::CancelledAfterConfirm,
        Scenario::RecycledId,
    ];

    /// Position of the scenario in [`Scenario::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A snake_case name, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Valid => "valid",
            Scenario::MissingTracking => "missing_tracking",
            Scenario::InvalidCharactersFixable => "invalid_characters_fixable",
            Scenario::InvalidCharactersOther => "invalid_characters_other",
            Scenario::WrongCarrier => "wrong_carrier",
            Scenario::NoScan => "no_scan",
            Scenario::InfoReceivedOnly => "info_received_only",
            Scenario::NotIntegratedCarrier => "not_integrated_carrier",
            Scenario::UnknownCarrier => "unknown_carrier",
            Scenario::ConfirmedAfterDelivery => "confirmed_after_delivery",
            Scenario::ConfirmedAfterPromise => "confirmed_after_promise",
            Scenario::PlaceholderId => "placeholder_id",
            Scenario::ReusedOldId => "reused_old_id",
            Scenario::CorrectedTracking => "corrected_tracking",
            Scenario::CorrectedCarrier => "corrected_carrier",
            Scenario::Digital => "digital",
            Scenario::SmallEnvelope => "small_envelope",
            Scenario::FreightNonIntegrated => "freight_non_integrated",
            Scenario::CancelledBeforeConfirm => "cancelled_before_confirm",
            Scenario::CancelledAfterConfirm => "cancelled_after_confirm",
            Scenario::RecycledId => "recycled_id",
        }
    }

    /// The status the contract gives such a package once its window has closed
    /// (before that, a would-be `NO_CARRIER_SCAN` package is `PENDING`).
    pub fn expected_status(self) -> Status {
        match self.expected_reason() {
            None => Status::Valid,
            Some(
                Reason::Cancelled
                | Reason::Digital
                | Reason::SmallEnvelope
                | Reason::FreightNonIntegrated,
            ) => Status::Excluded,
            Some(_) => Status::Invalid,
        }
    }

    /// The first reason the contract gives such a package (`None` for valid ones). A
    /// confirmed-after-delivery package may also be confirmed after its promised date.
    pub fn expected_reason(self) -> Option<Reason> {
        use Scenario as S;
        match self {
            S::Valid | S::CorrectedTracking | S::CorrectedCarrier | S::RecycledId => None,
            S::MissingTracking => Some(Reason::MissingTracking),
            S::InvalidCharactersFixable | S::InvalidCharactersOther => {
                Some(Reason::InvalidCharacters)
            }
            S::WrongCarrier => Some(Reason::CarrierMismatch),
            S::NoScan | S::InfoReceivedOnly | S::PlaceholderId | S::ReusedOldId => {
                Some(Reason::NoCarrierScan)
            }
            S::NotIntegratedCarrier | S::UnknownCarrier => Some(Reason::UnsupportedCarrier),
            S::ConfirmedAfterDelivery => Some(Reason::ConfirmedAfterDelivery),
            S::ConfirmedAfterPromise => Some(Reason::ConfirmedAfterDeliveryDate),
            S::Digital => Some(Reason::Digital),
            S::SmallEnvelope => Some(Reason::SmallEnvelope),
            S::FreightNonIntegrated => Some(Reason::FreightNonIntegrated),
            S::CancelledBeforeConfirm | S::CancelledAfterConfirm => Some(Reason::Cancelled),
        }
    }

    /// True for the scenarios a seller's quality scales (its mistakes).
    pub fn is_seller_mistake(self) -> bool {
        !matches!(
            self,
            Scenario::Valid
                | Scenario::Digital
                | Scenario::SmallEnvelope
                | Scenario::FreightNonIntegrated
                | Scenario::CancelledBeforeConfirm
                | Scenario::CancelledAfterConfirm
                | Scenario::RecycledId
        )
    }
}

/// How often each scenario happens, per package (or per order where said).
///
/// The seller-mistake rates are those of a *good* seller; a mediocre seller makes
/// `mediocre_factor` times as many, a bad one `bad_factor` times. With the defaults, good
/// sellers are about 99% valid, mediocre ones 93-95%, bad ones about 70%.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureMix {
    /// Blank tracking ID.
    pub missing_tracking: f64,
    /// Spaces or hyphens inside the ID.
    pub invalid_characters_fixable: f64,
    /// Punctuation, Chinese or full-width characters in the ID.
    pub invalid_characters_other: f64,
    /// Right ID, wrong carrier entered.
    pub wrong_carrier: f64,
    /// Never scanned.
    pub no_scan: f64,
    /// Label created (INFO_RECEIVED) but never physically scanned.
    pub info_received_only: f64,
    /// A known carrier that is not integrated.
    pub not_integrated_carrier: f64,
    /// An unknown carrier.
    pub unknown_carrier: f64,
    /// Confirmed after the DELIVERED scan.
    pub confirmed_after_delivery: f64,
    /// Confirmed after the promised delivery date.
    pub confirmed_after_promise: f64,
    /// A shared placeholder ID such as `123456789`.
    pub placeholder_id: f64,
    /// An ID the seller already used weeks ago.
    pub reused_old_id: f64,
    /// A malformed or blank ID corrected later (valid in the end).
    pub corrected_tracking: f64,
    /// A wrong carrier corrected later (valid in the end).
    pub corrected_carrier: f64,
    /// Digital products (not scaled by quality).
    pub digital: f64,
    /// USPS envelopes under $10 (not scaled).
    pub small_envelope: f64,
    /// Freight with a non-integrated carrier (not scaled).
    pub freight_non_integrated: f64,
    /// IDs recycled by the carrier from a package weeks earlier (not scaled).
    pub recycled_id: f64,
    /// Per order: cancelled before the confirmation.
    pub cancelled_before_confirm: f64,
    /// Per order: cancelled after the confirmation.
    pub cancelled_after_confirm: f64,
    /// Per order: the order ships as 2 or 3 packages (`package_id` "1", "2", …).
    pub multi_package: f64,
    /// Share of sellers that are mediocre.
    pub mediocre_sellers: f64,
    /// Share of sellers that are bad.
    pub bad_sellers: f64,
    /// How many more mistakes a mediocre seller makes than a good one.
    pub mediocre_factor: f64,
    /// How many more mistakes a bad seller makes than a good one.
    pub bad_factor: f64,
}

impl Default for FailureMix {
    fn default() -> FailureMix {
        FailureMix {
            missing_tracking: 0.0010,
            invalid_characters_fixable: 0.0010,
            invalid_characters_other: 0.0005,
            wrong_carrier: 0.0015,
            no_scan: 0.0010,
            info_received_only: 0.0015,
            not_integrated_carrier: 0.0005,
            unknown_carrier: 0.0005,
            confirmed_after_delivery: 0.0010,
            confirmed_after_promise: 0.0010,
            placeholder_id: 0.0003,
            reused_old_id: 0.0002,
            corrected_tracking: 0.0020,
            corrected_carrier: 0.0020,
            digital: 0.0100,
            small_envelope: 0.0100,
            freight_non_integrated: 0.0030,
            recycled_id: 0.0020,
            cancelled_before_confirm: 0.0040,
            cancelled_after_confirm: 0.0060,
            multi_package: 0.0500,
            mediocre_sellers: 0.15,
            bad_sellers: 0.05,
            mediocre_factor: 6.0,
            bad_factor: 30.0,
        }
    }
}

/// A probability made safe: NaN and negatives are 0, above 1 is 1.
pub(crate) fn prob(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

impl FailureMix {
    /// Only clean shipments: every rate 0 (useful for throughput tests).
    pub fn none() -> FailureMix {
        FailureMix {
            missing_tracking: 0.0,
            invalid_characters_fixable: 0.0,
            invalid_characters_other: 0.0,
            wrong_carrier: 0.0,
            no_scan: 0.0,
            info_received_only: 0.0,
            not_integrated_carrier: 0.0,
            unknown_carrier: 0.0,
            confirmed_after_delivery: 0.0,
            confirmed_after_promise: 0.0,
            placeholder_id: 0.0,
            reused_old_id: 0.0,
            corrected_tracking: 0.0,
            corrected_carrier: 0.0,
            digital: 0.0,
            small_envelope: 0.0,
            freight_non_integrated: 0.0,
            recycled_id: 0.0,
            cancelled_before_confirm: 0.0,
            cancelled_after_confirm: 0.0,
            multi_package: 0.0,
            ..FailureMix::default()
        }
    }

    /// Sets one rate by its field name (the scenarios' names, `multi_package`,
    /// `mediocre_sellers`, `bad_sellers`, `mediocre_factor`, `bad_factor`).
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), String> {
        let field = match name {
            "missing_tracking" => &mut self.missing_tracking,
            "invalid_characters_fixable" => &mut self.invalid_characters_fixable,
            "invalid_characters_other" => &mut self.invalid_characters_other,
            "wrong_carrier" => &mut self.wrong_carrier,
            "no_scan" => &mut self.no_scan,
            "info_received_only" => &mut self.info_received_only,
            "not_integrated_carrier" => &mut self.not_integrated_carrier,
            "unknown_carrier" => &mut self.unknown_carrier,
            "confirmed_after_delivery" => &mut self.confirmed_after_delivery,
            "confirmed_after_promise" => &mut self.confirmed_after_promise,
            "placeholder_id" => &mut self.placeholder_id,
            "reused_old_id" => &mut self.reused_old_id,
            "corrected_tracking" => &mut self.corrected_tracking,
            "corrected_carrier" => &mut self.corrected_carrier,
            "digital" => &mut self.digital,
            "small_envelope" => &mut self.small_envelope,
            "freight_non_integrated" => &mut self.freight_non_integrated,
            "recycled_id" => &mut self.recycled_id,
            "cancelled_before_confirm" => &mut self.cancelled_before_confirm,
            "cancelled_after_confirm" => &mut self.cancelled_after_confirm,
            "multi_package" => &mut self.multi_package,
            "mediocre_sellers" => &mut self.mediocre_sellers,
            "bad_sellers" => &mut self.bad_sellers,
            "mediocre_factor" => &mut self.mediocre_factor,
            "bad_factor" => &mut self.bad_factor,
            _ => return Err(format!("unknown name `{name}`")),
        };
        // Rates and shares are fractions; the two factors multiply a good seller's rates.
        let most = if name.ends_with("_factor") {
            1000.0
        } else {
            1.0
        };
        if !(0.0..=most).contains(&value) {
            return Err(format!("`{name}` must lie between 0 and {most}"));
        }
        *field = value;
        Ok(())
    }

    /// The per-package rate of a scenario (0 for `Valid` and the per-order cancellations).
    pub fn rate(&self, s: Scenario) -> f64 {
        use Scenario as S;
        let r = match s {
            S::MissingTracking => self.missing_tracking,
            S::InvalidCharactersFixable => self.invalid_characters_fixable,
            S::InvalidCharactersOther => self.invalid_characters_other,
            S::WrongCarrier => self.wrong_carrier,
            S::NoScan => self.no_scan,
            S::InfoReceivedOnly => self.info_received_only,
            S::NotIntegratedCarrier => self.not_integrated_carrier,
            S::UnknownCarrier => self.unknown_carrier,
            S::ConfirmedAfterDelivery => self.confirmed_after_delivery,
            S::ConfirmedAfterPromise => self.confirmed_after_promise,
            S::PlaceholderId => self.placeholder_id,
            S::ReusedOldId => self.reused_old_id,
            S::CorrectedTracking => self.corrected_tracking,
            S::CorrectedCarrier => self.corrected_carrier,
            S::Digital => self.digital,
            S::SmallEnvelope => self.small_envelope,
            S::FreightNonIntegrated => self.freight_non_integrated,
            S::RecycledId => self.recycled_id,
            S::Valid | S::CancelledBeforeConfirm | S::CancelledAfterConfirm => 0.0,
        };
        prob(r)
    }

    /// Per-package scenario weights for a seller whose mistakes are scaled by `factor`;
    /// `Valid` takes what is left. `boost` multiplies the recycling scenarios, which can only
    /// happen early enough in the run.
    pub(crate) fn weights(&self, factor: f64, boost: f64) -> Vec<f64> {
        let factor = if factor.is_finite() {
            factor.max(0.0)
        } else {
            1.0
        };
        let mut w: Vec<f64> = Scenario::ALL
            .iter()
            .map(|s| {
                let r = self.rate(*s);
                let r = if s.is_seller_mistake() { r * factor } else { r };
                match s {
                    Scenario::RecycledId | Scenario::ReusedOldId => r * boost,
                    _ => r,
                }
            })
            .collect();
        let total: f64 = w.iter().sum();
        if total > 0.95 {
            w.iter_mut().for_each(|x| *x *= 0.95 / total);
        }
        w[Scenario::Valid.index()] = 1.0 - w.iter().sum::<f64>();
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order() {
        for (i, s) in Scenario::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }

    #[test]
    fn default_tiers_have_the_intended_quality() {
        let m = FailureMix::default();
        let valid_share = |factor: f64| {
            let w = m.weights(factor, 1.0);
            let invalid: f64 = Scenario::ALL
                .iter()
                .filter(|s| s.expected_status() == Status::Invalid)
                .map(|s| w[s.index()])
                .sum();
            let excluded: f64 = Scenario::ALL
                .iter()
                .filter(|s| s.expected_status() == Status::Excluded)
                .map(|s| w[s.index()])
                .sum();
            1.0 - invalid / (1.0 - excluded)
        };
        assert!(valid_share(1.0) > 0.985, "{}", valid_share(1.0));
        let mediocre = valid_share(m.mediocre_factor);
        assert!((0.90..0.96).contains(&mediocre), "{mediocre}");
        let bad = valid_share(m.bad_factor);
        assert!((0.60..0.80).contains(&bad), "{bad}");
    }

    #[test]
    fn weights_are_a_distribution_even_for_absurd_rates() {
        let m = FailureMix {
            no_scan: 5.0,
            wrong_carrier: f64::NAN,
            ..FailureMix::default()
        };
        let w = m.weights(1000.0, 3.0);
        assert!(w.iter().all(|x| *x >= 0.0));
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
