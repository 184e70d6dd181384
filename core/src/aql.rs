//! AQL sampling plans (AQL 抽样方案) for inspection by attributes, after ISO 2859-1
//! (the same tables as ANSI/ASQ Z1.4 and MIL-STD-105E): single sampling, normal inspection.
//!
//! The inspector never computes any of this. From the lot size, the inspection level and
//! the AQL of each defect class, this module finds:
//!
//! 1. the sample-size code letter of the lot ([`code_letter`], Table 1 of the standard);
//! 2. the sample size `n`, acceptance number `Ac` and rejection number `Re` for one AQL
//!    ([`table_plan`] and [`plan`], Table 2-A, arrows followed);
//! 3. a plan for every defect class of an inspection, with the rule that decides how many
//!    units are drawn when the classes disagree ([`inspection_plan`]).
//!
//! Both tables are encoded here as data, exactly as in `shared/research/iso2859-1.md`, and
//! every cell is tested against a second, literal copy. Pure: data in, data out, no IO.
//! Tightened and reduced inspection and the switching rules are not implemented here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The smallest lot size Table 1 covers: its first range is 2 to 8 units.
pub const LOT_SIZE_MIN: u64 = 2;

/// The largest lot size Gendan plans for. Table 1 has no upper end ("500 001 and over"), but a
/// single lot of more than ten million units is a typing error far more often than a real lot.
pub const LOT_SIZE_MAX: u64 = 10_000_000;

/// The longest text accepted as an AQL ("0.065", "2.50", "4%"): anything longer is rejected
/// without being looked at.
const AQL_TEXT_LEN_MAX: usize = 16;

/// What went wrong while choosing a sampling plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AqlError {
    /// The text is not one of the seven inspection levels of Table 1.
    #[error("unknown inspection level \"{given}\": expected one of S-1, S-2, S-3, S-4, I, II, III")]
    UnknownInspectionLevel {
        /// The text as given.
        given: String,
    },
    /// The text is not the AQL of one of the eleven columns of Table 2-A.
    #[error(
        "unknown AQL \"{given}\": expected one of 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5"
    )]
    UnknownAql {
        /// The text as given.
        given: String,
    },
    /// The text is not one of the sixteen sample-size code letters (there is no I and no O).
    #[error(
        "unknown code letter \"{given}\": expected one of A, B, C, D, E, F, G, H, J, K, L, M, N, P, Q, R"
    )]
    UnknownCodeLetter {
        /// The text as given.
        given: String,
    },
    /// The lot is smaller than the first lot-size range of Table 1.
    #[error("lot size {lot_size} is too small: Table 1 of ISO 2859-1 starts at {min} units", min = LOT_SIZE_MIN)]
    LotSizeTooSmall {
        /// The lot size as given, in units.
        lot_size: u64,
    },
    /// The lot is larger than [`LOT_SIZE_MAX`].
    #[error("lot size {lot_size} is too large: at most {max} units per lot", max = LOT_SIZE_MAX)]
    LotSizeTooLarge {
        /// The lot size as given, in units.
        lot_size: u64,
    },
    /// Every defect class is set to [`ClassAql::NotInspected`]: there is nothing to sample for.
    #[error(
        "no defect class is inspected: set an AQL or zero tolerance for at least one of critical, major, minor"
    )]
    NoDefectClassInspected,
}

impl AqlError {
    /// A stable machine code for the error, for interfaces that say it in their own words.
    pub fn code(&self) -> &'static str {
        match self {
            AqlError::UnknownInspectionLevel { .. } => "aql_unknown_level",
            AqlError::UnknownAql { .. } => "aql_unknown_value",
            AqlError::UnknownCodeLetter { .. } => "aql_unknown_code_letter",
            AqlError::LotSizeTooSmall { .. } => "lot_size_too_small",
            AqlError::LotSizeTooLarge { .. } => "lot_size_too_large",
            AqlError::NoDefectClassInspected => "aql_no_class_inspected",
        }
    }

    /// The error as a [`Problem`] with `field`, carrying its code and values.
    pub fn to_problem(&self, field: impl Into<String>) -> crate::common::Problem {
        let p = crate::common::Problem::new(field, self.to_string()).with_code(self.code());
        match self {
            AqlError::UnknownInspectionLevel { given }
            | AqlError::UnknownAql { given }
            | AqlError::UnknownCodeLetter { given } => p.with_param("given", given),
            AqlError::LotSizeTooSmall { lot_size } => p
                .with_param("lot_size", lot_size)
                .with_param("min", LOT_SIZE_MIN),
            AqlError::LotSizeTooLarge { lot_size } => p
                .with_param("lot_size", lot_size)
                .with_param("max", LOT_SIZE_MAX),
            AqlError::NoDefectClassInspected => p,
        }
    }
}

/// Reads and writes a type as its canonical text, with the type's `FromStr` on the way in.
macro_rules! serde_as_text {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The inspection level (检验水平): how much of the lot is sampled. General levels I, II and
/// III (II is the usual one); special levels S-1 to S-4 for small samples, where large sampling
/// risks are acceptable. Written and read as `S-1 S-2 S-3 S-4 I II III`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(
    clippy::upper_case_acronyms,
    reason = "I, II and III are the Roman numerals of the standard, not acronyms"
)]
pub enum InspectionLevel {
    /// Special inspection level S-1 (smallest samples).
    S1,
    /// Special inspection level S-2.
    S2,
    /// Special inspection level S-3.
    S3,
    /// Special inspection level S-4.
    S4,
    /// General inspection level I (less discrimination than II).
    I,
    /// General inspection level II, the usual level.
    II,
    /// General inspection level III (more discrimination than II).
    III,
}

impl InspectionLevel {
    /// All levels, in the column order of Table 1.
    pub const ALL: [InspectionLevel; 7] = [
        InspectionLevel::S1,
        InspectionLevel::S2,
        InspectionLevel::S3,
        InspectionLevel::S4,
        InspectionLevel::I,
        InspectionLevel::II,
        InspectionLevel::III,
    ];

    /// The level as the standard writes it: `S-1` … `S-4`, `I`, `II`, `III`.
    pub const fn as_str(self) -> &'static str {
        match self {
            InspectionLevel::S1 => "S-1",
            InspectionLevel::S2 => "S-2",
            InspectionLevel::S3 => "S-3",
            InspectionLevel::S4 => "S-4",
            InspectionLevel::I => "I",
            InspectionLevel::II => "II",
            InspectionLevel::III => "III",
        }
    }

    /// The column of this level in Table 1.
    const fn column(self) -> usize {
        self as usize
    }
}

impl Default for InspectionLevel {
    /// General inspection level II, what buyers ask for unless they say otherwise.
    fn default() -> Self {
        InspectionLevel::II
    }
}

impl FromStr for InspectionLevel {
    type Err = AqlError;

    /// Accepts the standard's spelling in any letter case, and the special levels also
    /// without the hyphen (`s2`, `S2`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let level = match text.to_ascii_uppercase().as_str() {
            "S-1" | "S1" => InspectionLevel::S1,
            "S-2" | "S2" => InspectionLevel::S2,
            "S-3" | "S3" => InspectionLevel::S3,
            "S-4" | "S4" => InspectionLevel::S4,
            "I" => InspectionLevel::I,
            "II" => InspectionLevel::II,
            "III" => InspectionLevel::III,
            _ => {
                return Err(AqlError::UnknownInspectionLevel {
                    given: text.to_owned(),
                });
            }
        };
        Ok(level)
    }
}

serde_as_text!(InspectionLevel);

/// The acceptance quality limit (AQL, 接收质量限), in percent nonconforming: one of the eleven
/// columns of Table 2-A that Gendan uses, 0.065 to 6.5.
///
/// Read from the usual spellings (`2.5`, `2.50`, `0.1`, `0.10`, `4`, `4.0`, `.65`, `2.5%`);
/// written in the table's own form (`0.10`, `4.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aql {
    /// AQL 0.065 %.
    A0_065,
    /// AQL 0.10 %.
    A0_10,
    /// AQL 0.15 %.
    A0_15,
    /// AQL 0.25 %.
    A0_25,
    /// AQL 0.40 %.
    A0_40,
    /// AQL 0.65 %.
    A0_65,
    /// AQL 1.0 %.
    A1_0,
    /// AQL 1.5 %.
    A1_5,
    /// AQL 2.5 %, the usual AQL for major defects.
    A2_5,
    /// AQL 4.0 %, the usual AQL for minor defects.
    A4_0,
    /// AQL 6.5 %.
    A6_5,
}

impl Aql {
    /// All AQLs, in the column order of Table 2-A.
    pub const ALL: [Aql; 11] = [
        Aql::A0_065,
        Aql::A0_10,
        Aql::A0_15,
        Aql::A0_25,
        Aql::A0_40,
        Aql::A0_65,
        Aql::A1_0,
        Aql::A1_5,
        Aql::A2_5,
        Aql::A4_0,
        Aql::A6_5,
    ];

