//! Carrier registry: aliases, integration, hand-offs, formats and the file's validation
//! (contract sections 3 and 8).

use vtrack::carriers::{bit, CarrierError, CarrierId, CarrierRegistry, FormatMatch};

fn reg() -> CarrierRegistry {
    CarrierRegistry::default_us()
}

fn id(r: &CarrierRegistry, code: &str) -> CarrierId {
    r.by_code(code)
        .unwrap_or_else(|| panic!("no carrier {code}"))
}

fn codes(r: &CarrierRegistry, ids: &[CarrierId]) -> Vec<String> {
    ids.iter().map(|&i| r.code(i).to_string()).collect()
}

fn detected(r: &CarrierRegistry, tracking: &str) -> Vec<String> {
    codes(r, &r.detected_carriers(&r.analyze(tracking)))
}

#[test]
fn default_registry_loads_every_carrier_in_code_order() {
    let r = reg();
    let all: Vec<&str> = r.iter().map(|(_, c)| c).collect();
    assert_eq!(
        all,
        [
            "AMAZON",
            "CANADA_POST",
            "CANPAR",
            "DHL",
            "DHL_ECOMMERCE",
            "DPD",
            "ESTES",
            "FEDEX",
            "FEDEX_SMARTPOST",
            "GOFO",
            "LANDMARK",
            "LASERSHIP",
            "OLD_DOMINION",
            "ONTRAC",
            "PUROLATOR",
            "SPEEDEE",
            "UPS",
            "UPS_MAIL_INNOVATIONS",
            "USPS",
            "XPO",
            "YODEL",
            "YUNEXPRESS",
        ]
    );
    assert_eq!(r.len(), 22);
    assert!(!r.is_empty());
    for (i, code) in r.iter() {
        assert_eq!(r.by_code(code), Some(i));
        assert_eq!(r.code(i), code);
    }
    assert_eq!(r.by_code("fedex"), None);
    assert_eq!(r.by_code("FEDEXSMARTPOST"), None);
}

#[test]
fn display_names() {
    let r = reg();
    assert_eq!(r.display_name(id(&r, "UPS")), "UPS");
    assert_eq!(r.display_name(id(&r, "FEDEX")), "FedEx");
    assert_eq!(r.display_name(id(&r, "FEDEX_SMARTPOST")), "FedEx SmartPost");
    assert_eq!(r.display_name(id(&r, "CANADA_POST")), "Canada Post");
}

#[test]
fn every_alias_of_the_contract_resolves() {
    let r = reg();
    let table = [
        ("USPS", "USPS"),
        ("UNITEDSTATESPOSTALSERVICE", "USPS"),
        ("United States Postal Service", "USPS"),
        ("UPS", "UPS"),
        ("UNITEDPARCELSERVICE", "UPS"),
        ("United Parcel Service", "UPS"),
        ("UPSMI", "UPS_MAIL_INNOVATIONS"),
        ("UPS Mail Innovations", "UPS_MAIL_INNOVATIONS"),
        ("FEDEX", "FEDEX"),
        ("Fed Ex", "FEDEX"),
        ("fedex ground", "FEDEX"),
        ("FedEx Express", "FEDEX"),
        ("Federal Express", "FEDEX"),
        ("FedEx SmartPost", "FEDEX_SMARTPOST"),
        ("SMARTPOST", "FEDEX_SMARTPOST"),
        ("DHL", "DHL"),
        ("DHL Express", "DHL"),
        ("DHL eCommerce", "DHL_ECOMMERCE"),
        ("DHL Global Mail", "DHL_ECOMMERCE"),
        ("OnTrac", "ONTRAC"),
        ("LaserShip", "LASERSHIP"),
        ("Amazon", "AMAZON"),
        ("AMZL", "AMAZON"),
        ("Amazon Shipping", "AMAZON"),
        ("Amazon Logistics", "AMAZON"),
        ("Canada Post", "CANADA_POST"),
        ("Purolator", "PUROLATOR"),
        ("Canpar", "CANPAR"),
        ("DPD", "DPD"),
        ("Yodel", "YODEL"),
        ("YunExpress", "YUNEXPRESS"),
        ("GOFO", "GOFO"),
        ("Landmark", "LANDMARK"),
        ("SpeeDee", "SPEEDEE"),
        ("Spee-Dee", "SPEEDEE"),
        ("Old Dominion", "OLD_DOMINION"),
        ("OLDDOMINION", "OLD_DOMINION"),
        ("Estes", "ESTES"),
        ("XPO", "XPO"),
        ("  u.s.p.s.  ", "USPS"),
    ];
    for (entered, code) in table {
        assert_eq!(
            r.resolve(entered).map(|i| r.code(i)),
            Some(code),
            "{entered}"
        );
    }
}

