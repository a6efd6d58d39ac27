//! Property tests of every version ordering: antisymmetry and transitivity on generated
//! versions, and "never panics" on arbitrary input.

use mcpsec_supply::version::Ecosystem;
use proptest::prelude::*;
use std::cmp::Ordering;

fn check_laws(eco: Ecosystem, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    let (Ok(ab), Ok(ba), Ok(bc), Ok(ac)) = (
        eco.compare(a, b),
        eco.compare(b, a),
        eco.compare(b, c),
        eco.compare(a, c),
    ) else {
        return Ok(()); // invalid inputs are errors, which is fine
    };
    prop_assert_eq!(ab, ba.reverse(), "antisymmetry {} {} {}", eco, a, b);
    prop_assert_eq!(
        eco.compare(a, a).ok(),
        Some(Ordering::Equal),
        "reflexive {} {}",
        eco,
        a
    );
    if ab != Ordering::Greater && bc != Ordering::Greater {
        prop_assert!(
            ac != Ordering::Greater,
            "transitivity {}: {} <= {} <= {} but {:?}",
            eco,
            a,
            b,
            c,
            ac
        );
    }
    if ab == Ordering::Equal {
        prop_assert_eq!(ac, bc, "equal elements compare alike {} {} {}", eco, a, b);
    }
    Ok(())
}

macro_rules! laws {
    ($name:ident, $eco:expr, $re:expr) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
            #[test]
            fn $name(a in $re, b in $re, c in $re) {
                check_laws($eco, &a, &b, &c)?;
            }
        }
    };
}

const SEMVER: &str = "(0|[1-9][0-9]?)\\.(0|[1-9])\\.(0|[1-9])(-(alpha|beta|rc|0|[1-9][0-9]?)(\\.(alpha|0|[1-9]|x-y)){0,2})?(\\+b[0-9])?";
laws!(semver_laws, Ecosystem::CratesIo, SEMVER);
laws!(npm_laws, Ecosystem::Npm, SEMVER);
laws!(
    go_laws,
    Ecosystem::Go,
    "v(0|1|2)\\.(0|[1-9])\\.(0|[1-9])(-(0\\.)?20[12][0-9]{11}-[0-9a-f]{12}|-rc\\.[0-9]|\\+incompatible)?"
);
laws!(
    pep440_laws,
    Ecosystem::PyPI,
    "([1-2]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}((a|b|rc|alpha|c)[0-9]?)?(\\.post[0-9])?(\\.dev[0-9])?(\\+[a-z0-9]{1,3}(\\.[a-z0-9]{1,2})?)?"
);
laws!(
    maven_laws,
    Ecosystem::Maven,
    "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}((-|\\.)?(alpha|beta|a|b|m|rc|cr|SNAPSHOT|ga|final|sp|foo|[0-9]{1,2})){0,3}"
);
laws!(
    rubygems_laws,
    Ecosystem::RubyGems,
    "[0-9]{1,2}(\\.([0-9]{1,2}|a|b|rc|pre)){0,4}(-[a-z0-9]{1,3})?"
);
laws!(
    nuget_laws,
    Ecosystem::NuGet,
    "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}(-[a-zA-Z0-9]{1,4}(\\.[a-z0-9]{1,3}){0,2})?(\\+m)?"
);
laws!(
    debian_laws,
    Ecosystem::Debian,
    "([0-9]:)?[0-9]{1,2}(\\.[0-9a-z~+]{1,3}){0,3}(-[0-9a-z.~+]{1,4})?"
);
laws!(
    alpine_laws,
    Ecosystem::Alpine,
    "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}[a-c]?(_(alpha|beta|pre|rc|p|git)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?"
);
laws!(
    rpm_laws,
    Ecosystem::Rpm,
    "([0-9]:)?[0-9a-z.~^_]{1,8}(-[0-9a-z.~^]{1,5})?"
);

proptest! {
    #[test]
    fn never_panics(s in "\\PC{0,24}", t in "[0-9a-zA-Z.~^+_:!-]{0,16}") {
        for eco in Ecosystem::ALL {
            let _ = eco.compare(&s, &t);
            let _ = eco.compare(&t, &s);
            let _ = eco.validate(&s);
        }
    }
}
