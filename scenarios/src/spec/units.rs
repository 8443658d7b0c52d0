//! Quantities with units: `"250us"`, `"10Gbps"`, `"1.5Mpps"`, `"1MB"`.
//!
//! Parsing is exact: the decimal number is read as an integer mantissa and a power of ten, so
//! `"1.5ms"` is 1,500,000 ns and `"2.5Gbps"` is 2,500,000,000 bit/s with no float rounding. A
//! value that is not a whole number of the base unit (`"1.5ns"`), negative, too large for 64
//! bits, or with a missing or unknown unit is an error that says what would be right.

use std::fmt;

/// Which kind of quantity a key holds; decides the units and the base unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QuantityKind {
    /// Base unit: nanoseconds.
    Duration,
    /// Base unit: bits per second.
    Rate,
    /// Base unit: packets per second.
    PacketRate,
    /// Base unit: bytes.
    Size,
}

impl QuantityKind {
    /// `(unit, multiplier to the base unit)`, in the order the help text lists them.
    pub fn units(self) -> &'static [(&'static str, u64)] {
        match self {
            QuantityKind::Duration => {
                &[("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)]
            }
            QuantityKind::Rate => &[
                ("bps", 1),
                ("Kbps", 1_000),
                ("Mbps", 1_000_000),
                ("Gbps", 1_000_000_000),
                ("Tbps", 1_000_000_000_000),
            ],
            QuantityKind::PacketRate => {
                &[("pps", 1), ("Kpps", 1_000), ("Mpps", 1_000_000), ("Gpps", 1_000_000_000)]
            }
            QuantityKind::Size => &[
                ("B", 1),
                ("KB", 1_000),
                ("MB", 1_000_000),
                ("GB", 1_000_000_000),
                ("KiB", 1 << 10),
                ("MiB", 1 << 20),
                ("GiB", 1 << 30),
            ],
        }
    }

    /// An example value, for help texts.
    pub fn example(self) -> &'static str {
        match self {
            QuantityKind::Duration => "250us",
            QuantityKind::Rate => "10Gbps",
            QuantityKind::PacketRate => "1Mpps",
            QuantityKind::Size => "1MB",
        }
    }

    /// The unit that best completes a bare number in a help text.
    fn typical_unit(self) -> &'static str {
        match self {
            QuantityKind::Duration => "us",
            QuantityKind::Rate => "Gbps",
            QuantityKind::PacketRate => "Mpps",
            QuantityKind::Size => "B",
        }
    }

    fn base(self) -> &'static str {
        match self {
            QuantityKind::Duration => "nanoseconds",
            QuantityKind::Rate => "bits per second",
            QuantityKind::PacketRate => "packets per second",
            QuantityKind::Size => "bytes",
        }
    }

    /// `a duration`, `a rate`, ...
    pub fn noun(self) -> &'static str {
        match self {
            QuantityKind::Duration => "a duration",
            QuantityKind::Rate => "a rate",
            QuantityKind::PacketRate => "a packet rate",
            QuantityKind::Size => "a size",
        }
    }

    /// `ns, us, ms, s`.
    pub fn unit_list(self) -> String {
        self.units().iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ")
    }

    /// Resolves a unit as written. Rates and packet rates take their prefix in any case
    /// (`gbps` = `Gbps`), but never a capital `B` (`GBps` would mean bytes).
    fn lookup(self, unit: &str) -> Option<u64> {
        let units = self.units();
        if let Some((_, m)) = units.iter().find(|(u, _)| *u == unit) {
            return Some(*m);
        }
        let alias = match (self, unit) {
            (QuantityKind::Duration, "µs" | "μs") => Some("us"),
            (QuantityKind::Rate | QuantityKind::PacketRate, _) => units
                .iter()
                .find(|(u, _)| {
                    let (Some(p), Some(rest)) = (unit.get(..1), unit.get(1..)) else {
                        return false;
                    };
                    u.len() > 3
                        && u.get(..1).is_some_and(|up| up.eq_ignore_ascii_case(p))
                        && u.get(1..) == Some(rest)
                })
                .map(|(u, _)| *u),
            _ => None,
        };
        alias.and_then(|a| units.iter().find(|(u, _)| *u == a).map(|(_, m)| *m))
    }
}

impl fmt::Display for QuantityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Why a quantity did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("{kind} needs a unit: `{text}` has none")]
    MissingUnit { kind: QuantityKind, text: String },
    #[error("`{unit}` is not a unit of {kind}")]
    UnknownUnit { kind: QuantityKind, unit: String },
    #[error("{kind} must be positive, got `{text}`")]
    Negative { kind: QuantityKind, text: String },
    #[error("`{text}` is not a number followed by a unit")]
    NotANumber { kind: QuantityKind, text: String },
    #[error("`{text}` is too large for {kind}")]
    TooLarge { kind: QuantityKind, text: String },
    #[error("`{text}` is not a whole number of {}", kind.base())]
    NotWhole { kind: QuantityKind, text: String },
}