    /// The AQL as the head of its column in Table 2-A writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Aql::A0_065 => "0.065",
            Aql::A0_10 => "0.10",
            Aql::A0_15 => "0.15",
            Aql::A0_25 => "0.25",
            Aql::A0_40 => "0.40",
            Aql::A0_65 => "0.65",
            Aql::A1_0 => "1.0",
            Aql::A1_5 => "1.5",
            Aql::A2_5 => "2.5",
            Aql::A4_0 => "4.0",
            Aql::A6_5 => "6.5",
        }
    }

    /// The column of this AQL in Table 2-A.
    const fn column(self) -> usize {
        self as usize
    }
}

/// A decimal number written without sign, exponent or spare zeros (`"2.50"` → `"2.5"`,
/// `"4.0"` → `"4"`, `".1"` → `"0.1"`), or `None` if the text is not a plain decimal number.
fn decimal_without_spare_zeros(text: &str) -> Option<String> {
    if text.is_empty() || text.len() > AQL_TEXT_LEN_MAX {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) || whole.len() + fraction.len() == 0 {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        Some(whole.to_owned())
    } else {
        Some(format!("{whole}.{fraction}"))
    }
}

impl FromStr for Aql {
    type Err = AqlError;

    /// Accepts any plain decimal spelling of a Table 2-A column, with an optional trailing `%`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || AqlError::UnknownAql {
            given: text.to_owned(),
        };
        let number = text.strip_suffix('%').unwrap_or(text);
        let wanted = decimal_without_spare_zeros(number).ok_or_else(unknown)?;
        Aql::ALL
            .into_iter()
            .find(|aql| decimal_without_spare_zeros(aql.as_str()).as_deref() == Some(&wanted))
            .ok_or_else(unknown)
    }
}

serde_as_text!(Aql);

/// The sample-size code letter (样本量字码) of Table 1: A to R, without I and O. Each letter
/// stands for one sample size, from 2 units (A) to 2000 units (R).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeLetter {
    /// Sample size 2.
    A,
    /// Sample size 3.
    B,
    /// Sample size 5.
    C,
    /// Sample size 8.
    D,
    /// Sample size 13.
    E,
    /// Sample size 20.
    F,
    /// Sample size 32.
    G,
    /// Sample size 50.
    H,
    /// Sample size 80.
    J,
    /// Sample size 125.
    K,
    /// Sample size 200.
    L,
    /// Sample size 315.
    M,
    /// Sample size 500.
    N,
    /// Sample size 800.
    P,
    /// Sample size 1250.
    Q,
    /// Sample size 2000.
    R,
}

impl CodeLetter {
    /// All code letters, in the row order of Table 2-A (smallest sample first).
    pub const ALL: [CodeLetter; 16] = [
        CodeLetter::A,
        CodeLetter::B,
        CodeLetter::C,
        CodeLetter::D,
        CodeLetter::E,
        CodeLetter::F,
        CodeLetter::G,
        CodeLetter::H,
        CodeLetter::J,
        CodeLetter::K,
        CodeLetter::L,
        CodeLetter::M,
        CodeLetter::N,
        CodeLetter::P,
        CodeLetter::Q,
        CodeLetter::R,
    ];

    /// The number of units to draw for this letter.
    pub const fn sample_size(self) -> u64 {
        match self {
            CodeLetter::A => 2,
            CodeLetter::B => 3,
            CodeLetter::C => 5,
            CodeLetter::D => 8,
            CodeLetter::E => 13,
            CodeLetter::F => 20,
            CodeLetter::G => 32,
            CodeLetter::H => 50,
            CodeLetter::J => 80,
            CodeLetter::K => 125,
            CodeLetter::L => 200,
            CodeLetter::M => 315,
            CodeLetter::N => 500,
            CodeLetter::P => 800,
            CodeLetter::Q => 1250,
            CodeLetter::R => 2000,
        }
    }

    /// The letter itself.
    pub const fn as_str(self) -> &'static str {
        match self {
            CodeLetter::A => "A",
            CodeLetter::B => "B",
            CodeLetter::C => "C",
            CodeLetter::D => "D",
            CodeLetter::E => "E",
            CodeLetter::F => "F",
            CodeLetter::G => "G",
            CodeLetter::H => "H",
            CodeLetter::J => "J",
            CodeLetter::K => "K",
            CodeLetter::L => "L",
            CodeLetter::M => "M",
            CodeLetter::N => "N",
            CodeLetter::P => "P",
            CodeLetter::Q => "Q",
            CodeLetter::R => "R",
        }
    }

    /// The row of this letter in Table 2-A.
    const fn row(self) -> usize {
        self as usize
    }
}

impl FromStr for CodeLetter {
    type Err = AqlError;

    /// Accepts the letter in either case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CodeLetter::ALL
            .into_iter()
            .find(|letter| letter.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| AqlError::UnknownCodeLetter {
                given: text.to_owned(),
            })
    }
}

serde_as_text!(CodeLetter);

/// Table 1 of ISO 2859-1: for each lot-size range, the largest lot size of the range and the
/// code letters for the levels S-1, S-2, S-3, S-4, I, II, III. Each range starts one unit
/// after the previous one ends; the first starts at [`LOT_SIZE_MIN`], the last has no end.
#[rustfmt::skip]
const TABLE_1: [(u64, [CodeLetter; 7]); 15] = {
    use CodeLetter::{A, B, C, D, E, F, G, H, J, K, L, M, N, P, Q, R};
    [
        // largest lot     S-1 S-2 S-3 S-4  I  II III      lot-size range
        (8,               [A,  A,  A,  A,  A,  A,  B]), // 2-8
        (15,              [A,  A,  A,  A,  A,  B,  C]), // 9-15
        (25,              [A,  A,  B,  B,  B,  C,  D]), // 16-25
        (50,              [A,  B,  B,  C,  C,  D,  E]), // 26-50
        (90,              [B,  B,  C,  C,  C,  E,  F]), // 51-90
        (150,             [B,  B,  C,  D,  D,  F,  G]), // 91-150
        (280,             [B,  C,  D,  E,  E,  G,  H]), // 151-280
        (500,             [B,  C,  D,  E,  F,  H,  J]), // 281-500
        (1_200,           [C,  C,  E,  F,  G,  J,  K]), // 501-1200
        (3_200,           [C,  D,  E,  G,  H,  K,  L]), // 1201-3200
        (10_000,          [C,  D,  F,  G,  J,  L,  M]), // 3201-10000
        (35_000,          [C,  D,  F,  H,  K,  M,  N]), // 10001-35000
        (150_000,         [D,  E,  G,  J,  L,  N,  P]), // 35001-150000
        (500_000,         [D,  E,  G,  J,  M,  P,  Q]), // 150001-500000
        (u64::MAX,        [D,  E,  H,  K,  N,  Q,  R]), // 500001 and over
    ]
};

/// Checks that a lot size lies within [`LOT_SIZE_MIN`] ..= [`LOT_SIZE_MAX`].
pub fn check_lot_size(lot_size: u64) -> Result<(), AqlError> {
    if lot_size < LOT_SIZE_MIN {
        return Err(AqlError::LotSizeTooSmall { lot_size });
    }
    if lot_size > LOT_SIZE_MAX {
        return Err(AqlError::LotSizeTooLarge { lot_size });
    }
    Ok(())
}

/// The sample-size code letter for a lot at an inspection level (Table 1).
pub fn code_letter(lot_size: u64, level: InspectionLevel) -> Result<CodeLetter, AqlError> {
    check_lot_size(lot_size)?;
    let (_, letters) = TABLE_1
        .iter()
        .find(|(lot_size_max, _)| lot_size <= *lot_size_max)
        .unwrap_or(&TABLE_1[TABLE_1.len() - 1]);
    Ok(letters[level.column()])
}

/// One cell of Table 2-A.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// A sampling plan: the acceptance number Ac; the rejection number Re is always Ac + 1.
    Plan(u32),
    /// `v` in the standard: use the first plan below the arrow (a larger sample).
    Down,
    /// `^` in the standard: use the first plan above the arrow (a smaller sample).
    Up,
}

/// The number of rows (code letters) of Table 2-A.
const TABLE_2A_ROWS: usize = CodeLetter::ALL.len();
/// The number of columns (AQLs) of Table 2-A.
const TABLE_2A_COLUMNS: usize = Aql::ALL.len();