#[test]
fn every_code_names_itself() {
    let r = reg();
    for (i, code) in r.iter() {
        assert_eq!(r.resolve(code), Some(i), "{code}");
        assert_eq!(r.resolve(&code.replace('_', "")), Some(i), "{code}");
        assert_eq!(r.resolve(&code.to_lowercase()), Some(i), "{code}");
    }
    assert_eq!(r.resolve("FEDEX_SMARTPOST"), r.resolve("FEDEXSMARTPOST"));
}

#[test]
fn unknown_names_resolve_to_none() {
    let r = reg();
    let long = "FEDEX".repeat(40);
    for entered in [
        "",
        "   ",
        "---",
        "Royal Mail",
        "FedEx Freight",
        "UPS Ground",
        "SpeeDee Delivery",
        "Estes Express",
        "运输",
        "Fédex",
        long.as_str(),
    ] {
        assert_eq!(r.resolve(entered), None, "{entered}");
    }
}

#[test]
fn integrated_flags() {
    let r = reg();
    let integrated = [
        "USPS",
        "UPS",
        "UPS_MAIL_INNOVATIONS",
        "FEDEX",
        "FEDEX_SMARTPOST",
        "DHL",
        "DHL_ECOMMERCE",
        "ONTRAC",
        "LASERSHIP",
        "AMAZON",
        "CANADA_POST",
    ];
    for (i, code) in r.iter() {
        assert_eq!(r.is_integrated(i), integrated.contains(&code), "{code}");
    }
    let set = integrated.iter().fold(0, |s, c| s | bit(id(&r, c)));
    assert_eq!(r.integrated(), set);
}

#[test]
fn hand_offs_are_one_way() {
    let r = reg();
    let usps = bit(id(&r, "USPS"));
    let partners_of_usps = ["FEDEX_SMARTPOST", "UPS_MAIL_INNOVATIONS", "DHL_ECOMMERCE"];
    for code in partners_of_usps {
        let c = id(&r, code);
        assert_eq!(r.accepted_reporters(c), bit(c) | usps, "{code}");
    }
    for (i, code) in r.iter() {
        if !partners_of_usps.contains(&code) {
            assert_eq!(r.accepted_reporters(i), bit(i), "{code}");
        }
    }
    assert_eq!(r.accepted_reporters(200), 0);
}

