//! Carriers as sellers type them and as carriers report scans: spellings, market shares,
//! hand-offs, tracking-ID formats, and the carriers vtrack is not integrated with.

use super::ids::IdMaker;
use super::rng::Rng;

/// An integrated carrier of the default configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Carrier {
    Usps,
    Ups,
    Fedex,
    FedexSmartpost,
    UpsMailInnovations,
    Dhl,
    DhlEcommerce,
    Ontrac,
    Lasership,
    Amazon,
    CanadaPost,
}

/// US marketplace shares of the carriers, roughly as sellers use them (sums to 1).
const US_SHARES: [(Carrier, f64); 10] = [
    (Carrier::Usps, 0.31),
    (Carrier::Ups, 0.22),
    (Carrier::Fedex, 0.14),
    (Carrier::Amazon, 0.15),
    (Carrier::FedexSmartpost, 0.03),
    (Carrier::UpsMailInnovations, 0.02),
    (Carrier::DhlEcommerce, 0.04),
    (Carrier::Ontrac, 0.04),
    (Carrier::Lasership, 0.04),
    (Carrier::Dhl, 0.01),
];

/// CA marketplace shares.
const CA_SHARES: [(Carrier, f64); 5] = [
    (Carrier::CanadaPost, 0.62),
    (Carrier::Ups, 0.14),
    (Carrier::Fedex, 0.12),
    (Carrier::Dhl, 0.04),
    (Carrier::Usps, 0.08),
];

/// Known carriers that are not integrated by default, as sellers type them.
pub(crate) const NOT_INTEGRATED: [&str; 9] = [
    "Purolator",
    "Canpar",
    "DPD",
    "Yodel",
    "YunExpress",
    "GOFO",
    "Landmark",
    "Spee-Dee",
    "Old Dominion",
];

/// Carriers nobody configured: unknown to vtrack.
pub(crate) const UNKNOWN: [&str; 7] = [
    "QuickShip Express",
    "Other",
    "Local Courier",
    "China Post",
    "Yanwen",
    "4PX",
    "Shipped",
];

/// Freight carriers (not integrated, or unknown) for the freight exemption.
pub(crate) const FREIGHT: [&str; 6] = [
    "Estes",
    "XPO",
    "Old Dominion",
    "R+L Carriers",
    "SAIA",
    "ESTES",
];

/// Hub and city names for scan locations.
pub(crate) const US_CITIES: [&str; 24] = [
    "MEMPHIS, TN, US",
    "LOUISVILLE, KY, US",
    "INDIANAPOLIS, IN, US",
    "ATLANTA, GA, US",
    "DALLAS, TX, US",
    "HOUSTON, TX, US",
    "CHICAGO, IL, US",
    "NEWARK, NJ, US",
    "NEW YORK, NY, US",
    "LOS ANGELES, CA, US",
    "ONTARIO, CA, US",
    "OAKLAND, CA, US",
    "SEATTLE, WA, US",
    "PHOENIX, AZ, US",
    "DENVER, CO, US",
    "MIAMI, FL, US",
    "ORLANDO, FL, US",
    "CHARLOTTE, NC, US",
    "COLUMBUS, OH, US",
    "DETROIT, MI, US",
    "MINNEAPOLIS, MN, US",
    "KANSAS CITY, MO, US",
    "SALT LAKE CITY, UT, US",
    "PHILADELPHIA, PA, US",
];

/// Canadian cities for scan locations.
pub(crate) const CA_CITIES: [&str; 6] = [
    "TORONTO, ON, CA",
    "MISSISSAUGA, ON, CA",
    "MONTREAL, QC, CA",
    "VANCOUVER, BC, CA",
    "CALGARY, AB, CA",
    "OTTAWA, ON, CA",
];