/// Table 2-A of ISO 2859-1: single sampling plans for normal inspection. Rows are the code
/// letters A to R (see [`CodeLetter::sample_size`]), columns the AQLs 0.065 to 6.5.
#[rustfmt::skip]
const TABLE_2A: [[Cell; TABLE_2A_COLUMNS]; TABLE_2A_ROWS] = {
    use Cell::{Down as V, Plan as P, Up as U};
    [
        // 0.065  0.10    0.15    0.25    0.40    0.65    1.0     1.5     2.5     4.0     6.5
        [V,     V,     V,     V,     V,     V,     V,     V,     V,     V,     P(0)], // A 2
        [V,     V,     V,     V,     V,     V,     V,     V,     V,     P(0),  U], // B 3
        [V,     V,     V,     V,     V,     V,     V,     V,     P(0),  U,     V], // C 5
        [V,     V,     V,     V,     V,     V,     V,     P(0),  U,     V,     P(1)], // D 8
        [V,     V,     V,     V,     V,     V,     P(0),  U,     V,     P(1),  P(2)], // E 13
        [V,     V,     V,     V,     V,     P(0),  U,     V,     P(1),  P(2),  P(3)], // F 20
        [V,     V,     V,     V,     P(0),  U,     V,     P(1),  P(2),  P(3),  P(5)], // G 32
        [V,     V,     V,     P(0),  U,     V,     P(1),  P(2),  P(3),  P(5),  P(7)], // H 50
        [V,     V,     P(0),  U,     V,     P(1),  P(2),  P(3),  P(5),  P(7),  P(10)], // J 80
        [V,     P(0),  U,     V,     P(1),  P(2),  P(3),  P(5),  P(7),  P(10), P(14)], // K 125
        [P(0),  U,     V,     P(1),  P(2),  P(3),  P(5),  P(7),  P(10), P(14), P(21)], // L 200
        [U,     V,     P(1),  P(2),  P(3),  P(5),  P(7),  P(10), P(14), P(21), U], // M 315
        [V,     P(1),  P(2),  P(3),  P(5),  P(7),  P(10), P(14), P(21), U,     U], // N 500
        [P(1),  P(2),  P(3),  P(5),  P(7),  P(10), P(14), P(21), U,     U,     U], // P 800
        [P(2),  P(3),  P(5),  P(7),  P(10), P(14), P(21), U,     U,     U,     U], // Q 1250
        [P(3),  P(5),  P(7),  P(10), P(14), P(21), U,     U,     U,     U,     U], // R 2000
    ]
};

/// Follows the arrows of Table 2-A from a cell to a plan: the row where the plan was found
/// and its acceptance number. An arrow sends the search to the first plan in its direction,
/// skipping any further arrows on the way (so arrows chain). `None` if the search leaves
/// the table — which the check below rules out for every cell, at compile time.
const fn resolve_table_2a(row: usize, column: usize) -> Option<(usize, u32)> {
    if row >= TABLE_2A_ROWS || column >= TABLE_2A_COLUMNS {
        return None;
    }
    let downward = match TABLE_2A[row][column] {
        Cell::Plan(accept) => return Some((row, accept)),
        Cell::Down => true,
        Cell::Up => false,
    };
    let mut row = row;
    loop {
        if downward {
            if row + 1 >= TABLE_2A_ROWS {
                return None;
            }
            row += 1;
        } else {
            if row == 0 {
                return None;
            }
            row -= 1;
        }
        if let Cell::Plan(accept) = TABLE_2A[row][column] {
            return Some((row, accept));
        }
    }
}

// Every cell of Table 2-A leads to a plan inside the table.
const _: () = {
    let mut row = 0;
    while row < TABLE_2A_ROWS {
        let mut column = 0;
        while column < TABLE_2A_COLUMNS {
            assert!(resolve_table_2a(row, column).is_some());
            column += 1;
        }
        row += 1;
    }
};

/// A plan read from Table 2-A, before the lot size is known: how many units to draw and how
/// many nonconforming units the lot may have in that sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TablePlan {
    /// The letter of the row where the plan was found (after following arrows).
    pub code_letter: CodeLetter,
    /// The sample size of that row, in units.
    pub sample_size: u64,
    /// Acceptance number Ac: the lot is accepted with at most this many nonconforming units.
    pub accept: u32,
    /// Rejection number Re: the lot is not accepted with this many or more (always Ac + 1).
    pub reject: u32,
}

/// The plan of Table 2-A for a code letter and an AQL, with the arrows followed: the sample
/// size is the one of the row where the plan was found, not the one of `code_letter`.
pub fn table_plan(code_letter: CodeLetter, aql: Aql) -> TablePlan {
    let Some((row, accept)) = resolve_table_2a(code_letter.row(), aql.column()) else {
        unreachable!("every cell of Table 2-A leads to a plan: checked at compile time")
    };
    let found = CodeLetter::ALL[row];
    TablePlan {
        code_letter: found,
        sample_size: found.sample_size(),
        accept,
        reject: accept + 1,
    }
}

/// The sampling plan (抽样方案) for one lot and one AQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplingPlan {
    /// The letter of the Table 2-A row where the plan was found (after following arrows).
    pub code_letter: CodeLetter,
    /// The number of units to draw and inspect: the row's sample size, or the whole lot.
    pub sample_size: u64,
    /// Acceptance number Ac: the lot is accepted with at most this many nonconforming units.
    pub accept: u32,
    /// Rejection number Re: the lot is not accepted with this many or more (always Ac + 1).
    pub reject: u32,
    /// The row's sample size is not smaller than the lot, so every unit is inspected (100 %
    /// inspection) and `sample_size` is the lot size. Ac and Re stay those of the plan found.
    pub inspect_all: bool,
}

impl SamplingPlan {
    /// The plan for a lot of `lot_size` units: a table plan, or 100 % inspection when the
    /// table's sample is not smaller than the lot.
    fn for_lot(table: TablePlan, lot_size: u64) -> SamplingPlan {
        let inspect_all = table.sample_size >= lot_size;
        SamplingPlan {
            code_letter: table.code_letter,
            sample_size: table.sample_size.min(lot_size),
            accept: table.accept,
            reject: table.reject,
            inspect_all,
        }
    }
}

/// The sampling plan for a lot at an inspection level and an AQL: Table 1, then Table 2-A.
///
/// Lot 5000 at level II and AQL 2.5 gives code letter L: 200 units, Ac 10, Re 11.
pub fn plan(lot_size: u64, level: InspectionLevel, aql: Aql) -> Result<SamplingPlan, AqlError> {
    let letter = code_letter(lot_size, level)?;
    Ok(SamplingPlan::for_lot(table_plan(letter, aql), lot_size))
}

/// The class of a defect (缺陷等级), each with its own AQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefectClass {
    /// Critical (致命缺陷): dangerous, or against the law; usually zero tolerance.
    Critical,
    /// Major (严重缺陷 / 主要缺陷): likely to make the product fail or be returned.
    Major,
    /// Minor (轻微缺陷 / 次要缺陷): a departure from the standard that hardly affects use.
    Minor,
}

impl DefectClass {
    /// All defect classes, most severe first.
    pub const ALL: [DefectClass; 3] = [
        DefectClass::Critical,
        DefectClass::Major,
        DefectClass::Minor,
    ];

    /// The class as written in data: `critical`, `major`, `minor`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DefectClass::Critical => "critical",
            DefectClass::Major => "major",
            DefectClass::Minor => "minor",
        }
    }
}

impl fmt::Display for DefectClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the defects of one class are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassAql {
    /// Not a single defect of this class is accepted: Ac 0, Re 1 at the lot's own code letter
    /// (Table 1, no arrows). A buyer convention, often written "AQL 0", with no cell in
    /// Table 2-A; the usual setting for critical defects.
    ZeroTolerance,
    /// Judged by the plan of Table 2-A for this AQL.
    Aql(Aql),
    /// Defects of this class are not counted in this inspection.
    NotInspected,
}

/// How many units are drawn when the defect classes' plans have different sample sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleSizeRule {
    /// Each class is judged on its own plan, sample size included: the inspector draws the
    /// largest sample and looks for the defects of a class with a smaller plan in the first
    /// units of it only. Exactly the standard, but harder to carry out.
    PerClass,
    /// One sample for all classes, the common practice: draw the largest sample size any
    /// class's plan resolved to and look for every class of defect in all of it. Each class's
    /// Ac/Re is then read from its own AQL column of Table 2-A at the row of that sample size.
    /// Where that cell is an arrow (the column has no plan for that sample size) the class
    /// keeps the Ac/Re of its own plan, which was made for a smaller sample and so is never
    /// more lenient on the larger one. Zero tolerance stays Ac 0, Re 1.
    #[default]
    LargestForAll,
}

/// The AQL settings of an inspection (AQL 设置): the buyer's choices, from which the plans of
/// every defect class follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AqlSettings {
    /// The inspection level, for Table 1.
    pub level: InspectionLevel,
    /// How critical defects are judged.
    pub critical: ClassAql,
    /// How major defects are judged.
    pub major: ClassAql,
    /// How minor defects are judged.
    pub minor: ClassAql,
    /// How many units are drawn when the classes' sample sizes differ.
    pub sample_size_rule: SampleSizeRule,
}

impl AqlSettings {
    /// How a defect class is judged.
    pub const fn class_aql(&self, class: DefectClass) -> ClassAql {
        match class {
            DefectClass::Critical => self.critical,
            DefectClass::Major => self.major,
            DefectClass::Minor => self.minor,
        }
    }
}

impl Default for AqlSettings {
    /// The common buyer settings: level II; critical zero tolerance, major 2.5, minor 4.0;
    /// one sample, the largest, for all classes.
    fn default() -> Self {
        AqlSettings {
            level: InspectionLevel::II,
            critical: ClassAql::ZeroTolerance,
            major: ClassAql::Aql(Aql::A2_5),
            minor: ClassAql::Aql(Aql::A4_0),
            sample_size_rule: SampleSizeRule::LargestForAll,
        }
    }
}