/// (format, passing ID, ID with a wrong check digit or prefix, ID of a wrong length). The
/// project's own numbers, computed for these tests and checked against the reference
/// definitions (the hyphen-less LaserShip 1LS7 (18) has no reference counterpart).
const VECTORS: &[(&str, &str, &str, &str)] = &[
    (
        "USPS 20 (Delivery/Signature Confirmation, no application identifier)",
        "03123456789012345672",
        "03123456789012345673",
        "0312345678901234562",
    ),
    (
        "USPS IMpb N (22)",
        "9400191234567876543219",
        "9400191234567876543210",
        "940019123456787654329",
    ),
    (
        "USPS IMpb N (26)",
        "94055123456123456789012347",
        "94055123456123456789012348",
        "9405512345612345678901237",
    ),
    (
        "USPS IMpb N (30)",
        "940019876543211234567890123453",
        "940019876543211234567890123454",
        "94001987654321123456789012343",
    ),
    (
        "USPS IMpb N (420 routing)",
        "420902109400191234567876543219",
        "420902109400191234567876543210",
        "42090210940019123456787654329",
    ),
    (
        "USPS Legacy (20)",
        "04123456789123456787",
        "04123456789123456788",
        "0412345678912345677",
    ),
    (
        "USPS Legacy (91, 22)",
        "9104123456789123456787",
        "9104123456789123456788",
        "910412345678912345677",
    ),
    (
        "USPS Legacy (420 routing)",
        "4201234567899104123456789123456787",
        "4201234567899104123456789123456788",
        "420123456789910412345678912345677",
    ),
    (
        "USPS IMpb C (22)",
        "9205598765432112345676",
        "9205598765432112345677",
        "920559876543211234566",
    ),
    (
        "USPS IMpb C (26)",
        "93612123456987654321098767",
        "93612123456987654321098768",
        "9361212345698765432109877",
    ),
    (
        "USPS IMpb C (420 routing)",
        "420303019500191234567812345678",
        "420303019500191234567812345679",
        "42030301950019123456781234568",
    ),
    (
        "S10 international",
        "LZ246813576US",
        "LZ246813577US",
        "LZ46813576US",
    ),
    (
        "S10 international",
        "CP112233447CA",
        "CP112233448CA",
        "CP12233447CA",
    ),
    (
        "UPS 1Z",
        "1Z4F7W2E0312345677",
        "1Z4F7W2E0312345678",
        "1Z4F7W2E031234567",
    ),
    ("UPS Waybill", "K1357924687", "K1357924688", "K135792467"),
    (
        "FedEx Express (12)",
        "987654321010",
        "987654321011",
        "98765432100",
    ),
    (
        "FedEx Express (34)",
        "1000000000000006060112345678901230",
        "1000000000000006060112345678901231",
        "100000000000000606011234567890120",
    ),
    (
        "FedEx ASTRA (32)",
        "31234567890123452468135791320001",
        "31234567890123452468135791330001",
        "3123456789012345246813579132001",
    ),
    (
        "FedEx Ground (15)",
        "612345678901235",
        "612345678901236",
        "61234567890125",
    ),
    (
        "FedEx Ground (SSCC-18)",
        "009876543210987658",
        "009876543210987659",
        "00987654321098768",
    ),
    (
        "FedEx Ground 96 (22)",
        "9612019123456700000428",
        "9612019123456700000429",
        "961201912345670000048",
    ),
    (
        "FedEx Ground GSN (34)",
        "9622000011234567890098765432101230",
        "9622000011234567890098765432101231",
        "962200001123456789009876543210120",
    ),
    ("DHL Express (10)", "2468135795", "2468135796", "246813575"),
    (
        "DHL Express (11)",
        "31415926533",
        "31415926534",
        "3141592653",
    ),
    (
        "DHL Express (piece ID)",
        "JVGL1234567890",
        "QVGL1234567890",
        "JVGL12345678",
    ),
    (
        "DHL eCommerce",
        "GM2951173225174",
        "QM2951173225174",
        "GM29511",
    ),
    (
        "DHL eCommerce (14)",
        "20252026202720",
        "2025202620272Q",
        "2025202620272",
    ),
    (
        "OnTrac C",
        "C12345678901236",
        "C12345678901237",
        "C1234567890126",
    ),
    (
        "OnTrac D",
        "D98765432109875",
        "D98765432109876",
        "D9876543210985",
    ),
    ("LaserShip LX", "LX24681357", "QX24681357", "LX2468135"),
    (
        "LaserShip 1LS7 (15)",
        "1LS712345678901",
        "1LS71234567890Q",
        "1LS71234567890",
    ),
    (
        "LaserShip 1LS7 (18)",
        "1LS71230123456781",
        "1LS71230123456782",
        "1LS7123012345671",
    ),
    (
        "LaserShip 1LSCX (15)",
        "1LSCX2B4D6F8H0J",
        "1LSDX2B4D6F8H0J",
        "1LSCX2B4D6F8H0",
    ),
    (
        "Amazon Logistics (TBA)",
        "TBA314159265358",
        "QBA314159265358",
        "TBA31415926535",
    ),
    (
        "Amazon International",
        "A2718281828",
        "Q2718281828",
        "A271828182",
    ),
    (
        "Canada Post (16)",
        "7071234567890126",
        "7071234567890127",
        "707123456789016",
    ),
    (
        "Purolator (12)",
        "333222111002",
        "333222111003",
        "33322211102",
    ),
    (
        "Purolator (3 letters + 9)",
        "XYZ123456789",
        "XY1123456789",
        "XYZ12345678",
    ),
    (
        "Canpar (22)",
        "D111111111111111111111",
        "Q111111111111111111111",
        "D11111111111111111111",
    ),
    (
        "DPD (28)",
        "012345600000000000001101276G",
        "0123456000000000000011012760",
        "01234560000000000000110127G",
    ),
    (
        "DPD (14)",
        "09876543210987A",
        "098765432109870",
        "0987654321098A",
    ),
    (
        "Yodel (JD / JJD)",
        "JJD0123456789012345",
        "QJD0123456789012345",
        "JJD012345678901234",
    ),
    (
        "YunExpress",
        "YT2468013579246801",
        "QT2468013579246801",
        "YT246801357924680",
    ),
    (
        "GOFO Express (US)",
        "GFUS20261231000042",
        "QFUS20261231000042",
        "GFUS2026123100004",
    ),
    (
        "Landmark Global LTN",
        "LTN87654321N1",
        "QTN87654321N1",
        "LTN8765432N1",
    ),
    (
        "Spee-Dee (20)",
        "SP123456789012345678",
        "QP123456789012345678",
        "SP12345678901234567",
    ),
    ("Old Dominion", "07212345677", "07212345678", "0721234567"),
    (
        "Old Dominion Guaranteed",
        "80987654326",
        "80987654327",
        "8098765436",
    ),
];

