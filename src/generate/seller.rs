//! Sellers: identity, quality tier, size, categories, marketplaces and carriers.

use super::carrier::{Carrier, ShipperNumbers};
use super::ids;
use super::mix::{prob, FailureMix};
use super::rng::{mix64, Rng};
use super::GenerateOptions;

/// How carefully a seller enters tracking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Good,
    Mediocre,
    Bad,
}

impl Tier {
    /// Index into per-tier tables.
    pub(crate) fn index(self) -> usize {
        match self {
            Tier::Good => 0,
            Tier::Mediocre => 1,
            Tier::Bad => 2,
        }
    }
}

/// One generated seller.
#[derive(Debug, Clone)]
pub(crate) struct Seller {
    /// Marketplace seller ID.
    pub(crate) id: String,
    /// Quality tier.
    pub(crate) tier: Tier,
    /// Categories it sells in (indices into the options' category list).
    pub(crate) categories: Vec<u16>,
    /// True when it also sells in the CA marketplace.
    pub(crate) in_canada: bool,
    /// Carriers it ships with in the US, most used first.
    pub(crate) us_carriers: [Carrier; 3],
    /// Carriers it ships with in Canada, most used first.
    pub(crate) ca_carriers: [Carrier; 3],
    /// Keeps the seller's spelling of carrier names consistent.
    pub(crate) spelling_style: u64,
    /// Numbers in its tracking IDs.
    pub(crate) shipper: ShipperNumbers,
    /// Index of its city in the US city list (origin of its parcels).
    pub(crate) origin: u8,
}

impl Seller {
    /// Seller `index` of a run.
    pub(crate) fn new(index: u32, opts: &GenerateOptions) -> Seller {
        let mut rng = Rng::stream(opts.seed, 0x5E11_E400_0000_0000 | u64::from(index));
        let salt = mix64(opts.seed ^ 0x5E11E4);
        let tier = draw_tier(&mut rng, &opts.mix);
        Seller {
            id: ids::seller_id(index, salt),
            tier,
            categories: draw_categories(&mut rng, opts.categories.len()),
            in_canada: rng.chance(prob(opts.canada_sellers)),
            us_carriers: draw_carriers(&mut rng, false),
            ca_carriers: draw_carriers(&mut rng, true),
            spelling_style: rng.next_u64(),
            shipper: ShipperNumbers {
                ups: ids::ups_shipper(index, salt),
                usps_mailer: (10_000_000 + rng.below(89_999_999)) as u32,
                canada_origin: (1_000_000 + rng.below(8_999_999)) as u32,
            },
            origin: rng.below(24) as u8,
        }
    }

    /// The carrier for a package: mostly the seller's main one.
    pub(crate) fn carrier(&self, rng: &mut Rng, canada: bool) -> Carrier {
        let list = if canada {
            &self.ca_carriers
        } else {
            &self.us_carriers
        };
        list[rng.weighted(&[0.7, 0.22, 0.08])]
    }

    /// How the seller types `carrier`.
    pub(crate) fn spelling(&self, carrier: Carrier) -> &'static str {
        carrier.spelling(mix64(self.spelling_style ^ carrier as u64))
    }

    /// A category the seller sells in (0 when the list is empty).
    pub(crate) fn category(&self, rng: &mut Rng) -> u16 {
        rng.pick(&self.categories).copied().unwrap_or(0)
    }
}

fn draw_tier(rng: &mut Rng, mix: &FailureMix) -> Tier {
    let x = rng.unit();
    let bad = prob(mix.bad_sellers);
    let mediocre = prob(mix.mediocre_sellers);
    if x < bad {
        Tier::Bad
    } else if x < bad + mediocre {
        Tier::Mediocre
    } else {
        Tier::Good
    }
}

fn draw_categories(rng: &mut Rng, n: usize) -> Vec<u16> {
    if n == 0 {
        return vec![0];
    }
    let k = 1 + rng.weighted(&[0.6, 0.3, 0.1]);
    let mut out: Vec<u16> = (0..k).map(|_| rng.below(n as u64) as u16).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn draw_carriers(rng: &mut Rng, canada: bool) -> [Carrier; 3] {
    [
        Carrier::draw(rng, canada),
        Carrier::draw(rng, canada),
        Carrier::draw(rng, canada),
    ]
}

/// Picks sellers by size: a few large sellers, a long tail of small ones (Zipf-like).
#[derive(Debug, Clone)]
pub(crate) struct SellerPicker {
    cumulative: Vec<f64>,
}

impl SellerPicker {
    /// A picker over `n` sellers (at least one).
    pub(crate) fn new(n: u32) -> SellerPicker {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|i| {
                total += 1.0 / f64::from(i + 1).powf(0.9);
                total
            })
            .collect();
        SellerPicker { cumulative }
    }

    /// A seller index, weighted by size. Sizes are shuffled over indices by `salt`.
    pub(crate) fn pick(&self, rng: &mut Rng) -> u32 {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        let rank = self.cumulative.partition_point(|c| *c <= x);
        let n = self.cumulative.len() as u64;
        // Spread ranks over indices so that seller 0 is not always the largest.
        ((rank as u64).min(n - 1).wrapping_mul(2_654_435_761) % n.max(1)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_mix() {
        let opts = GenerateOptions {
            seed: 9,
            ..GenerateOptions::default()
        };
        let sellers: Vec<Seller> = (0..2000).map(|i| Seller::new(i, &opts)).collect();
        let bad = sellers.iter().filter(|s| s.tier == Tier::Bad).count();
        let mediocre = sellers.iter().filter(|s| s.tier == Tier::Mediocre).count();
        assert!((50..150).contains(&bad), "{bad}");
        assert!((220..380).contains(&mediocre), "{mediocre}");
        assert!(sellers.iter().all(|s| !s.categories.is_empty()));
    }

    #[test]
    fn picker_stays_in_range_and_is_skewed() {
        let p = SellerPicker::new(100);
        let mut rng = Rng::new(1);
        let mut counts = [0u32; 100];
        for _ in 0..100_000 {
            counts[p.pick(&mut rng) as usize] += 1;
        }
        let max = counts.iter().max().copied().unwrap_or(0);
        let min = counts.iter().min().copied().unwrap_or(0);
        assert!(max > 10 * min.max(1), "{max} {min}");
        assert_eq!(SellerPicker::new(0).pick(&mut rng), 0);
    }
}