/// The plan of one defect class within an [`InspectionPlan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassPlan {
    /// How the class is judged, as set.
    pub class_aql: ClassAql,
    /// The class's plan on its own, from Table 2-A (or zero tolerance), before the sample size
    /// rule; `None` if the class is not inspected.
    pub own_plan: Option<SamplingPlan>,
    /// The plan to judge the class by, after the sample size rule; `None` if the class is not
    /// inspected. Under [`SampleSizeRule::PerClass`] the same as `own_plan`.
    pub plan: Option<SamplingPlan>,
}

/// The sampling plans of one inspection, with everything needed to reconstruct them later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionPlan {
    /// The lot size, in units.
    pub lot_size: u64,
    /// The inspection level used.
    pub level: InspectionLevel,
    /// The code letter of Table 1 for the lot size and level, before any arrow of Table 2-A.
    pub lot_code_letter: CodeLetter,
    /// The rule used to choose the sample size.
    pub sample_size_rule: SampleSizeRule,
    /// The number of units to draw: the largest sample size of the class plans, or the whole
    /// lot when that is not smaller than the lot.
    pub sample_size: u64,
    /// Every unit of the lot is inspected (`sample_size` equals `lot_size`).
    pub inspect_all: bool,
    /// The plan for critical defects.
    pub critical: ClassPlan,
    /// The plan for major defects.
    pub major: ClassPlan,
    /// The plan for minor defects.
    pub minor: ClassPlan,
}

impl InspectionPlan {
    /// The plan of one defect class.
    pub const fn class(&self, class: DefectClass) -> &ClassPlan {
        match class {
            DefectClass::Critical => &self.critical,
            DefectClass::Major => &self.major,
            DefectClass::Minor => &self.minor,
        }
    }
}

/// The plans for every defect class of an inspection of a lot, under the given settings.
///
/// Each class is first planned on its own: zero tolerance at the lot's code letter, an AQL
/// through Table 2-A with its arrows. Then the sample size rule is applied: under
/// [`SampleSizeRule::PerClass`] nothing changes; under [`SampleSizeRule::LargestForAll`] every
/// class is judged on the largest of those samples (see there for where Ac/Re then come from).
pub fn inspection_plan(lot_size: u64, settings: &AqlSettings) -> Result<InspectionPlan, AqlError> {
    let lot_code_letter = code_letter(lot_size, settings.level)?;
    let own_table_plan = |class_aql: ClassAql| match class_aql {
        ClassAql::ZeroTolerance => Some(TablePlan {
            code_letter: lot_code_letter,
            sample_size: lot_code_letter.sample_size(),
            accept: 0,
            reject: 1,
        }),
        ClassAql::Aql(aql) => Some(table_plan(lot_code_letter, aql)),
        ClassAql::NotInspected => None,
    };
    let own = DefectClass::ALL.map(|class| own_table_plan(settings.class_aql(class)));
    let largest = own
        .iter()
        .flatten()
        .map(|table| table.code_letter)
        .max()
        .ok_or(AqlError::NoDefectClassInspected)?;

    let class_plan = |class: DefectClass, own: Option<TablePlan>| {
        let class_aql = settings.class_aql(class);
        let applied = match settings.sample_size_rule {
            SampleSizeRule::PerClass => own,
            SampleSizeRule::LargestForAll => own.map(|own| {
                let accept = accept_at_row(largest, class_aql).unwrap_or(own.accept);
                TablePlan {
                    code_letter: largest,
                    sample_size: largest.sample_size(),
                    accept,
                    reject: accept + 1,
                }
            }),
        };
        ClassPlan {
            class_aql,
            own_plan: own.map(|table| SamplingPlan::for_lot(table, lot_size)),
            plan: applied.map(|table| SamplingPlan::for_lot(table, lot_size)),
        }
    };
    let [critical, major, minor] = own;
    let sample_size = largest.sample_size().min(lot_size);
    Ok(InspectionPlan {
        lot_size,
        level: settings.level,
        lot_code_letter,
        sample_size_rule: settings.sample_size_rule,
        sample_size,
        inspect_all: sample_size == lot_size,
        critical: class_plan(DefectClass::Critical, critical),
        major: class_plan(DefectClass::Major, major),
        minor: class_plan(DefectClass::Minor, minor),
    })
}