impl Carrier {
    /// The code under which the carrier reports its own scans.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Carrier::Usps => "USPS",
            Carrier::Ups => "UPS",
            Carrier::Fedex => "FEDEX",
            Carrier::FedexSmartpost => "FEDEX_SMARTPOST",
            Carrier::UpsMailInnovations => "UPS_MAIL_INNOVATIONS",
            Carrier::Dhl => "DHL",
            Carrier::DhlEcommerce => "DHL_ECOMMERCE",
            Carrier::Ontrac => "ONTRAC",
            Carrier::Lasership => "LASERSHIP",
            Carrier::Amazon => "AMAZON",
            Carrier::CanadaPost => "CANADA_POST",
        }
    }

    /// Ways sellers type the carrier; every one resolves to it through the default aliases.
    pub(crate) fn spellings(self) -> &'static [&'static str] {
        match self {
            Carrier::Usps => &["USPS", "usps", "U.S.P.S.", "United States Postal Service"],
            Carrier::Ups => &["UPS", "ups", "United Parcel Service", "U.P.S."],
            Carrier::Fedex => &["FedEx", "Fed Ex", "fedex ground", "FedEx Express", "FEDEX"],
            Carrier::FedexSmartpost => &["FedEx SmartPost", "SmartPost", "FEDEX_SMARTPOST"],
            Carrier::UpsMailInnovations => &["UPS Mail Innovations", "UPSMI", "UPS MI"],
            Carrier::Dhl => &["DHL", "DHL Express", "dhl"],
            Carrier::DhlEcommerce => &["DHL eCommerce", "DHL Global Mail", "DHL_ECOMMERCE"],
            Carrier::Ontrac => &["OnTrac", "ONTRAC", "On Trac"],
            Carrier::Lasership => &["LaserShip", "Laser Ship", "LASERSHIP"],
            Carrier::Amazon => &["Amazon Shipping", "AMZL", "Amazon Logistics", "Amazon"],
            Carrier::CanadaPost => &["Canada Post", "CANADA_POST", "canada post"],
        }
    }

    /// The carrier that reports the last mile: USPS for the carriers that hand off to it.
    pub(crate) fn last_mile(self) -> Carrier {
        match self {
            Carrier::FedexSmartpost | Carrier::UpsMailInnovations | Carrier::DhlEcommerce => {
                Carrier::Usps
            }
            other => other,
        }
    }

    /// A carrier whose name, typed instead of this one, makes the scans count for nobody
    /// (it is neither this carrier nor one it hands off to).
    pub(crate) fn confusable(self, rng: &mut Rng) -> Carrier {
        let options: &[Carrier] = match self {
            Carrier::Usps => &[Carrier::Ups, Carrier::Fedex],
            Carrier::Ups => &[Carrier::Usps, Carrier::Fedex],
            Carrier::Fedex => &[Carrier::Ups, Carrier::Usps],
            Carrier::FedexSmartpost => &[Carrier::Fedex, Carrier::Ups],
            Carrier::UpsMailInnovations => &[Carrier::Ups],
            Carrier::Dhl => &[Carrier::Ups, Carrier::DhlEcommerce],
            Carrier::DhlEcommerce => &[Carrier::Dhl],
            Carrier::Ontrac => &[Carrier::Ups, Carrier::Lasership],
            Carrier::Lasership => &[Carrier::Fedex, Carrier::Ontrac],
            Carrier::Amazon => &[Carrier::Usps, Carrier::Ups],
            Carrier::CanadaPost => &[Carrier::Usps, Carrier::Ups],
        };
        rng.pick(options).copied().unwrap_or(Carrier::Ups)
    }

    /// A spelling of the carrier; `style` keeps one seller's spelling consistent.
    pub(crate) fn spelling(self, style: u64) -> &'static str {
        let s = self.spellings();
        s[(style % s.len() as u64) as usize]
    }

    /// A carrier drawn by marketplace share.
    pub(crate) fn draw(rng: &mut Rng, canada: bool) -> Carrier {
        let table: &[(Carrier, f64)] = if canada { &CA_SHARES } else { &US_SHARES };
        let weights: Vec<f64> = table.iter().map(|(_, w)| *w).collect();
        table[rng.weighted(&weights)].0
    }

    /// Typical transit time, in whole days, for a parcel of this carrier.
    pub(crate) fn transit_days(self, rng: &mut Rng) -> i64 {
        match self {
            Carrier::Amazon | Carrier::Ontrac | Carrier::Lasership => rng.range(1, 2),
            Carrier::Ups | Carrier::Fedex | Carrier::Dhl => rng.range(1, 4),
            _ => rng.range(2, 5),
        }
    }
}

/// Per-seller numbers that shape its tracking IDs.
#[derive(Debug, Clone)]
pub(crate) struct ShipperNumbers {
    /// UPS shipper number (6 characters).
    pub(crate) ups: String,
    /// USPS mailer ID used in IMpb numbers.
    pub(crate) usps_mailer: u32,
    /// Canada Post origin ID (7 digits).
    pub(crate) canada_origin: u32,
}

/// A real tracking ID of `carrier` for the package with serial `unique`.
pub(crate) fn make_id(
    ids: &IdMaker,
    carrier: Carrier,
    unique: u64,
    shipper: &ShipperNumbers,
    rng: &mut Rng,
) -> String {
    match carrier {
        Carrier::Usps => usps_id(ids, unique, shipper, rng),
        Carrier::Ups => ids.ups(unique, &shipper.ups),
        Carrier::Fedex if rng.chance(0.3) => ids.fedex_ground(unique, rng),
        Carrier::Fedex => ids.fedex12(unique),
        Carrier::FedexSmartpost | Carrier::UpsMailInnovations => {
            ids.usps_impb(unique, 92, shipper.usps_mailer.wrapping_add(7), rng)
        }
        Carrier::DhlEcommerce if rng.chance(0.5) => {
            ids.usps_impb(unique, 93, shipper.usps_mailer.wrapping_add(3), rng)
        }
        Carrier::DhlEcommerce => ids.dhl_ecommerce(unique, rng),
        Carrier::Dhl => ids.dhl_express(unique),
        Carrier::Ontrac => ids.ontrac(unique),
        Carrier::Lasership => ids.lasership(unique, rng),
        Carrier::Amazon => ids.amazon(unique, rng),
        Carrier::CanadaPost => ids.canada_post(unique, shipper.canada_origin),
    }
}