#[test]
fn every_format_has_passing_and_failing_vectors() {
    let r = reg();
    for &(format, ok, bad, short) in VECTORS {
        assert!(
            r.passing_formats(ok).contains(&format),
            "{format}: {ok} should pass"
        );
        assert!(
            !r.passing_formats(bad).contains(&format),
            "{format}: {bad} should fail"
        );
        assert!(
            !r.passing_formats(short).contains(&format),
            "{format}: {short} should fail"
        );
        assert_ne!(r.analyze(ok), FormatMatch::default(), "{ok}");
    }
}

#[test]
fn every_format_of_the_default_file_has_vectors() {
    let text = include_str!("../config/carriers.toml");
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    let r = reg();
    let carrier_names: Vec<&str> = r.iter().map(|(i, _)| r.display_name(i)).collect();
    for name in names.iter().filter(|n| !carrier_names.contains(n)) {
        assert!(
            VECTORS.iter().any(|v| v.0 == *name),
            "no vectors for format {name}"
        );
    }
}

#[test]
fn s10_needs_a_known_country() {
    let r = reg();
    assert_eq!(detected(&r, "LZ246813576US"), ["CANADA_POST", "USPS"]);
    assert!(detected(&r, "LZ246813576XX").is_empty());
    assert!(detected(&r, "LZ246813577US").is_empty());
}

