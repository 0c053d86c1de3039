//! Loading a carriers file: the TOML schema (documented at the top of
//! `config/carriers.toml`) and its validation into a [`CarrierRegistry`].

use super::alias::{alias_key, AliasTable};
use super::check_digit::{CheckDigit, Mod10};
use super::format::{CheckSpec, Format, Formats, Lookup, Matcher};
use super::{bit, Carrier, CarrierError, CarrierId, CarrierRegistry, CarrierSet};
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A `CarrierSet` has one bit per carrier.
const MAX_CARRIERS: usize = CarrierSet::BITS as usize;

/// Largest multiplier, weight or modulus accepted.
const MAX_PARAMETER: u32 = 1_000_000;

/// Default S10 weights.
const S10_WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];

/// Default MOD 37,36 alphabet.
const BASE36: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    carriers: BTreeMap<String, RawCarrier>,
    #[serde(default)]
    formats: BTreeMap<String, Vec<RawFormat>>,
}

/// `[carriers.CODE]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCarrier {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    integrated: bool,
    #[serde(default)]
    handoff_partners: Vec<String>,
    #[serde(default)]
    formats: Vec<String>,
}

/// `[[formats.GROUP]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFormat {
    name: String,
    regex: String,
    max_length: Option<usize>,
    check_digit: Option<RawCheckDigit>,
    serial_prefix: Option<String>,
    #[serde(default)]
    lookups: Vec<RawLookup>,
}

/// `check_digit = { algorithm = "...", ... }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheckDigit {
    algorithm: String,
    evens_multiplier: Option<u32>,
    odds_multiplier: Option<u32>,
    modulo: Option<u32>,
    reverse: Option<bool>,
    weightings: Option<Vec<u32>>,
    modulo1: Option<u32>,
    modulo2: Option<u32>,
    alphabet: Option<String>,
}

/// `[[formats.GROUP.lookups]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLookup {
    group: String,
    values: Vec<String>,
}

/// Parses and validates the text of a carriers file.
pub fn parse(text: &str) -> Result<CarrierRegistry, CarrierError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| CarrierError::Parse(e.to_string()))?;
    if raw.carriers.len() > MAX_CARRIERS {
        return Err(CarrierError::TooManyCarriers {
            count: raw.carriers.len(),
            max: MAX_CARRIERS,
        });
    }
    // BTreeMap order: ids follow the codes' alphabetical order.
    let ids: BTreeMap<&str, CarrierId> = raw
        .carriers
        .keys()
        .enumerate()
        .map(|(i, code)| (code.as_str(), i as CarrierId))
        .collect();
    let mut carriers = Vec::with_capacity(ids.len());
    let mut aliases = AliasTable::default();
    let mut groups: BTreeMap<&str, CarrierSet> = BTreeMap::new();
    for (code, rc) in &raw.carriers {
        let id = ids[code.as_str()];
        carriers.push(carrier(code, rc, &ids)?);
        add_aliases(&mut aliases, code, rc, id, &raw.carriers)?;
        for g in &rc.formats {
            if !raw.formats.contains_key(g) {
                let message = format!("unknown format group {g:?}");
                return Err(carrier_error(code, "formats", message));
            }
            *groups.entry(g.as_str()).or_default() |= bit(id);
        }
    }
    let formats = compile_formats(&raw.formats, &groups)?;
    Ok(CarrierRegistry::assemble(carriers, aliases, formats))
}

/// An error about a carrier's key.
fn carrier_error(code: &str, key: &'static str, message: String) -> CarrierError {
    CarrierError::Carrier {
        carrier: code.to_string(),
        key,
        message,
    }
}

/// Validates one carrier entry.
fn carrier(
    code: &str,
    rc: &RawCarrier,
    ids: &BTreeMap<&str, CarrierId>,
) -> Result<Carrier, CarrierError> {
    let valid_code = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !valid_code {
        let message = "a code is made of A-Z, 0-9 and _".to_string();
        return Err(carrier_error(code, "code", message));
    }
    if rc.name.trim().is_empty() {
        return Err(carrier_error(code, "name", "must not be empty".into()));
    }
    let mut accepted = bit(ids[code]);
    for p in &rc.handoff_partners {
        let Some(&pid) = ids.get(p.as_str()) else {
            let message = format!("unknown carrier {p:?}");
            return Err(carrier_error(code, "handoff_partners", message));
        };
        accepted |= bit(pid);
    }
    Ok(Carrier {
        code: code.to_string(),
        name: rc.name.clone(),
        integrated: rc.integrated,
        accepted,
    })
}