fn usps_id(ids: &IdMaker, unique: u64, shipper: &ShipperNumbers, rng: &mut Rng) -> String {
    match rng.below(20) {
        0 => ids.s10(unique, "US", rng),
        1..=6 => ids.usps_impb(unique, 92, shipper.usps_mailer, rng),
        7..=8 => ids.usps_impb(unique, 93, shipper.usps_mailer, rng),
        _ => ids.usps_impb(unique, 94, shipper.usps_mailer, rng),
    }
}

/// A tracking ID in the style of a carrier vtrack does not know or integrate.
pub(crate) fn other_id(ids: &IdMaker, name: &str, unique: u64) -> String {
    match name {
        "Purolator" => ids.other(unique, "3", 11),
        "Canpar" => ids.other(unique, "D", 18),
        "Yodel" => ids.other(unique, "JD", 16),
        "YunExpress" => ids.other(unique, "YT", 16),
        "China Post" => ids.other(unique, "LY", 9) + "CN",
        "Estes" | "ESTES" => ids.other(unique, "0", 9),
        "XPO" => ids.other(unique, "", 9),
        _ => ids.other(unique, "QS", 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one() {
        let us: f64 = US_SHARES.iter().map(|(_, w)| w).sum();
        let ca: f64 = CA_SHARES.iter().map(|(_, w)| w).sum();
        assert!((us - 1.0).abs() < 1e-9 && (ca - 1.0).abs() < 1e-9);
    }

    #[test]
    fn confusable_carriers_never_accept_the_real_scans() {
        let mut rng = Rng::new(3);
        for (c, _) in US_SHARES.iter().chain(CA_SHARES.iter()) {
            for _ in 0..20 {
                let wrong = c.confusable(&mut rng);
                // Scans come from `c` and its last-mile carrier; neither may count for `wrong`
                // (whose scans are its own and, for a hand-off carrier, USPS's).
                let reporters = [*c, c.last_mile()];
                let accepted = [wrong, wrong.last_mile()];
                assert!(
                    reporters.iter().all(|r| !accepted.contains(r)),
                    "{c:?} {wrong:?}"
                );
            }
        }
    }

    #[test]
    fn spellings_resolve_by_the_contract_aliases() {
        // The contract's alias keys: letters and digits only, upper case.
        let aliases = [
            ("USPS", "USPS"),
            ("UNITEDSTATESPOSTALSERVICE", "USPS"),
            ("UPS", "UPS"),
            ("UNITEDPARCELSERVICE", "UPS"),
            ("UPSMI", "UPS_MAIL_INNOVATIONS"),
            ("UPSMAILINNOVATIONS", "UPS_MAIL_INNOVATIONS"),
            ("FEDEX", "FEDEX"),
            ("FEDEXGROUND", "FEDEX"),
            ("FEDEXEXPRESS", "FEDEX"),
            ("FEDEXSMARTPOST", "FEDEX_SMARTPOST"),
            ("SMARTPOST", "FEDEX_SMARTPOST"),
            ("DHL", "DHL"),
            ("DHLEXPRESS", "DHL"),
            ("DHLECOMMERCE", "DHL_ECOMMERCE"),
            ("DHLGLOBALMAIL", "DHL_ECOMMERCE"),
            ("ONTRAC", "ONTRAC"),
            ("LASERSHIP", "LASERSHIP"),
            ("AMAZON", "AMAZON"),
            ("AMZL", "AMAZON"),
            ("AMAZONSHIPPING", "AMAZON"),
            ("AMAZONLOGISTICS", "AMAZON"),
            ("CANADAPOST", "CANADA_POST"),
        ];
        let all = [
            Carrier::Usps,
            Carrier::Ups,
            Carrier::Fedex,
            Carrier::FedexSmartpost,
            Carrier::UpsMailInnovations,
            Carrier::Dhl,
            Carrier::DhlEcommerce,
            Carrier::Ontrac,
            Carrier::Lasership,
            Carrier::Amazon,
            Carrier::CanadaPost,
        ];
        for c in all {
            for s in c.spellings() {
                let key: String = s
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_uppercase();
                let code_key = c.code().replace('_', "");
                let resolved = aliases
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| *v)
                    .or((key == code_key).then_some(c.code()));
                assert_eq!(resolved, Some(c.code()), "{s}");
            }
        }
    }
}