#[test]
fn analyze_reports_check_digit_formats() {
    let r = reg();
    let ups = bit(id(&r, "UPS")) | bit(id(&r, "UPS_MAIL_INNOVATIONS"));
    let m = r.analyze("1Z4F7W2E0312345677");
    assert_eq!(m.passes, ups);
    assert_eq!(m.passes_with_check_digit, ups);
    let amazon = bit(id(&r, "AMAZON"));
    let m = r.analyze("TBA314159265358");
    assert_eq!(m.passes, amazon);
    assert_eq!(m.passes_with_check_digit, 0);
    // Non-integrated carriers are analysed too, but never detected.
    let m = r.analyze("333222111002");
    assert_eq!(m.passes, bit(id(&r, "PUROLATOR")));
    assert!(r.detected_carriers(&m).is_empty());
    let long = "9".repeat(200);
    for junk in ["", "HELLO", "1Z", "1Z4F7W2E031234567X", long.as_str()] {
        assert_eq!(r.analyze(junk), FormatMatch::default(), "{junk}");
    }
}

#[test]
fn detected_carriers_are_integrated_and_alphabetical() {
    let r = reg();
    // An S10 number whose LX prefix also fits DHL eCommerce.
    assert_eq!(
        detected(&r, "LX123456785US"),
        ["CANADA_POST", "DHL", "DHL_ECOMMERCE", "USPS"]
    );
    // Partners are not added: a USPS number is not detected as FEDEX_SMARTPOST.
    assert_eq!(detected(&r, "9400191234567876543219"), ["USPS"]);
    assert_eq!(detected(&r, "987654321010"), ["FEDEX", "FEDEX_SMARTPOST"]);
    assert_eq!(detected(&r, "C12345678901236"), ["LASERSHIP", "ONTRAC"]);
}

#[test]
fn format_mismatch_rules() {
    let r = reg();
    let ups_number = r.analyze("1Z4F7W2E0312345677");
    let usps_number = r.analyze("9400191234567876543219");
    let tba = r.analyze("TBA314159265358");
    // A valid UPS number declared as USPS.
    assert!(r.format_mismatch(id(&r, "USPS"), &ups_number));
    assert!(!r.format_mismatch(id(&r, "UPS"), &ups_number));
    assert!(!r.format_mismatch(id(&r, "UPS_MAIL_INNOVATIONS"), &ups_number));
    // A USPS number declared as a carrier that hands off to USPS: its family.
    for code in [
        "FEDEX_SMARTPOST",
        "UPS_MAIL_INNOVATIONS",
        "DHL_ECOMMERCE",
        "USPS",
    ] {
        assert!(!r.format_mismatch(id(&r, code), &usps_number), "{code}");
    }
    // ... but not as UPS or FEDEX: hand-offs are one way.
    assert!(r.format_mismatch(id(&r, "UPS"), &usps_number));
    assert!(r.format_mismatch(id(&r, "FEDEX"), &usps_number));
    // The other carrier's format has no check digit.
    assert!(!r.format_mismatch(id(&r, "UPS"), &tba));
    // The other carrier is not integrated.
    let purolator = r.analyze("333222111002");
    assert!(!r.format_mismatch(id(&r, "UPS"), &purolator));
    // Nothing passes.
    assert!(!r.format_mismatch(id(&r, "UPS"), &FormatMatch::default()));
}

// ---------------------------------------------------------------------------------------
// The file's validation
// ---------------------------------------------------------------------------------------

const MINIMAL: &str = r#"
[carriers.ACME]
name = "Acme"
aliases = ["ACME PARCEL"]
integrated = true
handoff_partners = []
formats = ["acme"]

[[formats.acme]]
name = "Acme 10"
regex = '^AC(?<SerialNumber>[0-9]{7})(?<CheckDigit>[0-9])$'
check_digit = { algorithm = "luhn" }
"#;

const REGEX: &str = "regex = '^AC(?<SerialNumber>[0-9]{7})(?<CheckDigit>[0-9])$'";
const CHECK: &str = "check_digit = { algorithm = \"luhn\" }";

fn load(text: &str) -> Result<CarrierRegistry, CarrierError> {
    CarrierRegistry::from_toml(text)
}

fn error(text: &str) -> CarrierError {
    match load(text) {
        Ok(_) => panic!("should not load:\n{text}"),
        Err(e) => e,
    }
}