/// Adds the code and the aliases of a carrier to the table.
fn add_aliases(
    table: &mut AliasTable,
    code: &str,
    rc: &RawCarrier,
    id: CarrierId,
    all: &BTreeMap<String, RawCarrier>,
) -> Result<(), CarrierError> {
    for name in std::iter::once(code).chain(rc.aliases.iter().map(String::as_str)) {
        let key = alias_key(name);
        if key.is_empty() {
            let message = format!("alias {name:?} has no letter or digit");
            return Err(carrier_error(code, "aliases", message));
        }
        if let Some(other) = table.insert(&key, id) {
            let other = all.keys().nth(other as usize).map_or("?", String::as_str);
            let message = format!("alias {name:?} ({key}) already names {other}");
            return Err(carrier_error(code, "aliases", message));
        }
    }
    Ok(())
}

/// Compiles every format of every group.
fn compile_formats(
    raw: &BTreeMap<String, Vec<RawFormat>>,
    groups: &BTreeMap<&str, CarrierSet>,
) -> Result<Formats, CarrierError> {
    let mut list = Vec::new();
    for (group, formats) in raw {
        let carriers = groups.get(group.as_str()).copied().unwrap_or(0);
        for rf in formats {
            list.push(compile(group, rf, carriers)?);
        }
    }
    Ok(Formats::new(list))
}

/// The context of errors about one format.
struct FormatContext<'a> {
    group: &'a str,
    format: &'a str,
}

impl FormatContext<'_> {
    /// An error about a key of the format.
    fn error(&self, key: &'static str, message: impl Into<String>) -> CarrierError {
        CarrierError::Format {
            group: self.group.to_string(),
            format: self.format.to_string(),
            key,
            message: message.into(),
        }
    }
}

/// Compiles one format.
fn compile(group: &str, rf: &RawFormat, carriers: CarrierSet) -> Result<Format, CarrierError> {
    let cx = FormatContext {
        group,
        format: &rf.name,
    };
    if rf.name.trim().is_empty() {
        return Err(cx.error("name", "must not be empty"));
    }
    let regex =
        Regex::new(&format!("^(?:{})$", rf.regex)).map_err(|e| cx.error("regex", e.to_string()))?;
    let check = match &rf.check_digit {
        Some(cd) => Some(check_spec(&cx, &regex, cd, rf.serial_prefix.as_deref())?),
        None if rf.serial_prefix.is_some() => {
            return Err(cx.error("serial_prefix", "only applies with a check_digit"))
        }
        None => None,
    };
    let lookups = rf
        .lookups
        .iter()
        .map(|l| lookup(&cx, &regex, l))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Format {
        name: rf.name.clone(),
        carriers,
        matcher: Matcher::new(&rf.regex, &regex),
        regex,
        max_length: rf.max_length.unwrap_or(usize::MAX),
        check,
        lookups,
    })
}

/// The index of a named group of the regex.
fn group_index(cx: &FormatContext, regex: &Regex, name: &str) -> Result<usize, CarrierError> {
    regex
        .capture_names()
        .position(|n| n == Some(name))
        .ok_or_else(|| cx.error("regex", format!("has no group named {name}")))
}

/// The check digit of a format and the groups it reads.
fn check_spec(
    cx: &FormatContext,
    regex: &Regex,
    raw: &RawCheckDigit,
    prefix: Option<&str>,
) -> Result<CheckSpec, CarrierError> {
    let algorithm = check_digit(raw).map_err(|m| cx.error("check_digit", m))?;
    let serial_prefix = match prefix {
        Some("") => return Err(cx.error("serial_prefix", "must not be empty")),
        Some(p) => Some(p.as_bytes().into()),
        None => None,
    };
    Ok(CheckSpec {
        algorithm,
        serial_group: group_index(cx, regex, "SerialNumber")?,
        check_group: group_index(cx, regex, "CheckDigit")?,
        serial_prefix,
    })
}

/// A lookup of a format.
fn lookup(cx: &FormatContext, regex: &Regex, raw: &RawLookup) -> Result<Lookup, CarrierError> {
    if raw.values.is_empty() {
        return Err(cx.error("lookups", format!("group {}: no values", raw.group)));
    }
    let mut values: Vec<Box<[u8]>> = raw.values.iter().map(|v| v.as_bytes().into()).collect();
    values.sort();
    values.dedup();
    Ok(Lookup {
        group: group_index(cx, regex, &raw.group).map_err(|_| {
            cx.error(
                "lookups",
                format!("the regex has no group named {}", raw.group),
            )
        })?,
        values,
    })
}