impl UnitError {
    pub fn help(&self) -> String {
        match self {
            UnitError::MissingUnit { kind, text } => {
                let n = text.trim();
                let suggestion = if n.is_empty() || n.starts_with('-') {
                    kind.example().to_string()
                } else {
                    format!("{n}{}", kind.typical_unit())
                };
                format!(
                    "add a unit, e.g. \"{suggestion}\" (a quoted string); units: {}",
                    kind.unit_list()
                )
            }
            UnitError::UnknownUnit { kind, unit } => {
                let names: Vec<&str> = kind.units().iter().map(|(u, _)| *u).collect();
                match closest(unit, &names) {
                    Some(c) => format!("did you mean `{c}`? units: {}", kind.unit_list()),
                    None => format!("units: {} (e.g. \"{}\")", kind.unit_list(), kind.example()),
                }
            }
            UnitError::Negative { kind, text } => {
                let fixed = text.trim().trim_start_matches('-').trim();
                let fixed = if fixed.is_empty() { kind.example() } else { fixed };
                format!("write a positive value, e.g. \"{fixed}\"")
            }
            UnitError::NotANumber { kind, .. } => format!(
                "write a decimal number and a unit, e.g. \"{}\"; units: {}",
                kind.example(),
                kind.unit_list()
            ),
            UnitError::TooLarge { kind, .. } => format!(
                "the largest {} is 18446744073709551615 {} (64 bits)",
                kind.noun().trim_start_matches("a "),
                kind.base()
            ),
            UnitError::NotWhole { kind, .. } => {
                format!(
                    "use a smaller unit or fewer decimals; the resolution is 1 of {}",
                    kind.base()
                )
            }
        }
    }
}

/// Parses `"<decimal><unit>"` (spaces between them allowed) into the base unit of `kind`.
pub fn parse(kind: QuantityKind, text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let num_len = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (num, unit) = body.split_at(num_len);
    let unit = unit.trim();
    let not_a_number = || UnitError::NotANumber { kind, text: text.to_string() };
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(not_a_number());
    }
    if negative {
        return Err(UnitError::Negative { kind, text: text.to_string() });
    }
    if unit.is_empty() {
        return Err(UnitError::MissingUnit { kind, text: text.to_string() });
    }
    let Some(mult) = kind.lookup(unit) else {
        return Err(UnitError::UnknownUnit { kind, unit: unit.to_string() });
    };
    scale(kind, text, int_part, frac_part, mult)
}

/// `int_part.frac_part * mult`, exactly, or an error.
fn scale(
    kind: QuantityKind,
    text: &str,
    int_part: &str,
    frac_part: &str,
    mult: u64,
) -> Result<u64, UnitError> {
    let too_large = || UnitError::TooLarge { kind, text: text.to_string() };
    let frac = frac_part.trim_end_matches('0');
    let int = int_part.trim_start_matches('0');
    // u128 holds 38 decimal digits; more than that is beyond any u64 result either way.
    if int.len() > 30 {
        return Err(too_large());
    }
    if frac.len() > 30 {
        return Err(UnitError::NotWhole { kind, text: text.to_string() });
    }
    let mut mantissa: u128 = 0;
    for d in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(d - b'0')))
            .ok_or_else(too_large)?;
    }
    let div = 10u128.checked_pow(frac.len() as u32).ok_or_else(too_large)?;
    let scaled = mantissa.checked_mul(u128::from(mult)).ok_or_else(too_large)?;
    if scaled % div != 0 {
        return Err(UnitError::NotWhole { kind, text: text.to_string() });
    }
    u64::try_from(scaled / div).map_err(|_| too_large())
}

/// The valid candidate closest to `given`, if it is close enough to be a likely typo.
pub fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let g = given.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&g, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len().max(given.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuantityKind::*;

    #[test]
    fn exact_decimal_scaling() {
        assert_eq!(parse(Duration, "1.5ms"), Ok(1_500_000));
        assert_eq!(parse(Duration, "250us"), Ok(250_000));
        assert_eq!(parse(Duration, "0.000000001s"), Ok(1));
        assert_eq!(parse(Rate, "2.5Gbps"), Ok(2_500_000_000));
        assert_eq!(parse(Rate, "10 gbps"), Ok(10_000_000_000));
        assert_eq!(parse(Size, "1.5KiB"), Ok(1536));
        assert!(matches!(parse(Rate, "10GBps"), Err(UnitError::UnknownUnit { .. })));
        assert!(matches!(parse(Duration, "1.5ns"), Err(UnitError::NotWhole { .. })));
        assert!(matches!(
            parse(Duration, "99999999999999999999s"),
            Err(UnitError::TooLarge { .. })
        ));
        assert!(matches!(parse(Duration, "1..2s"), Err(UnitError::NotANumber { .. })));
        assert!(matches!(parse(Duration, "."), Err(UnitError::NotANumber { .. })));
        assert!(matches!(parse(Duration, "ms"), Err(UnitError::NotANumber { .. })));
    }

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(closest("rat", &["between", "rate", "delay"]), Some("rate"));
        assert_eq!(closest("zzzzz", &["between", "rate", "delay"]), None);
    }
}