fn carrier_key(e: &CarrierError) -> (&str, &str) {
    match e {
        CarrierError::Carrier { carrier, key, .. } => (carrier, key),
        other => panic!("not a carrier error: {other}"),
    }
}

fn format_key(e: &CarrierError) -> (&str, &str, &str) {
    match e {
        CarrierError::Format {
            group, format, key, ..
        } => (group, format, key),
        other => panic!("not a format error: {other}"),
    }
}

#[test]
fn a_minimal_file_loads() {
    let r = load(MINIMAL).expect("loads");
    let acme = r.resolve("Acme Parcel").expect("alias");
    assert_eq!(r.resolve("acme"), Some(acme));
    // 1234567 by Luhn, from the right: 7x2=14-9=5, 6, 5x2=10-9=1, 4, 3x2=6, 2, 1x2=2:
    // 26 -> 4.
    assert_eq!(r.detected_carriers(&r.analyze("AC12345674")), [acme]);
    assert!(r.detected_carriers(&r.analyze("AC12345675")).is_empty());
    let empty = load("").expect("an empty file is an empty registry");
    assert!(empty.is_empty());
    assert_eq!(empty.analyze("1Z4F7W2E0312345677"), FormatMatch::default());
}

#[test]
fn bad_toml_and_unknown_keys_are_parse_errors() {
    for text in [
        "[carriers.ACME".to_string(),
        MINIMAL.replace("integrated = true", "intgrated = true"),
        MINIMAL.replace("integrated = true", "integrated = \"yes\""),
        MINIMAL.replace("name = \"Acme\"\n", ""),
        format!("{MINIMAL}\n[extra]\nx = 1\n"),
    ] {
        assert!(matches!(error(&text), CarrierError::Parse(_)), "{text}");
    }
}