impl RawCheckDigit {
    /// The parameters given, by name.
    fn given(&self) -> [(&'static str, bool); 8] {
        [
            ("evens_multiplier", self.evens_multiplier.is_some()),
            ("odds_multiplier", self.odds_multiplier.is_some()),
            ("modulo", self.modulo.is_some()),
            ("reverse", self.reverse.is_some()),
            ("weightings", self.weightings.is_some()),
            ("modulo1", self.modulo1.is_some()),
            ("modulo2", self.modulo2.is_some()),
            ("alphabet", self.alphabet.is_some()),
        ]
    }

    /// Fails when a parameter the algorithm does not read is given.
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self
            .given()
            .iter()
            .find(|(k, g)| *g && !allowed.contains(k))
        {
            Some((k, _)) => Err(format!("{k} does not apply to {}", self.algorithm)),
            None => Ok(()),
        }
    }
}

/// A number parameter within `1..=MAX_PARAMETER`, or its default.
fn positive(name: &str, value: Option<u32>, default: u32) -> Result<u32, String> {
    let v = value.unwrap_or(default);
    if (1..=MAX_PARAMETER).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{name} must lie in 1..={MAX_PARAMETER}, not {v}"))
    }
}

/// A required number parameter within `1..=MAX_PARAMETER`.
fn required(name: &str, value: Option<u32>) -> Result<u32, String> {
    let v = value.ok_or_else(|| format!("{name} is required"))?;
    positive(name, Some(v), v)
}

/// Weights, each within `0..=MAX_PARAMETER`, at least one.
fn weights(value: Option<&Vec<u32>>, default: &[u32]) -> Result<Vec<u32>, String> {
    let w = value.map_or_else(|| default.to_vec(), Clone::clone);
    if w.is_empty() {
        return Err("weightings must not be empty".into());
    }
    match w.iter().find(|&&x| x > MAX_PARAMETER) {
        Some(x) => Err(format!("weighting {x} is above {MAX_PARAMETER}")),
        None => Ok(w),
    }
}

/// Validates a check-digit definition.
fn check_digit(raw: &RawCheckDigit) -> Result<CheckDigit, String> {
    match raw.algorithm.as_str() {
        "mod10" => mod10(raw),
        "mod7" => {
            raw.only(&["modulo"])?;
            let modulo = positive("modulo", raw.modulo, 7)?;
            Ok(CheckDigit::Mod7 { modulo })
        }
        "s10" => {
            raw.only(&["weightings", "modulo"])?;
            let weightings = weights(raw.weightings.as_ref(), &S10_WEIGHTS)?;
            let modulo = positive("modulo", raw.modulo, 11)?;
            Ok(CheckDigit::S10 { weightings, modulo })
        }
        "luhn" => {
            raw.only(&["modulo"])?;
            let modulo = positive("modulo", raw.modulo, 10)?;
            Ok(CheckDigit::Luhn { modulo })
        }
        "mod_37_36" => mod_37_36(raw),
        "sum_product_with_weightings_and_modulo" => sum_product(raw),
        other => Err(format!(
            "unknown algorithm {other:?} (mod10, mod7, s10, luhn, mod_37_36, \
             sum_product_with_weightings_and_modulo)"
        )),
    }
}

/// Validates a `mod10` definition.
fn mod10(raw: &RawCheckDigit) -> Result<CheckDigit, String> {
    raw.only(&["evens_multiplier", "odds_multiplier", "modulo", "reverse"])?;
    let evens = raw.evens_multiplier.unwrap_or(1);
    let odds = raw.odds_multiplier.unwrap_or(1);
    if evens > MAX_PARAMETER || odds > MAX_PARAMETER {
        return Err(format!("multipliers must not exceed {MAX_PARAMETER}"));
    }
    Ok(CheckDigit::Mod10(Mod10 {
        evens_multiplier: evens,
        odds_multiplier: odds,
        modulo: positive("modulo", raw.modulo, 10)?,
        reverse: raw.reverse.unwrap_or(false),
    }))
}

/// Validates a `mod_37_36` definition.
fn mod_37_36(raw: &RawCheckDigit) -> Result<CheckDigit, String> {
    raw.only(&["modulo", "alphabet"])?;
    let modulo = positive("modulo", raw.modulo, 36)?;
    let alphabet = raw.alphabet.as_deref().unwrap_or(BASE36);
    if !alphabet.is_ascii() || alphabet.len() < modulo as usize {
        let message = format!("alphabet must be ASCII with at least {modulo} characters");
        return Err(message);
    }
    Ok(CheckDigit::Mod3736 {
        modulo,
        alphabet: alphabet.as_bytes().to_vec(),
    })
}

/// Validates a `sum_product_with_weightings_and_modulo` definition.
fn sum_product(raw: &RawCheckDigit) -> Result<CheckDigit, String> {
    raw.only(&["weightings", "modulo1", "modulo2"])?;
    let weightings = raw.weightings.as_ref().ok_or("weightings is required")?;
    Ok(CheckDigit::SumProduct {
        weightings: weights(Some(weightings), &[])?,
        modulo1: required("modulo1", raw.modulo1)?,
        modulo2: required("modulo2", raw.modulo2)?,
    })
}