/// The acceptance number of a class exactly at one row of Table 2-A: 0 for zero tolerance,
/// the cell's Ac for an AQL; `None` where the cell is an arrow or the class is not inspected.
fn accept_at_row(row: CodeLetter, class_aql: ClassAql) -> Option<u32> {
    match class_aql {
        ClassAql::ZeroTolerance => Some(0),
        ClassAql::Aql(aql) => match TABLE_2A[row.row()][aql.column()] {
            Cell::Plan(accept) => Some(accept),
            Cell::Down | Cell::Up => None,
        },
        ClassAql::NotInspected => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table 1, copied from `shared/research/iso2859-1.md` (lot size; S-1 S-2 S-3 S-4 I II III).
    const TABLE_1_COPY: &str = "
| 2-8 | A | A | A | A | A | A | B |
| 9-15 | A | A | A | A | A | B | C |
| 16-25 | A | A | B | B | B | C | D |
| 26-50 | A | B | B | C | C | D | E |
| 51-90 | B | B | C | C | C | E | F |
| 91-150 | B | B | C | D | D | F | G |
| 151-280 | B | C | D | E | E | G | H |
| 281-500 | B | C | D | E | F | H | J |
| 501-1200 | C | C | E | F | G | J | K |
| 1201-3200 | C | D | E | G | H | K | L |
| 3201-10000 | C | D | F | G | J | L | M |
| 10001-35000 | C | D | F | H | K | M | N |
| 35001-150000 | D | E | G | J | L | N | P |
| 150001-500000 | D | E | G | J | M | P | Q |
| 500001 and over | D | E | H | K | N | Q | R |
";

    /// The sample size of each code letter, copied from the research file.
    const SAMPLE_SIZES_COPY: &str = "A 2, B 3, C 5, D 8, E 13, F 20, G 32, H 50, J 80, K 125, L 200, M 315, N 500, P 800, Q 1250, R 2000";

    /// Table 2-A, copied from the research file, arrows and all.
    const TABLE_2A_COPY: &str = "
| A | 2 | v | v | v | v | v | v | v | v | v | v | 0/1 |
| B | 3 | v | v | v | v | v | v | v | v | v | 0/1 | ^ |
| C | 5 | v | v | v | v | v | v | v | v | 0/1 | ^ | v |
| D | 8 | v | v | v | v | v | v | v | 0/1 | ^ | v | 1/2 |
| E | 13 | v | v | v | v | v | v | 0/1 | ^ | v | 1/2 | 2/3 |
| F | 20 | v | v | v | v | v | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 |
| G | 32 | v | v | v | v | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 |
| H | 50 | v | v | v | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 |
| J | 80 | v | v | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 |
| K | 125 | v | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 |
| L | 200 | 0/1 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 |
| M | 315 | ^ | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ^ |
| N | 500 | v | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ^ | ^ |
| P | 800 | 1/2 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ^ | ^ | ^ |
| Q | 1250 | 2/3 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ^ | ^ | ^ | ^ |
| R | 2000 | 3/4 | 5/6 | 7/8 | 10/11 | 14/15 | 21/22 | ^ | ^ | ^ | ^ | ^ |
";

    /// The plan every cell of Table 2-A leads to, worked out from the research file without
    /// this module (by a separate script, then checked by hand against the arrows): for each
    /// code letter, and for each AQL from 0.065 to 6.5, the letter of the row where the plan
    /// is found, its sample size, Ac/Re. `table_2a_copies_agree` checks it against the raw copy.
    const TABLE_2A_RESOLVED: &str = "
A | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | D    8   0/1 | C    5   0/1 | B    3   0/1 | A    2   0/1
B | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | D    8   0/1 | C    5   0/1 | B    3   0/1 | A    2   0/1
C | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | D    8   0/1 | C    5   0/1 | B    3   0/1 | D    8   1/2
D | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | D    8   0/1 | C    5   0/1 | E   13   1/2 | D    8   1/2
E | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | D    8   0/1 | F   20   1/2 | E   13   1/2 | E   13   2/3
F | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | E   13   0/1 | G   32   1/2 | F   20   1/2 | F   20   2/3 | F   20   3/4
G | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | F   20   0/1 | H   50   1/2 | G   32   1/2 | G   32   2/3 | G   32   3/4 | G   32   5/6
H | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | G   32   0/1 | J   80   1/2 | H   50   1/2 | H   50   2/3 | H   50   3/4 | H   50   5/6 | H   50   7/8
J | L  200   0/1 | K  125   0/1 | J   80   0/1 | H   50   0/1 | K  125   1/2 | J   80   1/2 | J   80   2/3 | J   80   3/4 | J   80   5/6 | J   80   7/8 | J   80 10/11
K | L  200   0/1 | K  125   0/1 | J   80   0/1 | L  200   1/2 | K  125   1/2 | K  125   2/3 | K  125   3/4 | K  125   5/6 | K  125   7/8 | K  125 10/11 | K  125 14/15
L | L  200   0/1 | K  125   0/1 | M  315   1/2 | L  200   1/2 | L  200   2/3 | L  200   3/4 | L  200   5/6 | L  200   7/8 | L  200 10/11 | L  200 14/15 | L  200 21/22
M | L  200   0/1 | N  500   1/2 | M  315   1/2 | M  315   2/3 | M  315   3/4 | M  315   5/6 | M  315   7/8 | M  315 10/11 | M  315 14/15 | M  315 21/22 | L  200 21/22
N | P  800   1/2 | N  500   1/2 | N  500   2/3 | N  500   3/4 | N  500   5/6 | N  500   7/8 | N  500 10/11 | N  500 14/15 | N  500 21/22 | M  315 21/22 | L  200 21/22
P | P  800   1/2 | P  800   2/3 | P  800   3/4 | P  800   5/6 | P  800   7/8 | P  800 10/11 | P  800 14/15 | P  800 21/22 | N  500 21/22 | M  315 21/22 | L  200 21/22
Q | Q 1250   2/3 | Q 1250   3/4 | Q 1250   5/6 | Q 1250   7/8 | Q 1250 10/11 | Q 1250 14/15 | Q 1250 21/22 | P  800 21/22 | N  500 21/22 | M  315 21/22 | L  200 21/22
R | R 2000   3/4 | R 2000   5/6 | R 2000   7/8 | R 2000 10/11 | R 2000 14/15 | R 2000 21/22 | Q 1250 21/22 | P  800 21/22 | N  500 21/22 | M  315 21/22 | L  200 21/22
";

    /// The cells of a markdown table row, without the outer bars.
    fn markdown_cells(line: &str) -> Vec<&str> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect()
    }

    fn non_empty_lines(text: &str) -> impl Iterator<Item = &str> {
        text.lines().filter(|line| !line.trim().is_empty())
    }

    /// Fails with every mismatch listed, not only the first.
    fn assert_no_mismatches(mismatches: &[String]) {
        assert!(
            mismatches.is_empty(),
            "{} mismatches:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }

    // ---- Table 1 ----------------------------------------------------------------------------

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn table_1_every_cell_at_both_ends_of_every_range() {
        let mut mismatches = Vec::new();
        let mut checked = 0;
        let mut previous_high = LOT_SIZE_MIN - 1;
        for line in non_empty_lines(TABLE_1_COPY) {
            let cells = markdown_cells(line);
            assert_eq!(cells.len(), 8, "{line}");
            let (low, high) = match cells[0].split_once('-') {
                Some((low, high)) => (low.parse::<u64>().unwrap(), high.parse::<u64>().unwrap()),
                None => {
                    let low = cells[0].strip_suffix(" and over").unwrap();
                    (low.parse::<u64>().unwrap(), LOT_SIZE_MAX)
                }
            };
            assert_eq!(
                low,
                previous_high + 1,
                "ranges must follow each other: {line}"
            );
            previous_high = high;
            for (level, expected) in InspectionLevel::ALL.into_iter().zip(&cells[1..]) {
                for lot_size in [low, high] {
                    let found = code_letter(lot_size, level).map(|letter| letter.to_string());
                    checked += 1;
                    if found.as_deref() != Ok(*expected) {
                        mismatches.push(format!(
                            "lot {lot_size} level {level}: expected {expected}, found {found:?}"
                        ));
                    }
                }
            }
        }
        assert_eq!(previous_high, LOT_SIZE_MAX);
        assert_eq!(checked, 15 * 7 * 2);
        assert_no_mismatches(&mismatches);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn code_letter_sample_sizes() {
        let copy: Vec<(String, u64)> = SAMPLE_SIZES_COPY
            .split(", ")
            .map(|pair| {
                let (letter, size) = pair.split_once(' ').unwrap();
                (letter.to_owned(), size.parse().unwrap())
            })
            .collect();
        let ours: Vec<(String, u64)> = CodeLetter::ALL
            .into_iter()
            .map(|letter| (letter.to_string(), letter.sample_size()))
            .collect();
        assert_eq!(ours, copy);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn code_letter_known_answers() {
        assert_eq!(code_letter(2, InspectionLevel::II), Ok(CodeLetter::A));
        assert_eq!(code_letter(8, InspectionLevel::II), Ok(CodeLetter::A));
        assert_eq!(code_letter(8, InspectionLevel::III), Ok(CodeLetter::B));
        assert_eq!(code_letter(5_000, InspectionLevel::II), Ok(CodeLetter::L));
        assert_eq!(
            code_letter(LOT_SIZE_MAX, InspectionLevel::III),
            Ok(CodeLetter::R)
        );
    }

    // ---- Table 2-A --------------------------------------------------------------------------

    /// The raw copy of Table 2-A as (letter, sample size, cells as written).
    fn table_2a_copy() -> Vec<(String, u64, Vec<String>)> {
        non_empty_lines(TABLE_2A_COPY)
            .map(|line| {
                let cells = markdown_cells(line);
                assert_eq!(cells.len(), 13, "{line}");
                let cells_as_written = cells[2..].iter().map(|cell| (*cell).to_owned()).collect();
                (
                    cells[0].to_owned(),
                    cells[1].parse().unwrap(),
                    cells_as_written,
                )
            })
            .collect()
    }

    /// A plan as the test data writes it: the letter of the row where it was found, n, Ac, Re.
    type PlanAsWritten = (String, u64, u32, u32);

    /// The resolved copy of Table 2-A as, per row, the letter and its 11 plans.
    fn table_2a_resolved() -> Vec<(String, Vec<PlanAsWritten>)> {
        non_empty_lines(TABLE_2A_RESOLVED)
            .map(|line| {
                let cells = markdown_cells(line);
                assert_eq!(cells.len(), 12, "{line}");
                let plans = cells[1..]
                    .iter()
                    .map(|cell| {
                        let words: Vec<&str> = cell.split_whitespace().collect();
                        let (accept, reject) = words[2].split_once('/').unwrap();
                        (
                            words[0].to_owned(),
                            words[1].parse().unwrap(),
                            accept.parse().unwrap(),
                            reject.parse().unwrap(),
                        )
                    })
                    .collect();
                (cells[0].to_owned(), plans)
            })
            .collect()
    }

    fn cell_as_written(cell: Cell) -> String {
        match cell {
            Cell::Plan(accept) => format!("{accept}/{}", accept + 1),
            Cell::Down => "v".to_owned(),
            Cell::Up => "^".to_owned(),
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn table_2a_every_cell_is_encoded_as_in_the_standard() {
        let copy = table_2a_copy();
        assert_eq!(copy.len(), 16);
        let mut mismatches = Vec::new();
        for ((letter, sample_size, cells), (our_letter, our_row)) in
            copy.iter().zip(CodeLetter::ALL.into_iter().zip(TABLE_2A))
        {
            if *letter != our_letter.to_string() || *sample_size != our_letter.sample_size() {
                mismatches.push(format!("row {letter} {sample_size}: ours is {our_letter}"));
            }
            for ((expected, aql), cell) in cells.iter().zip(Aql::ALL).zip(our_row) {
                let ours = cell_as_written(cell);
                if *expected != ours {
                    mismatches.push(format!("{letter} {aql}: expected {expected}, ours {ours}"));
                }
            }
        }
        assert_no_mismatches(&mismatches);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn table_2a_every_cell_leads_to_the_expected_plan() {
        let resolved = table_2a_resolved();
        assert_eq!(resolved.len(), 16);
        let mut mismatches = Vec::new();
        let mut checked = 0;
        for ((letter, plans), code) in resolved.iter().zip(CodeLetter::ALL) {
            assert_eq!(*letter, code.to_string());
            assert_eq!(plans.len(), 11);
            for ((found_letter, sample_size, accept, reject), aql) in plans.iter().zip(Aql::ALL) {
                let ours = table_plan(code, aql);
                checked += 1;
                let ours_as_data = (
                    ours.code_letter.to_string(),
                    ours.sample_size,
                    ours.accept,
                    ours.reject,
                );
                let expected = (found_letter.clone(), *sample_size, *accept, *reject);
                if ours_as_data != expected {
                    mismatches.push(format!(
                        "{code} {aql}: expected {expected:?}, ours {ours_as_data:?}"
                    ));
                }
            }
        }
        assert_eq!(checked, 16 * 11);
        assert_no_mismatches(&mismatches);
    }

    /// The two literal copies agree with each other: walking the arrows of the raw copy by
    /// hand (one row per step, in the arrow's direction) gives the resolved copy.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn table_2a_copies_agree() {
        let copy = table_2a_copy();
        let resolved = table_2a_resolved();
        for (row, (letter, _, cells)) in copy.iter().enumerate() {
            for (column, cell) in cells.iter().enumerate() {
                let mut found = row;
                let step = |r: usize| match cell.as_str() {
                    "v" => r + 1,
                    "^" => r - 1,
                    _ => r,
                };
                while copy[found].2[column] == "v" || copy[found].2[column] == "^" {
                    found = step(found);
                }
                let (found_letter, sample_size, cell) =
                    (&copy[found].0, copy[found].1, &copy[found].2[column]);
                let (accept, reject) = cell.split_once('/').unwrap();
                let expected = &resolved[row].1[column];
                assert_eq!(
                    (
                        found_letter.clone(),
                        sample_size,
                        accept.parse().unwrap(),
                        reject.parse().unwrap()
                    ),
                    expected.clone(),
                    "{letter} column {column}"
                );
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn reject_is_always_accept_plus_one() {
        for letter in CodeLetter::ALL {
            for aql in Aql::ALL {
                let table = table_plan(letter, aql);
                assert_eq!(table.reject, table.accept + 1, "{letter} {aql}");
            }
        }
    }

    // ---- plan -------------------------------------------------------------------------------

    fn sampling_plan(
        code_letter: CodeLetter,
        sample_size: u64,
        accept: u32,
        reject: u32,
        inspect_all: bool,
    ) -> SamplingPlan {
        SamplingPlan {
            code_letter,
            sample_size,
            accept,
            reject,
            inspect_all,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_known_answer_lot_5000_level_ii_aql_2_5() {
        assert_eq!(
            plan(5_000, InspectionLevel::II, Aql::A2_5),
            Ok(sampling_plan(CodeLetter::L, 200, 10, 11, false))
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_known_answers() {
        use CodeLetter::*;
        use InspectionLevel::*;
        let cases = [
            // lot, level, AQL, expected plan
            (100, II, Aql::A2_5, sampling_plan(F, 20, 1, 2, false)),
            (1_000, II, Aql::A2_5, sampling_plan(J, 80, 5, 6, false)),
            (1_000, II, Aql::A4_0, sampling_plan(J, 80, 7, 8, false)),
            (500, II, Aql::A1_5, sampling_plan(H, 50, 2, 3, false)),
            // M at 6.5 is an up arrow: L's plan, with L's sample size.
            (20_000, II, Aql::A6_5, sampling_plan(L, 200, 21, 22, false)),
            // J at 0.10 is a down arrow: K's plan.
            (1_000, II, Aql::A0_10, sampling_plan(K, 125, 0, 1, false)),
            // Chained down arrows: A at 0.065 leads to L.
            (300_000, S1, Aql::A0_065, sampling_plan(L, 200, 0, 1, false)),
            (
                LOT_SIZE_MAX,
                III,
                Aql::A0_065,
                sampling_plan(R, 2_000, 3, 4, false),
            ),
            (3_000, S4, Aql::A4_0, sampling_plan(G, 32, 3, 4, false)),
        ];
        for (lot_size, level, aql, expected) in cases {
            assert_eq!(
                plan(lot_size, level, aql),
                Ok(expected),
                "{lot_size} {level} {aql}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_inspects_all_when_the_sample_is_not_smaller_than_the_lot() {
        use CodeLetter::*;
        use InspectionLevel::*;
        let cases = [
            // Sample exactly the lot: every unit.
            (2, II, Aql::A6_5, sampling_plan(A, 2, 0, 1, true)),
            // A at 2.5 leads down to C (5 units), more than the lot of 3.
            (3, II, Aql::A2_5, sampling_plan(C, 3, 0, 1, true)),
            // F at 0.065 leads down to L (200 units): a lot of 150 is inspected entirely.
            (150, II, Aql::A0_065, sampling_plan(L, 150, 0, 1, true)),
            (200, II, Aql::A0_065, sampling_plan(L, 200, 0, 1, true)),
            // One unit more than the sample: sampling again.
            (281, II, Aql::A0_065, sampling_plan(L, 200, 0, 1, false)),
            // C at 6.5 leads down to D (8 units), less than the lot of 9.
            (9, III, Aql::A6_5, sampling_plan(D, 8, 1, 2, false)),
            // B at 6.5 leads up to A (2 units).
            (8, III, Aql::A6_5, sampling_plan(A, 2, 0, 1, false)),
        ];
        for (lot_size, level, aql, expected) in cases {
            assert_eq!(
                plan(lot_size, level, aql),
                Ok(expected),
                "{lot_size} {level} {aql}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_is_table_1_then_table_2a_at_every_range_boundary() {
        let boundaries = TABLE_1
            .iter()
            .flat_map(|(high, _)| [*high, high.saturating_add(1)])
            .chain([LOT_SIZE_MIN, LOT_SIZE_MAX])
            .filter(|lot_size| check_lot_size(*lot_size).is_ok());
        for lot_size in boundaries {
            for level in InspectionLevel::ALL {
                for aql in Aql::ALL {
                    let found = plan(lot_size, level, aql).unwrap();
                    let table = table_plan(code_letter(lot_size, level).unwrap(), aql);
                    assert_eq!(found.code_letter, table.code_letter);
                    assert_eq!(found.sample_size, table.sample_size.min(lot_size));
                    assert_eq!(found.inspect_all, table.sample_size >= lot_size);
                    assert_eq!((found.accept, found.reject), (table.accept, table.reject));
                }
            }
        }
    }

    // ---- lot size limits --------------------------------------------------------------------

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn lot_size_limits_are_crossed() {
        let level = InspectionLevel::II;
        for lot_size in [0, 1, LOT_SIZE_MIN - 1] {
            assert_eq!(
                code_letter(lot_size, level),
                Err(AqlError::LotSizeTooSmall { lot_size })
            );
        }
        assert_eq!(code_letter(LOT_SIZE_MIN, level), Ok(CodeLetter::A));
        assert_eq!(code_letter(LOT_SIZE_MAX, level), Ok(CodeLetter::Q));
        for lot_size in [LOT_SIZE_MAX + 1, u64::MAX] {
            assert_eq!(
                code_letter(lot_size, level),
                Err(AqlError::LotSizeTooLarge { lot_size })
            );
            assert_eq!(
                plan(lot_size, level, Aql::A2_5),
                Err(AqlError::LotSizeTooLarge { lot_size })
            );
            assert_eq!(
                inspection_plan(lot_size, &AqlSettings::default()),
                Err(AqlError::LotSizeTooLarge { lot_size })
            );
        }
        assert_eq!(
            plan(1, level, Aql::A2_5),
            Err(AqlError::LotSizeTooSmall { lot_size: 1 })
        );
        assert_eq!(
            inspection_plan(0, &AqlSettings::default()),
            Err(AqlError::LotSizeTooSmall { lot_size: 0 })
        );
        assert!(plan(LOT_SIZE_MAX, level, Aql::A2_5).is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn error_messages_say_what_is_allowed() {
        assert_eq!(
            "IV".parse::<InspectionLevel>().unwrap_err().to_string(),
            "unknown inspection level \"IV\": expected one of S-1, S-2, S-3, S-4, I, II, III"
        );
        assert_eq!(
            "3".parse::<Aql>().unwrap_err().to_string(),
            "unknown AQL \"3\": expected one of 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5"
        );
        assert_eq!(
            "O".parse::<CodeLetter>().unwrap_err().to_string(),
            "unknown code letter \"O\": expected one of A, B, C, D, E, F, G, H, J, K, L, M, N, P, Q, R"
        );
        assert_eq!(
            AqlError::LotSizeTooSmall { lot_size: 1 }.to_string(),
            "lot size 1 is too small: Table 1 of ISO 2859-1 starts at 2 units"
        );
        assert_eq!(
            AqlError::LotSizeTooLarge {
                lot_size: 10_000_001
            }
            .to_string(),
            "lot size 10000001 is too large: at most 10000000 units per lot"
        );
        assert!(
            AqlError::NoDefectClassInspected
                .to_string()
                .contains("at least one of critical, major, minor")
        );
    }

    // ---- text forms -------------------------------------------------------------------------

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_level_text_round_trips() {
        let written: Vec<String> = InspectionLevel::ALL
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(written, ["S-1", "S-2", "S-3", "S-4", "I", "II", "III"]);
        for level in InspectionLevel::ALL {
            assert_eq!(level.to_string().parse(), Ok(level));
            assert_eq!(level.to_string().to_lowercase().parse(), Ok(level));
        }
        assert_eq!("S2".parse(), Ok(InspectionLevel::S2));
        assert_eq!("s-3".parse(), Ok(InspectionLevel::S3));
        assert_eq!("ii".parse(), Ok(InspectionLevel::II));
        for bad in [
            "",
            "IV",
            "S-5",
            "S-0",
            "II ",
            " II",
            "2",
            "general II",
            "S--1",
        ] {
            assert_eq!(
                bad.parse::<InspectionLevel>(),
                Err(AqlError::UnknownInspectionLevel {
                    given: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
        assert_eq!(InspectionLevel::default(), InspectionLevel::II);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn aql_text_round_trips() {
        let written: Vec<String> = Aql::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            written,
            [
                "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5"
            ]
        );
        for aql in Aql::ALL {
            assert_eq!(aql.to_string().parse(), Ok(aql));
        }
        let spellings = [
            ("2.5", Aql::A2_5),
            ("2.50", Aql::A2_5),
            ("02.5", Aql::A2_5),
            ("2.5%", Aql::A2_5),
            ("0.1", Aql::A0_10),
            ("0.10", Aql::A0_10),
            (".1", Aql::A0_10),
            ("4", Aql::A4_0),
            ("4.", Aql::A4_0),
            ("4.0", Aql::A4_0),
            ("4.00", Aql::A4_0),
            ("1", Aql::A1_0),
            ("0.065", Aql::A0_065),
            ("0.0650", Aql::A0_065),
            ("0.4", Aql::A0_40),
            (".65", Aql::A0_65),
            ("6.5", Aql::A6_5),
        ];
        for (text, aql) in spellings {
            assert_eq!(text.parse(), Ok(aql), "{text:?}");
        }
        let too_long = format!("2.5{}", "0".repeat(AQL_TEXT_LEN_MAX));
        for bad in [
            "",
            ".",
            "%",
            "0",
            "3",
            "10",
            "0.07",
            "0.0065",
            "65",
            "-2.5",
            "+2.5",
            "2,5",
            "2.5.0",
            "1e0",
            "abc",
            " 2.5",
            "2.5 ",
            "2.5%%",
            "%2.5",
            "AQL 2.5",
            too_long.as_str(),
        ] {
            assert_eq!(
                bad.parse::<Aql>(),
                Err(AqlError::UnknownAql {
                    given: bad.to_owned()
                }),
                "{bad:?}"
            );
        }
        // At the limit a long spelling is still read.
        let longest = format!("2.{}", "5".to_owned() + &"0".repeat(AQL_TEXT_LEN_MAX - 3));
        assert_eq!(longest.len(), AQL_TEXT_LEN_MAX);
        assert_eq!(longest.parse(), Ok(Aql::A2_5));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn code_letter_text_round_trips() {
        for letter in CodeLetter::ALL {
            assert_eq!(letter.to_string().parse(), Ok(letter));
            assert_eq!(letter.to_string().to_lowercase().parse(), Ok(letter));
        }
        for bad in ["", "I", "O", "S", "AA", "1"] {
            assert_eq!(
                bad.parse::<CodeLetter>(),
                Err(AqlError::UnknownCodeLetter {
                    given: bad.to_owned()
                })
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn serde_uses_the_text_forms() {
        let json = |value: &dyn erased::Json| value.to_json();
        assert_eq!(json(&InspectionLevel::S1), "\"S-1\"");
        assert_eq!(json(&InspectionLevel::III), "\"III\"");
        assert_eq!(json(&Aql::A0_10), "\"0.10\"");
        assert_eq!(json(&Aql::A4_0), "\"4.0\"");
        assert_eq!(json(&CodeLetter::L), "\"L\"");
        assert_eq!(json(&DefectClass::Critical), "\"critical\"");
        assert_eq!(
            json(&plan(5_000, InspectionLevel::II, Aql::A2_5).unwrap()),
            r#"{"code_letter":"L","sample_size":200,"accept":10,"reject":11,"inspect_all":false}"#
        );

        assert_eq!(serde_json::from_str::<Aql>("\"0.1\"").unwrap(), Aql::A0_10);
        assert_eq!(serde_json::from_str::<Aql>("\"4\"").unwrap(), Aql::A4_0);
        assert_eq!(
            serde_json::from_str::<InspectionLevel>("\"S-4\"").unwrap(),
            InspectionLevel::S4
        );
        assert_eq!(
            serde_json::from_str::<DefectClass>("\"minor\"").unwrap(),
            DefectClass::Minor
        );
        let error = serde_json::from_str::<InspectionLevel>("\"IV\"").unwrap_err();
        assert!(error.to_string().contains("expected one of S-1"), "{error}");
        assert!(serde_json::from_str::<Aql>("\"3\"").is_err());
        assert!(
            serde_json::from_str::<Aql>("2.5").is_err(),
            "a number, not a string"
        );
        assert!(serde_json::from_str::<CodeLetter>("\"I\"").is_err());
        assert!(serde_json::from_str::<DefectClass>("\"Major\"").is_err());
    }

    /// Lets one helper serialize values of different types.
    mod erased {
        pub trait Json {
            fn to_json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn to_json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn settings_and_plans_round_trip_through_json() {
        let settings = AqlSettings::default();
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(
            json,
            r#"{"level":"II","critical":"zero_tolerance","major":{"aql":"2.5"},"minor":{"aql":"4.0"},"sample_size_rule":"largest_for_all"}"#
        );
        assert_eq!(
            serde_json::from_str::<AqlSettings>(&json).unwrap(),
            settings
        );
        let other = AqlSettings {
            level: InspectionLevel::S3,
            critical: ClassAql::NotInspected,
            major: ClassAql::Aql(Aql::A0_065),
            minor: ClassAql::ZeroTolerance,
            sample_size_rule: SampleSizeRule::PerClass,
        };
        let json = serde_json::to_string(&other).unwrap();
        assert_eq!(serde_json::from_str::<AqlSettings>(&json).unwrap(), other);

        for lot_size in [2, 40, 5_000, LOT_SIZE_MAX] {
            for settings in [settings, other] {
                let inspection = inspection_plan(lot_size, &settings).unwrap();
                let json = serde_json::to_string(&inspection).unwrap();
                assert_eq!(
                    serde_json::from_str::<InspectionPlan>(&json).unwrap(),
                    inspection
                );
            }
        }
    }

    // ---- inspection plans -------------------------------------------------------------------

    fn class_plan(
        class_aql: ClassAql,
        own_plan: Option<SamplingPlan>,
        plan: Option<SamplingPlan>,
    ) -> ClassPlan {
        ClassPlan {
            class_aql,
            own_plan,
            plan,
        }
    }

    fn settings(
        rule: SampleSizeRule,
        critical: ClassAql,
        major: ClassAql,
        minor: ClassAql,
    ) -> AqlSettings {
        AqlSettings {
            level: InspectionLevel::II,
            critical,
            major,
            minor,
            sample_size_rule: rule,
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn default_settings_are_the_common_buyer_settings() {
        assert_eq!(
            AqlSettings::default(),
            settings(
                SampleSizeRule::LargestForAll,
                ClassAql::ZeroTolerance,
                ClassAql::Aql(Aql::A2_5),
                ClassAql::Aql(Aql::A4_0),
            )
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_lot_5000_default_settings() {
        use CodeLetter::L;
        let zero = class_plan(
            ClassAql::ZeroTolerance,
            Some(sampling_plan(L, 200, 0, 1, false)),
            Some(sampling_plan(L, 200, 0, 1, false)),
        );
        let major = class_plan(
            ClassAql::Aql(Aql::A2_5),
            Some(sampling_plan(L, 200, 10, 11, false)),
            Some(sampling_plan(L, 200, 10, 11, false)),
        );
        let minor = class_plan(
            ClassAql::Aql(Aql::A4_0),
            Some(sampling_plan(L, 200, 14, 15, false)),
            Some(sampling_plan(L, 200, 14, 15, false)),
        );
        let expected = InspectionPlan {
            lot_size: 5_000,
            level: InspectionLevel::II,
            lot_code_letter: L,
            sample_size_rule: SampleSizeRule::LargestForAll,
            sample_size: 200,
            inspect_all: false,
            critical: zero,
            major,
            minor,
        };
        assert_eq!(
            inspection_plan(5_000, &AqlSettings::default()),
            Ok(expected)
        );
        // All classes agree on L: the rule makes no difference.
        let per_class = AqlSettings {
            sample_size_rule: SampleSizeRule::PerClass,
            ..AqlSettings::default()
        };
        assert_eq!(
            inspection_plan(5_000, &per_class),
            Ok(InspectionPlan {
                sample_size_rule: SampleSizeRule::PerClass,
                ..expected
            })
        );
        assert_eq!(expected.class(DefectClass::Critical), &zero);
        assert_eq!(expected.class(DefectClass::Major), &major);
        assert_eq!(expected.class(DefectClass::Minor), &minor);
    }

    /// Lot 40 at level II is code letter D. Zero tolerance stays at D (8 units); major 2.5
    /// meets an up arrow and goes to C (5 units, 0/1); minor 4.0 meets a down arrow and goes to
    /// E (13 units, 1/2).
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_classes_disagree_per_class() {
        use CodeLetter::{C, D, E};
        let critical_own = sampling_plan(D, 8, 0, 1, false);
        let major_own = sampling_plan(C, 5, 0, 1, false);
        let minor_own = sampling_plan(E, 13, 1, 2, false);
        let found = inspection_plan(
            40,
            &settings(
                SampleSizeRule::PerClass,
                ClassAql::ZeroTolerance,
                ClassAql::Aql(Aql::A2_5),
                ClassAql::Aql(Aql::A4_0),
            ),
        )
        .unwrap();
        assert_eq!(found.lot_code_letter, D);
        assert_eq!(found.sample_size, 13, "the largest class sample is drawn");
        assert!(!found.inspect_all);
        assert_eq!(found.critical.own_plan, Some(critical_own));
        assert_eq!(found.critical.plan, Some(critical_own));
        assert_eq!(found.major.own_plan, Some(major_own));
        assert_eq!(found.major.plan, Some(major_own));
        assert_eq!(found.minor.own_plan, Some(minor_own));
        assert_eq!(found.minor.plan, Some(minor_own));
    }

    /// The same lot with one sample for all: 13 units (row E). Critical stays 0/1; minor's
    /// column has 1/2 at E; major's column has a down arrow at E (no 2.5 plan for 13 units), so
    /// major keeps its own 0/1, made for 5 units.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_classes_disagree_largest_for_all() {
        use CodeLetter::{C, D, E};
        let found = inspection_plan(40, &AqlSettings::default()).unwrap();
        assert_eq!(found.lot_code_letter, D);
        assert_eq!(found.sample_size_rule, SampleSizeRule::LargestForAll);
        assert_eq!(found.sample_size, 13);
        assert!(!found.inspect_all);
        assert_eq!(
            found.critical.own_plan,
            Some(sampling_plan(D, 8, 0, 1, false))
        );
        assert_eq!(found.critical.plan, Some(sampling_plan(E, 13, 0, 1, false)));
        assert_eq!(found.major.own_plan, Some(sampling_plan(C, 5, 0, 1, false)));
        assert_eq!(found.major.plan, Some(sampling_plan(E, 13, 0, 1, false)));
        assert_eq!(
            found.minor.own_plan,
            Some(sampling_plan(E, 13, 1, 2, false))
        );
        assert_eq!(found.minor.plan, Some(sampling_plan(E, 13, 1, 2, false)));
    }

    /// Lot 1000 at level II is J. Major 0.65 has a plan at J (80 units, 1/2); minor 0.10 has a
    /// down arrow at J and goes to K (125 units, 0/1). One sample for all draws 125 units, and
    /// major's Ac/Re come from its own column at K: 2/3, not the 1/2 made for 80 units.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_largest_for_all_reads_each_column_at_the_largest_row() {
        use CodeLetter::{J, K};
        let classes = |rule| {
            settings(
                rule,
                ClassAql::ZeroTolerance,
                ClassAql::Aql(Aql::A0_65),
                ClassAql::Aql(Aql::A0_10),
            )
        };
        let largest = inspection_plan(1_000, &classes(SampleSizeRule::LargestForAll)).unwrap();
        assert_eq!(largest.sample_size, 125);
        assert_eq!(
            largest.critical.plan,
            Some(sampling_plan(K, 125, 0, 1, false))
        );
        assert_eq!(
            largest.major.own_plan,
            Some(sampling_plan(J, 80, 1, 2, false))
        );
        assert_eq!(largest.major.plan, Some(sampling_plan(K, 125, 2, 3, false)));
        assert_eq!(largest.minor.plan, Some(sampling_plan(K, 125, 0, 1, false)));

        let per_class = inspection_plan(1_000, &classes(SampleSizeRule::PerClass)).unwrap();
        assert_eq!(per_class.sample_size, 125);
        assert_eq!(
            per_class.critical.plan,
            Some(sampling_plan(J, 80, 0, 1, false))
        );
        assert_eq!(
            per_class.major.plan,
            Some(sampling_plan(J, 80, 1, 2, false))
        );
        assert_eq!(
            per_class.minor.plan,
            Some(sampling_plan(K, 125, 0, 1, false))
        );
    }

    /// Lot 20000 at level II is M. Minor 6.5 has an up arrow at M and goes to L (200, 21/22).
    /// One sample for all draws M's 315 units; minor keeps 21/22 there.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_largest_for_all_keeps_own_plan_under_an_up_arrow() {
        use CodeLetter::{L, M};
        let classes = |rule| {
            settings(
                rule,
                ClassAql::NotInspected,
                ClassAql::Aql(Aql::A2_5),
                ClassAql::Aql(Aql::A6_5),
            )
        };
        let largest = inspection_plan(20_000, &classes(SampleSizeRule::LargestForAll)).unwrap();
        assert_eq!(largest.sample_size, 315);
        assert_eq!(
            largest.critical,
            class_plan(ClassAql::NotInspected, None, None)
        );
        assert_eq!(
            largest.major.plan,
            Some(sampling_plan(M, 315, 14, 15, false))
        );
        assert_eq!(
            largest.minor.own_plan,
            Some(sampling_plan(L, 200, 21, 22, false))
        );
        assert_eq!(
            largest.minor.plan,
            Some(sampling_plan(M, 315, 21, 22, false))
        );

        let per_class = inspection_plan(20_000, &classes(SampleSizeRule::PerClass)).unwrap();
        assert_eq!(per_class.sample_size, 315);
        assert_eq!(
            per_class.minor.plan,
            Some(sampling_plan(L, 200, 21, 22, false))
        );
    }

    /// Lot 4 at level II is A. Major 2.5 goes down to C (5 units), more than the lot: every
    /// unit is inspected, and under one sample for all, for every class.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_inspects_all_of_a_small_lot() {
        use CodeLetter::{A, B, C};
        let found = inspection_plan(4, &AqlSettings::default()).unwrap();
        assert_eq!(found.lot_code_letter, A);
        assert_eq!(found.sample_size, 4);
        assert!(found.inspect_all);
        assert_eq!(
            found.critical.own_plan,
            Some(sampling_plan(A, 2, 0, 1, false))
        );
        assert_eq!(found.critical.plan, Some(sampling_plan(C, 4, 0, 1, true)));
        assert_eq!(found.major.plan, Some(sampling_plan(C, 4, 0, 1, true)));
        assert_eq!(found.minor.own_plan, Some(sampling_plan(B, 3, 0, 1, false)));
        assert_eq!(found.minor.plan, Some(sampling_plan(C, 4, 0, 1, true)));

        let per_class = AqlSettings {
            sample_size_rule: SampleSizeRule::PerClass,
            ..AqlSettings::default()
        };
        let found = inspection_plan(4, &per_class).unwrap();
        assert_eq!(found.sample_size, 4);
        assert!(found.inspect_all);
        assert_eq!(found.critical.plan, Some(sampling_plan(A, 2, 0, 1, false)));
        assert_eq!(found.major.plan, Some(sampling_plan(C, 4, 0, 1, true)));
        assert_eq!(found.minor.plan, Some(sampling_plan(B, 3, 0, 1, false)));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_needs_an_inspected_class() {
        let nothing = settings(
            SampleSizeRule::LargestForAll,
            ClassAql::NotInspected,
            ClassAql::NotInspected,
            ClassAql::NotInspected,
        );
        assert_eq!(
            inspection_plan(5_000, &nothing),
            Err(AqlError::NoDefectClassInspected)
        );
        let only_critical = AqlSettings {
            critical: ClassAql::ZeroTolerance,
            ..nothing
        };
        let found = inspection_plan(5_000, &only_critical).unwrap();
        assert_eq!(found.sample_size, 200);
        assert_eq!(
            found.critical.plan,
            Some(sampling_plan(CodeLetter::L, 200, 0, 1, false))
        );
        assert_eq!(found.major.plan, None);
        assert_eq!(found.minor.plan, None);
    }

    /// Under either rule, at every range boundary and for every level: the common sample is the
    /// largest class sample, no plan samples more than the lot, and one sample for all means
    /// one sample size for every inspected class, with an acceptance number at least that of
    /// the class's own (smaller or equal) sample.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn inspection_plan_invariants() {
        let aqls = [ClassAql::ZeroTolerance, ClassAql::NotInspected]
            .into_iter()
            .chain(Aql::ALL.map(ClassAql::Aql));
        let aqls: Vec<ClassAql> = aqls.collect();
        let lot_sizes: Vec<u64> = TABLE_1
            .iter()
            .flat_map(|(high, _)| [*high, high.saturating_add(1)])
            .filter(|lot_size| check_lot_size(*lot_size).is_ok())
            .collect();
        for &lot_size in &lot_sizes {
            for level in InspectionLevel::ALL {
                for (&major, &minor) in aqls.iter().zip(aqls.iter().rev()) {
                    for rule in [SampleSizeRule::PerClass, SampleSizeRule::LargestForAll] {
                        let settings = AqlSettings {
                            level,
                            critical: ClassAql::ZeroTolerance,
                            major,
                            minor,
                            sample_size_rule: rule,
                        };
                        let found = inspection_plan(lot_size, &settings).unwrap();
                        let plans: Vec<SamplingPlan> = DefectClass::ALL
                            .iter()
                            .filter_map(|class| found.class(*class).plan)
                            .collect();
                        let largest = plans.iter().map(|p| p.sample_size).max().unwrap();
                        assert_eq!(found.sample_size, largest);
                        assert!(found.sample_size <= lot_size);
                        assert_eq!(found.inspect_all, found.sample_size == lot_size);
                        for class in DefectClass::ALL {
                            let class_plan = found.class(class);
                            assert_eq!(class_plan.class_aql, settings.class_aql(class));
                            let (Some(own), Some(applied)) = (class_plan.own_plan, class_plan.plan)
                            else {
                                assert_eq!(class_plan.plan, None);
                                assert_eq!(class_plan.own_plan, None);
                                continue;
                            };
                            assert_eq!(applied.reject, applied.accept + 1);
                            match rule {
                                SampleSizeRule::PerClass => assert_eq!(own, applied),
                                SampleSizeRule::LargestForAll => {
                                    assert_eq!(applied.sample_size, found.sample_size);
                                    assert!(applied.accept >= own.accept);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