#[test]
fn carrier_errors_name_the_carrier_and_key() {
    let cases = [
        (
            MINIMAL.replace("formats = [\"acme\"]", "formats = [\"nope\"]"),
            "formats",
        ),
        (
            MINIMAL.replace("handoff_partners = []", "handoff_partners = [\"USPS\"]"),
            "handoff_partners",
        ),
        (
            MINIMAL.replace("[carriers.ACME]", "[carriers.acme]"),
            "code",
        ),
        (MINIMAL.replace("name = \"Acme\"", "name = \" \""), "name"),
        (MINIMAL.replace("[\"ACME PARCEL\"]", "[\"--\"]"), "aliases"),
    ];
    for (text, key) in &cases {
        let e = error(text);
        let (carrier, k) = carrier_key(&e);
        assert_eq!(carrier.to_ascii_uppercase(), "ACME", "{e}");
        assert_eq!(k, *key, "{e}");
        let shown = e.to_string();
        assert!(shown.to_ascii_uppercase().contains("ACME"), "{shown}");
        assert!(shown.contains(key), "{shown}");
    }
    let e = error(&MINIMAL.replace("handoff_partners = []", "handoff_partners = [\"USPS\"]"));
    assert!(e.to_string().contains("USPS"), "{e}");
    let e = error(&MINIMAL.replace("formats = [\"acme\"]", "formats = [\"nope\"]"));
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn duplicate_aliases_are_refused() {
    let text = format!(
        "{MINIMAL}\n[carriers.ZETA]\nname = \"Zeta\"\naliases = [\"Acme-Parcel\"]\nintegrated = false\n"
    );
    let e = error(&text);
    assert_eq!(carrier_key(&e), ("ZETA", "aliases"));
    assert!(e.to_string().contains("ACME"), "{e}");
    // A code that is another carrier's alias.
    let text = format!("{MINIMAL}\n[carriers.ACMEPARCEL]\nname = \"Z\"\nintegrated = false\n");
    assert_eq!(carrier_key(&error(&text)).1, "aliases");
}

#[test]
fn format_errors_name_the_group_format_and_key() {
    let with_check = |c: &str| MINIMAL.replace(CHECK, c);
    let lookup = |g: &str, v: &str| {
        format!("{MINIMAL}\n[[formats.acme.lookups]]\ngroup = \"{g}\"\nvalues = [{v}]\n")
    };
    let cases = [
        (MINIMAL.replace(REGEX, "regex = '^AC([0-9'"), "regex"),
        (MINIMAL.replace(REGEX, "regex = '^AC[0-9]{8}$'"), "regex"),
        (
            with_check("check_digit = { algorithm = \"mod11\" }"),
            "check_digit",
        ),
        (
            with_check("check_digit = { algorithm = \"luhn\", modulo = 0 }"),
            "check_digit",
        ),
        (
            with_check("check_digit = { algorithm = \"mod10\", weightings = [1] }"),
            "check_digit",
        ),
        (
            with_check(
                "check_digit = { algorithm = \"sum_product_with_weightings_and_modulo\", \
                 modulo1 = 11, modulo2 = 10 }",
            ),
            "check_digit",
        ),
        (
            with_check("check_digit = { algorithm = \"mod_37_36\", alphabet = \"0123\" }"),
            "check_digit",
        ),
        (
            with_check("check_digit = { algorithm = \"mod10\", odds_multiplier = 4000000000 }"),
            "check_digit",
        ),
        (with_check("serial_prefix = \"9\""), "serial_prefix"),
        (
            with_check(&format!("{CHECK}\nserial_prefix = \"\"")),
            "serial_prefix",
        ),
        (lookup("Country", "\"US\""), "lookups"),
        (lookup("CheckDigit", ""), "lookups"),
        (MINIMAL.replace("name = \"Acme 10\"", "name = \"\""), "name"),
    ];
    for (text, key) in &cases {
        let e = error(text);
        let (group, _, k) = format_key(&e);
        assert_eq!((group, k), ("acme", *key), "{e}");
        let shown = e.to_string();
        assert!(shown.contains("acme") && shown.contains(key), "{shown}");
    }
    let e = error(&MINIMAL.replace(REGEX, "regex = '^AC([0-9'"));
    assert_eq!(format_key(&e).1, "Acme 10");
}

#[test]
fn lookups_and_serial_prefixes_apply() {
    let regex = "regex = '^(?<Kind>A[CD])(?<SerialNumber>[0-9]{7})(?<CheckDigit>[0-9])$'";
    let text = MINIMAL.replace(REGEX, &format!("{regex}\nserial_prefix = \"1\""))
        + "\n[[formats.acme.lookups]]\ngroup = \"Kind\"\nvalues = [\"AD\"]\n";
    let r = load(&text).expect("loads");
    // Luhn over 1 + 2345678, from the right: 8x2=16-9=7, 7, 6x2=12-9=3, 5, 4x2=8, 3,
    // 2x2=4, 1: 38 -> 2.
    assert_ne!(r.analyze("AD23456782"), FormatMatch::default());
    assert_eq!(r.analyze("AD23456783"), FormatMatch::default());
    // The lookup: AC is not a listed kind.
    assert_eq!(r.analyze("AC23456782"), FormatMatch::default());
    // A serial that already starts with the prefix is not prefixed again: 1234567 gives 4
    // (above), where 11234567 would give 3.
    assert_ne!(r.analyze("AD12345674"), FormatMatch::default());
    assert_eq!(r.analyze("AD12345675"), FormatMatch::default());
}

#[test]
fn too_many_carriers_are_refused() {
    let carriers = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[carriers.C{i}]\nname = \"C{i}\"\nintegrated = true\n"))
            .collect()
    };
    assert!(matches!(
        error(&carriers(65)),
        CarrierError::TooManyCarriers { count: 65, max: 64 }
    ));
    let r = load(&carriers(64)).expect("64 carriers fit");
    let c9 = r.by_code("C9").expect("C9");
    assert!(r.is_integrated(c9));
    assert_eq!(r.accepted_reporters(c9), bit(c9));
    assert_eq!(r.resolve("c 9"), Some(c9));
}
